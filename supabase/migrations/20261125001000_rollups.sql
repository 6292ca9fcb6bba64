-- Exact incremental rollups of the event store (docs/aggregation.md).
--
-- Grain: 15-minute UTC buckets. Every UTC offset in use is a whole multiple of 15 minutes (Asia/Kolkata +5:30,
-- Asia/Kathmandu +5:45, Australia/Eucla +8:45, America/St_Johns -3:30, Pacific/Chatham +12:45 ...), and DST
-- moves clocks by 30 or 60 minutes, so every local hour, day, week and month of every zone is a union of whole
-- buckets. One set of rollups therefore answers every organization in its own zone, exactly, and stays right if
-- an organization changes its zone.

-- The 15-minute UTC bucket of a moment.
create or replace function public.analytics_bucket_v1(p_at timestamptz)
returns timestamptz
language sql
immutable
parallel safe
as $$ select date_bin(interval '15 minutes', p_at, timestamptz '2000-01-01 00:00:00+00') $$;

-- The advisory-lock key of an organization's rollups: aggregate holds it shared, rebuild and reconcile exclusive.
create or replace function public.analytics_rollup_lock_key_v1(p_org uuid)
returns bigint
language sql
immutable
as $$ select hashtextextended('analytics_rollups:' || p_org::text, 0) $$;

-- Additive counters per organization, metric, bucket and up to two dimensions (+ currency for money).
-- Every column is a sum, so batches add in any order (INSERT ... ON CONFLICT DO UPDATE, as in Citus rollups).
create table public.analytics_rollups (
  organization_id uuid not null,
  metric          text not null,
  bucket          timestamptz not null check (bucket = public.analytics_bucket_v1(bucket)),
  dim1            text not null default '',
  dim2            text not null default '',
  currency        text not null default '',
  events          bigint not null default 0,
  amount_minor    bigint not null default 0,
  value_sum       bigint not null default 0,
  value_count     bigint not null default 0,
  primary key (organization_id, metric, bucket, dim1, dim2, currency)
);

alter table public.analytics_rollups enable row level security;
create policy analytics_rollups_own on public.analytics_rollups
  for select to authenticated using (organization_id = public.analytics_request_org());

-- The set of clients active per bucket: exact unique counts over any window in any zone (count distinct).
create table public.analytics_active_clients (
  organization_id uuid not null,
  bucket          timestamptz not null check (bucket = public.analytics_bucket_v1(bucket)),
  client_id       text not null,
  primary key (organization_id, bucket, client_id)
);

alter table public.analytics_active_clients enable row level security;
create policy analytics_active_clients_own on public.analytics_active_clients
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Every event as the rollup facts it contributes. The single definition both aggregate and recovery use.
-- value is a per-fact measure (rating, nps score, duration in ms, lead time in days) summed with its count.
create view public.analytics_event_facts with (security_invoker = true) as
select e.id, e.organization_id, e.occurred_at, public.analytics_bucket_v1(e.occurred_at) as bucket,
       f.metric, coalesce(f.dim1, '') as dim1, coalesce(f.dim2, '') as dim2, coalesce(f.currency, '') as currency,
       coalesce(f.amount_minor, 0)::bigint as amount_minor, f.value::bigint as value
