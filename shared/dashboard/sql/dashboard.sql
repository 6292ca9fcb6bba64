-- Named queries of the dashboard API (shared/dashboard/). They run as role `authenticated` with the caller's
-- claims set, so row-level security applies on top of every organization filter written here.

-- name: dashboard_state
-- The caller's organization (found by row-level security alone), its data version, zone, currency, last refresh.
select o.id, o.data_version, o.timezone, o.currency,
       (select max(r.refreshed_at) from public.analytics_view_refreshes r where r.organization_id = o.id) as refreshed_at
from public.organizations o
where o.id = public.analytics_request_org();

-- name: dashboard_live_version
-- The caller's organization's data version (found by row-level security alone): what the live feed follows.
select o.data_version from public.organizations o where o.id = public.analytics_request_org();

-- name: dashboard_source_stats
-- Intake counters per source and period (hourly UTC buckets; days, weeks, months in the organization's zone).
select case when %(interval)s = 'hour' then bucket
            else date_trunc(%(interval)s, bucket at time zone %(tz)s) at time zone %(tz)s end as start,
       source, sum(received)::bigint as received, sum(stored)::bigint as stored,
       sum(duplicates)::bigint as duplicates, sum(rejected)::bigint as rejected, sum(ignored)::bigint as ignored,
       sum(refused)::bigint as refused
from public.analytics_source_stats
where organization_id = %(organization_id)s and bucket >= date_trunc('hour', %(start)s::timestamptz)
  and bucket < %(end)s
group by 1, 2
order by 1, 2;

-- name: dashboard_rejection_reasons
-- The most frequent rejection reasons (stage, kind, field) among dead letters last seen in the window.
select d.stage, r ->> 'type' as kind, coalesce((select string_agg(x, '.') from jsonb_array_elements_text(r -> 'loc') x), '') as loc,
       min(r ->> 'msg') as example, sum(d.attempts)::bigint as occurrences, count(distinct d.id)::bigint as payloads
from public.analytics_dead_letters d cross join lateral jsonb_array_elements(d.reasons) r
where d.organization_id = %(organization_id)s and d.last_seen_at >= %(start)s and d.last_seen_at < %(end)s
group by 1, 2, 3
order by occurrences desc, payloads desc, 1, 2, 3
limit %(limit)s;

-- name: dashboard_dead_letters_waiting
-- Dead letters still waiting for a replay or a decision, and the oldest of them.
select count(*)::bigint as dead_letters_waiting, min(first_seen_at) as oldest_dead_letter_at
from public.analytics_dead_letters
where organization_id = %(organization_id)s and replay_state = 'pending';

-- name: dashboard_newest_event
-- The newest occurred_at among the organization's stored events and the newest rollup bucket (per metric
-- through the primary key, so it stays an index probe per metric however many rows there are).
select (select max(occurred_at) from public.analytics_events where organization_id = %(organization_id)s)
         as newest_event_at,
       (select max(b) from unnest(%(metrics)s::text[]) m (metric)
          cross join lateral (select max(bucket) as b from public.analytics_rollups r
                              where r.organization_id = %(organization_id)s and r.metric = m.metric) x)
         as newest_bucket;
