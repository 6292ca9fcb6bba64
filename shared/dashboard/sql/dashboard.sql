-- Named queries of the dashboard API (shared/dashboard/). They run as role `authenticated` with the caller's
-- claims set, so row-level security applies on top of every organization filter written here.

-- name: dashboard_state
-- The caller's organization (found by row-level security alone), its data version, zone, currency, last refresh,
-- and what the metric layer needs of it (home currency, first day of the week: as `organization_zone` reads them).
select o.id, o.data_version, o.timezone, o.currency, coalesce(o.home_currency, o.currency) as home_currency,
       o.settings #>> '{reports,week_start}' as week_start,
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
-- through the primary key, so it stays an index probe per metric however many rows there are). The newest event
-- is an ORDER BY ... LIMIT 1, not max(): the same index probe per partition, but max() over a partitioned table
-- is planned twice (as an aggregate and as the probe), which cost more than the probe itself.
select (select e.occurred_at from public.analytics_events e
        where e.organization_id = %(organization_id)s and e.occurred_at is not null
        order by e.occurred_at desc
        limit 1)
         as newest_event_at,
       (select max(b) from unnest(%(metrics)s::text[]) m (metric)
          cross join lateral (select max(bucket) as b from public.analytics_rollups r
                              where r.organization_id = %(organization_id)s and r.metric = m.metric) x)
         as newest_bucket;

-- name: share_link_create
-- Stores a new share link (owner-side); its token is signed from the returned id and expiry, never stored.
insert into public.analytics_share_links (organization_id, label, panels, expires_at, created_by)
values (%(organization_id)s, %(label)s, %(panels)s, %(expires_at)s, %(created_by)s)
returning id, organization_id, label, panels, created_at, expires_at, revoked_at, created_by;

-- name: share_link_list
-- The share links of one organization, newest first, revoked and expired ones included.
select id, organization_id, label, panels, created_at, expires_at, revoked_at, created_by
from public.analytics_share_links where organization_id = %(organization_id)s
order by created_at desc, id;

-- name: share_link_find
-- One share link by id (owner-side: the dashboard reads it before it switches to the viewer's role).
select id, organization_id, label, panels, created_at, expires_at, revoked_at, created_by
from public.analytics_share_links where id = %(id)s;

-- name: share_link_revoke
-- Revokes a live share link, within one organization when one is given; returns it if it was live.
update public.analytics_share_links set revoked_at = now()
where id = %(id)s and revoked_at is null
  and (%(organization_id)s::uuid is null or organization_id = %(organization_id)s::uuid)
returning id, organization_id, label, panels, created_at, expires_at, revoked_at, created_by;