from public.analytics_events e
join public.organizations o on o.id = e.organization_id
cross join lateral (
  select e.event_type as metric,
         case
           when e.event_type in ('client.created', 'inquiry.received') then e.properties ->> 'lead_source'
           when e.event_type = 'booking.confirmed' then e.properties ->> 'package'
           when e.event_type in ('payment.succeeded', 'payment.failed') then e.properties ->> 'kind'
           when e.event_type in ('form.started', 'form.submitted') then e.properties ->> 'form_id'
           when e.event_type like 'email.%' or e.event_type like 'notification.%' then e.properties ->> 'template'
           when e.event_type like 'journey.%' then e.properties ->> 'journey_id'
           when e.event_type = 'app.action' then e.properties ->> 'action'
         end as dim1,
         case
           when e.event_type = 'inquiry.received' then e.properties ->> 'channel'
           when e.event_type in ('booking.confirmed', 'form.submitted') then e.properties ->> 'lead_source'
           when e.event_type = 'payment.succeeded' then e.properties ->> 'method'
           when e.event_type = 'payment.failed' then e.properties ->> 'failure_code'
           when e.event_type like 'email.%' then e.properties ->> 'campaign'
           when e.event_type like 'notification.%' then e.properties ->> 'channel'
           when e.event_type = 'journey.step_completed' then e.properties ->> 'step_id'
           when e.event_type = 'app.action' then e.properties ->> 'user_id'
         end as dim2,
         case when e.event_type in ('booking.confirmed', 'payment.succeeded', 'payment.failed', 'payment.refunded')
              then e.currency::text end as currency,
         case when e.event_type in ('booking.confirmed', 'payment.succeeded', 'payment.failed', 'payment.refunded')
              then e.amount_minor end as amount_minor,
         -- The catalog bounds durations below only; one absurd value must not make the batch (or a rebuild)
         -- fail, so durations beyond 10^15 ms (31,000 years) are ignored.
         case when e.event_type in ('journey.completed', 'journey.abandoned')
                   and e.properties ->> 'duration_ms' ~ '^[0-9]{1,15}$'
              then (e.properties ->> 'duration_ms')::bigint end as value
  where e.event_type <> 'review.received'
  union all
  -- Seasonality and booking-to-wedding lead time: the wedding month, and whole days from the booking's local
  -- date to the wedding.
  select 'booking.wedding_month', to_char((e.properties ->> 'wedding_date')::date, 'YYYY-MM'),
         e.properties ->> 'lead_source', e.currency::text, e.amount_minor,
         (e.properties ->> 'wedding_date')::date - (e.occurred_at at time zone o.timezone)::date
  where e.event_type = 'booking.confirmed'
  union all
  select 'review.rating', e.properties ->> 'platform', null, null, null, (e.properties ->> 'rating')::bigint
  where e.event_type = 'review.received' and e.properties ? 'rating'
  union all
  select 'review.nps', e.properties ->> 'platform',
         case when (e.properties ->> 'nps')::int >= 9 then 'promoter'
              when (e.properties ->> 'nps')::int >= 7 then 'passive' else 'detractor' end,
         null, null, (e.properties ->> 'nps')::bigint
  where e.event_type = 'review.received' and e.properties ? 'nps'
) f;

revoke all on public.analytics_event_facts from anon, authenticated;

-- Input changes of the materialized views not yet refreshed: aggregate appends a row per organization and batch
-- (an insert never waits on the refresher), the refresher deletes what its snapshot sees before refreshing.
create table public.analytics_view_changes (
  id              bigint generated always as identity primary key,
  organization_id uuid not null,
  changed_at      timestamptz not null default clock_timestamp()
);

create index analytics_view_changes_org_idx on public.analytics_view_changes (organization_id, changed_at);

alter table public.analytics_view_changes enable row level security;
create policy analytics_view_changes_own on public.analytics_view_changes
  for select to authenticated using (organization_id = public.analytics_request_org());

-- The refresh log: per organization and materialized view, when it was last refreshed and how long that took.
create table public.analytics_view_refreshes (
  organization_id uuid not null,
  view_name       text not null,
  refreshed_at    timestamptz not null,
  refresh_ms      integer not null,
  primary key (organization_id, view_name)
);

alter table public.analytics_view_refreshes enable row level security;
create policy analytics_view_refreshes_own on public.analytics_view_refreshes
  for select to authenticated using (organization_id = public.analytics_request_org());

-- The views whose inputs are these event types (the funnel family), in refresh (dependency) order.
create or replace function public.analytics_funnel_inputs_v1()
returns text[]
language sql
immutable
as $$ select array['inquiry.received', 'booking.confirmed', 'booking.cancelled', 'payment.succeeded'] $$;

create or replace function public.analytics_materialized_views_v1()
returns text[]
language sql
immutable
as $$ select array['analytics_booking_facts_mv', 'analytics_client_funnel_mv', 'analytics_cohorts_mv',
                   'analytics_lead_times_mv'] $$;

-- How stale each view is for each organization: pending while changes wait, stale since the oldest of them.
create view public.analytics_view_freshness with (security_invoker = true) as
select k.organization_id, k.view_name, c.oldest is not null as pending, c.oldest as changed_at,
       r.refreshed_at, r.refresh_ms,
       coalesce(extract(epoch from now() - c.oldest), 0)::double precision as stale_seconds
from (
  select organization_id, view_name from public.analytics_view_refreshes
  union
  select distinct x.organization_id, v.view_name
  from public.analytics_view_changes x cross join unnest(public.analytics_materialized_views_v1()) v (view_name)
) k
left join public.analytics_view_refreshes r using (organization_id, view_name)
left join lateral (
  select min(x.changed_at) as oldest from public.analytics_view_changes x where x.organization_id = k.organization_id
) c on true;

-- Publishes a small change notice: Supabase Realtime broadcast where it exists, pg_notify otherwise.
-- Both are transactional: subscribers hear of a change only once it is committed.
create or replace function public.analytics_publish_change_v1(p_org uuid, p_payload jsonb)
returns void
language plpgsql
as $$
begin
  if to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null then
    execute 'select realtime.send($1, $2, $3, true)'
      using p_payload, 'analytics_changes', 'analytics:' || p_org::text;
  else
    perform pg_notify('analytics_changes', p_payload::text);
  end if;
end
$$;

-- Marks what a batch changed for some organizations: views to refresh, data_version bumped, notice published.
-- Rows are touched in organization order so concurrent writers never deadlock.
create or replace function public.analytics_note_changes_v1(
  p_orgs uuid[], p_funnel_orgs uuid[], p_kind text, p_from timestamptz, p_to timestamptz, p_counts jsonb)
returns table (organization_id uuid, data_version bigint)
language plpgsql
as $$
#variable_conflict use_column
declare
  v_org uuid;
  v_version bigint;
begin
  insert into public.analytics_view_changes (organization_id) select o from unnest(p_funnel_orgs) o;

  for v_org in select distinct o from unnest(p_orgs) o order by o loop
    update public.organizations set data_version = organizations.data_version + 1 where id = v_org
    returning organizations.data_version into v_version;
    perform public.analytics_publish_change_v1(v_org, jsonb_build_object(
      'organization_id', v_org, 'data_version', v_version, 'kind', p_kind,
      'from', p_from, 'to', p_to, 'events', coalesce((p_counts ->> v_org::text)::bigint, 0),
      'views_pending', v_org = any(p_funnel_orgs)));
    organization_id := v_org;
    data_version := v_version;
    return next;
  end loop;
end
$$;

-- Adds stored events (by id, all between p_from and p_to) to the rollups. The caller deletes the queue messages
-- in the same transaction, so each event is counted exactly once. Shared advisory locks (in organization order)
-- let aggregate workers run side by side while keeping rebuild and reconcile out; upserts go in key order.
create or replace function public.analytics_aggregate_events_v1(p_ids bigint[], p_from timestamptz, p_to timestamptz)
returns table (organization_id uuid, events bigint, data_version bigint, views_pending boolean)
language plpgsql
as $$
#variable_conflict use_column
declare
  v_orgs uuid[];
  v_funnel uuid[];
  v_counts jsonb;
  v_org uuid;
begin
  select array_agg(s.org order by s.org), array_agg(s.org order by s.org) filter (where s.funnel),
         jsonb_object_agg(s.org, s.n)
    into v_orgs, v_funnel, v_counts
  from (
    select e.organization_id as org, count(*) as n,
           bool_or(e.event_type = any(public.analytics_funnel_inputs_v1())) as funnel
    from public.analytics_events e
    where e.id = any(p_ids) and e.occurred_at between p_from and p_to
    group by 1
  ) s;
  if v_orgs is null then
    return;
  end if;
  foreach v_org in array v_orgs loop
    perform pg_advisory_xact_lock_shared(public.analytics_rollup_lock_key_v1(v_org));
  end loop;

  insert into public.analytics_rollups as r
    (organization_id, metric, bucket, dim1, dim2, currency, events, amount_minor, value_sum, value_count)
  select f.organization_id, f.metric, f.bucket, f.dim1, f.dim2, f.currency,
         count(*), sum(f.amount_minor), coalesce(sum(f.value), 0), count(f.value)
  from public.analytics_event_facts f
  where f.id = any(p_ids) and f.occurred_at between p_from and p_to
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
  on conflict on constraint analytics_rollups_pkey do update
  set events = r.events + excluded.events,
      amount_minor = r.amount_minor + excluded.amount_minor,
      value_sum = r.value_sum + excluded.value_sum,
      value_count = r.value_count + excluded.value_count;

  insert into public.analytics_active_clients (organization_id, bucket, client_id)
  select distinct e.organization_id, public.analytics_bucket_v1(e.occurred_at), e.client_id
  from public.analytics_events e
  where e.id = any(p_ids) and e.occurred_at between p_from and p_to and e.client_id is not null
  order by 1, 2, 3
  on conflict do nothing;

  return query
  select c.organization_id, coalesce((v_counts ->> c.organization_id::text)::bigint, 0), c.data_version,
         c.organization_id = any(coalesce(v_funnel, '{}'))
  from public.analytics_note_changes_v1(v_orgs, coalesce(v_funnel, '{}'), 'aggregate',
       public.analytics_bucket_v1(p_from), public.analytics_bucket_v1(p_to) + interval '15 minutes', v_counts) c;
end
$$;

-- The ids of an organization's events that are stored but still waiting on the aggregate queue: recovery leaves
-- them out, because aggregate will add them.
create or replace function public.analytics_pending_event_ids_v1(p_org uuid, p_queue text default 'aggregate')
returns table (id bigint)
language plpgsql
stable
as $$
#variable_conflict use_column
begin
  return query execute format(
    'select distinct (jsonb_array_elements_text(message -> ''ids''))::bigint from pgmq.%I '
    'where message ->> ''organization_id'' = $1', 'q_' || p_queue)
  using p_org::text;
end
$$;

-- What the rollups of [p_from, p_to) should be, recomputed from the raw events that aggregate has processed.
create or replace function public.analytics_expected_rollups_v1(
  p_org uuid, p_from timestamptz, p_to timestamptz, p_queue text default 'aggregate')
returns table (metric text, bucket timestamptz, dim1 text, dim2 text, currency text, events bigint,
               amount_minor bigint, value_sum bigint, value_count bigint)
language sql
stable
as $$
  select f.metric, f.bucket, f.dim1, f.dim2, f.currency, count(*), sum(f.amount_minor),
         coalesce(sum(f.value), 0), count(f.value)
  from public.analytics_event_facts f
  where f.organization_id = p_org and f.occurred_at >= p_from and f.occurred_at < p_to
    and f.id not in (select p.id from public.analytics_pending_event_ids_v1(p_org, p_queue) p)
  group by 1, 2, 3, 4, 5
$$;

-- Recomputes [p_from, p_to) (widened to whole 15-minute buckets) from the raw events and returns every rollup row
-- and active-client entry that differs. Empty result: the rollups are exact. Takes the organization's rollup
-- lock so no aggregate batch is half-visible while it compares.
create or replace function public.analytics_reconcile_v1(
  p_org uuid, p_from timestamptz, p_to timestamptz, p_queue text default 'aggregate')
returns table (kind text, metric text, bucket timestamptz, dim1 text, dim2 text, currency text,
               expected_events bigint, actual_events bigint, expected_amount_minor bigint,
               actual_amount_minor bigint, expected_value_sum bigint, actual_value_sum bigint,
               expected_value_count bigint, actual_value_count bigint)
language plpgsql
as $$
#variable_conflict use_column
declare
  v_from timestamptz := public.analytics_bucket_v1(p_from);
  v_to timestamptz := public.analytics_bucket_v1(p_to - interval '1 microsecond') + interval '15 minutes';
begin
  perform pg_advisory_xact_lock(public.analytics_rollup_lock_key_v1(p_org));
  return query
  with expected as (
    select * from public.analytics_expected_rollups_v1(p_org, v_from, v_to, p_queue)
  ), actual as (
    select r.metric, r.bucket, r.dim1, r.dim2, r.currency, r.events, r.amount_minor, r.value_sum, r.value_count
    from public.analytics_rollups r
    where r.organization_id = p_org and r.bucket >= v_from and r.bucket < v_to
  )
  select 'rollup'::text, coalesce(x.metric, a.metric), coalesce(x.bucket, a.bucket), coalesce(x.dim1, a.dim1),
         coalesce(x.dim2, a.dim2), coalesce(x.currency, a.currency),
         coalesce(x.events, 0), coalesce(a.events, 0), coalesce(x.amount_minor, 0), coalesce(a.amount_minor, 0),
         coalesce(x.value_sum, 0), coalesce(a.value_sum, 0), coalesce(x.value_count, 0), coalesce(a.value_count, 0)
  from expected x
  full join actual a using (metric, bucket, dim1, dim2, currency)
  where (coalesce(x.events, 0), coalesce(x.amount_minor, 0), coalesce(x.value_sum, 0), coalesce(x.value_count, 0))
     is distinct from
        (coalesce(a.events, 0), coalesce(a.amount_minor, 0), coalesce(a.value_sum, 0), coalesce(a.value_count, 0))
  union all
  select 'active_client'::text, null::text, coalesce(x.bucket, a.bucket), coalesce(x.client_id, a.client_id),
         ''::text, ''::text, (x.client_id is not null)::int::bigint, (a.client_id is not null)::int::bigint,
         0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint
  from (
    select distinct public.analytics_bucket_v1(e.occurred_at) as bucket, e.client_id
    from public.analytics_events e
    where e.organization_id = p_org and e.occurred_at >= v_from and e.occurred_at < v_to
      and e.client_id is not null
      and e.id not in (select p.id from public.analytics_pending_event_ids_v1(p_org, p_queue) p)
  ) x
  full join (
    select c.bucket, c.client_id from public.analytics_active_clients c
    where c.organization_id = p_org and c.bucket >= v_from and c.bucket < v_to
  ) a using (bucket, client_id)
  where x.client_id is null or a.client_id is null;
end
$$;

-- Rebuilds [p_from, p_to) (widened to whole buckets) from the raw events, under the organization's exclusive
-- rollup lock, so it is safe while ingest runs: events still queued for aggregate are left to aggregate.
create or replace function public.analytics_rebuild_v1(
  p_org uuid, p_from timestamptz, p_to timestamptz, p_queue text default 'aggregate')
returns table (rows_deleted bigint, rows_written bigint, clients_written bigint, data_version bigint)
language plpgsql
as $$
#variable_conflict use_column
declare
  v_from timestamptz := public.analytics_bucket_v1(p_from);
  v_to timestamptz := public.analytics_bucket_v1(p_to - interval '1 microsecond') + interval '15 minutes';
  v_deleted bigint;
  v_written bigint;
  v_clients bigint;
  v_version bigint;
begin
  perform pg_advisory_xact_lock(public.analytics_rollup_lock_key_v1(p_org));
  delete from public.analytics_rollups r where r.organization_id = p_org and r.bucket >= v_from and r.bucket < v_to;
  get diagnostics v_deleted = row_count;
  delete from public.analytics_active_clients c
  where c.organization_id = p_org and c.bucket >= v_from and c.bucket < v_to;
  insert into public.analytics_rollups
    (organization_id, metric, bucket, dim1, dim2, currency, events, amount_minor, value_sum, value_count)
  select p_org, x.metric, x.bucket, x.dim1, x.dim2, x.currency, x.events, x.amount_minor, x.value_sum, x.value_count
  from public.analytics_expected_rollups_v1(p_org, v_from, v_to, p_queue) x
  order by 2, 3, 4, 5, 6;
  get diagnostics v_written = row_count;
  insert into public.analytics_active_clients (organization_id, bucket, client_id)
  select distinct p_org, public.analytics_bucket_v1(e.occurred_at), e.client_id
  from public.analytics_events e
  where e.organization_id = p_org and e.occurred_at >= v_from and e.occurred_at < v_to
    and e.client_id is not null
    and e.id not in (select p.id from public.analytics_pending_event_ids_v1(p_org, p_queue) p)
  order by 1, 2, 3;
  get diagnostics v_clients = row_count;
  select c.data_version into v_version
  from public.analytics_note_changes_v1(array[p_org], array[p_org], 'rebuild', v_from, v_to, '{}'::jsonb) c;
  rows_deleted := v_deleted;
  rows_written := v_written;
  clients_written := v_clients;
  data_version := v_version;
  return next;
end
$$;

-- ----- materialized views: what is not a simple sum ---------------------------------------------------------

-- One row per booking: its latest confirmation, cancellation, first deposit and balance payments, and the first
-- inquiry of its client. The basis of net bookings, funnel and lead times.
create materialized view public.analytics_booking_facts_mv as
select distinct on (b.organization_id, b.booking_id)
       b.organization_id, b.booking_id, b.client_id, b.occurred_at as booked_at,
       (b.occurred_at at time zone o.timezone)::date as booked_local_date,
       b.amount_minor as value_minor, b.currency::text as currency,
       b.properties ->> 'package' as package, b.properties ->> 'lead_source' as lead_source,
       (b.properties ->> 'wedding_date')::date as wedding_date,
       (select min(x.occurred_at) from public.analytics_events x
         where x.organization_id = b.organization_id and x.booking_id = b.booking_id
           and x.event_type = 'booking.cancelled') as cancelled_at,
       (select min(x.occurred_at) from public.analytics_events x
         where x.organization_id = b.organization_id and x.booking_id = b.booking_id
           and x.event_type = 'payment.succeeded' and x.properties ->> 'kind' = 'deposit') as deposit_paid_at,
       (select min(x.occurred_at) from public.analytics_events x
         where x.organization_id = b.organization_id and x.booking_id = b.booking_id
           and x.event_type = 'payment.succeeded' and x.properties ->> 'kind' = 'balance') as balance_paid_at
from public.analytics_events b
join public.organizations o on o.id = b.organization_id
where b.event_type = 'booking.confirmed'
order by b.organization_id, b.booking_id, b.occurred_at desc, b.id desc;

create unique index analytics_booking_facts_mv_key on public.analytics_booking_facts_mv (organization_id, booking_id);
create index analytics_booking_facts_mv_booked on public.analytics_booking_facts_mv (organization_id, booked_at);

-- One row per client who sent an inquiry: the first inquiry and how far the client has come since.
create materialized view public.analytics_client_funnel_mv as
select i.organization_id, i.client_id, i.first_inquiry_at,
       (i.first_inquiry_at at time zone o.timezone)::date as inquiry_local_date,
       i.lead_source, i.channel,
       b.first_booked_at, b.first_deposit_at, b.first_balance_at
from (
  select distinct on (e.organization_id, e.client_id)
         e.organization_id, e.client_id, e.occurred_at as first_inquiry_at,
         e.properties ->> 'lead_source' as lead_source, e.properties ->> 'channel' as channel
  from public.analytics_events e
  where e.event_type = 'inquiry.received' and e.client_id is not null
  order by e.organization_id, e.client_id, e.occurred_at, e.id
) i
join public.organizations o on o.id = i.organization_id
left join (
  select f.organization_id, f.client_id, min(f.booked_at) as first_booked_at,
         min(f.deposit_paid_at) as first_deposit_at, min(f.balance_paid_at) as first_balance_at
  from public.analytics_booking_facts_mv f
  where f.client_id is not null
  group by 1, 2
) b on b.organization_id = i.organization_id and b.client_id = i.client_id;

create unique index analytics_client_funnel_mv_key on public.analytics_client_funnel_mv (organization_id, client_id);
create index analytics_client_funnel_mv_inquiry on public.analytics_client_funnel_mv (organization_id, first_inquiry_at);

-- Monthly inquiry cohorts (month of the first inquiry, in the organization's zone) and how many reached each stage.
create materialized view public.analytics_cohorts_mv as
select organization_id, date_trunc('month', inquiry_local_date)::date as cohort_month,
       count(*) as inquiries, count(first_booked_at) as booked,
       count(first_deposit_at) as deposit_paid, count(first_balance_at) as balance_paid
from public.analytics_client_funnel_mv
group by 1, 2;

create unique index analytics_cohorts_mv_key on public.analytics_cohorts_mv (organization_id, cohort_month);

-- Lead-time distributions in whole days, per month (organization's zone) of the later event:
--   inquiry_to_booking: first inquiry to first booking of a client (clients who booked on or after inquiring);
--   booking_to_wedding: booking's local date to the wedding date (bookings not cancelled).
create materialized view public.analytics_lead_times_mv as
select organization_id, measure, month, days, count(*) as n
from (
  select organization_id, 'inquiry_to_booking'::text as measure,
         date_trunc('month', (first_booked_at at time zone o.timezone))::date as month,
         floor(extract(epoch from first_booked_at - first_inquiry_at) / 86400)::integer as days
  from public.analytics_client_funnel_mv f
  join public.organizations o on o.id = f.organization_id
  where first_booked_at is not null and first_booked_at >= first_inquiry_at
  union all
  select organization_id, 'booking_to_wedding', date_trunc('month', booked_local_date)::date,
         wedding_date - booked_local_date
  from public.analytics_booking_facts_mv
  where cancelled_at is null
) t
group by 1, 2, 3, 4;

create unique index analytics_lead_times_mv_key on public.analytics_lead_times_mv (organization_id, measure, month, days);

-- Materialized views cannot have row-level security: only the service role reads them directly; signed-in users
-- read the organization-filtered views below.
revoke all on public.analytics_booking_facts_mv, public.analytics_client_funnel_mv, public.analytics_cohorts_mv,
  public.analytics_lead_times_mv from anon, authenticated;

create view public.analytics_booking_facts with (security_barrier = true) as
select * from public.analytics_booking_facts_mv where organization_id = public.analytics_request_org();
create view public.analytics_client_funnel with (security_barrier = true) as
select * from public.analytics_client_funnel_mv where organization_id = public.analytics_request_org();
create view public.analytics_cohorts with (security_barrier = true) as
select * from public.analytics_cohorts_mv where organization_id = public.analytics_request_org();
create view public.analytics_lead_times with (security_barrier = true) as
select * from public.analytics_lead_times_mv where organization_id = public.analytics_request_org();

revoke all on public.analytics_view_freshness from anon;
grant select on public.analytics_rollups, public.analytics_active_clients, public.analytics_view_refreshes,
  public.analytics_view_changes,
  public.analytics_view_freshness, public.analytics_booking_facts, public.analytics_client_funnel,
  public.analytics_cohorts, public.analytics_lead_times to authenticated;

-- The debounced refresh queue: aggregate drops one delayed message when views became pending.
select pgmq.create('refresh');

-- PostgREST exposes public functions as RPC and PostgreSQL grants EXECUTE to PUBLIC by default: the pipeline's
-- functions are for the service role only (no signed-in user may publish notices, aggregate or rebuild).
revoke execute on function
  public.analytics_publish_change_v1(uuid, jsonb),
  public.analytics_note_changes_v1(uuid[], uuid[], text, timestamptz, timestamptz, jsonb),
  public.analytics_aggregate_events_v1(bigint[], timestamptz, timestamptz),
  public.analytics_pending_event_ids_v1(uuid, text),
  public.analytics_expected_rollups_v1(uuid, timestamptz, timestamptz, text),
  public.analytics_reconcile_v1(uuid, timestamptz, timestamptz, text),
  public.analytics_rebuild_v1(uuid, timestamptz, timestamptz, text)
from public, anon, authenticated;
grant execute on function
  public.analytics_publish_change_v1(uuid, jsonb),
  public.analytics_note_changes_v1(uuid[], uuid[], text, timestamptz, timestamptz, jsonb),
  public.analytics_aggregate_events_v1(bigint[], timestamptz, timestamptz),
  public.analytics_pending_event_ids_v1(uuid, text),
  public.analytics_expected_rollups_v1(uuid, timestamptz, timestamptz, text),
  public.analytics_reconcile_v1(uuid, timestamptz, timestamptz, text),
  public.analytics_rebuild_v1(uuid, timestamptz, timestamptz, text)
to service_role;
