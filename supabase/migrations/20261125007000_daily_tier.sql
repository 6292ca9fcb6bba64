-- The daily tier of the rollups (docs/aggregation.md, "Two tiers").
--
-- The 15-minute UTC rollups are exact for any window in any zone, but a year of a busy organization is millions
-- of bucket rows, and exact distinct-client counts over the 15-minute client sets grow with every event. This
-- tier keeps the same facts per *local day of the organization's current zone* (every 15-minute bucket lies in
-- one local day, because every zone offset is a multiple of 15 minutes), so a window of whole local days reads
-- about one row per metric, dimension and day, and distinct clients come from a small exact table:
--
--   analytics_rollups_daily       the rollup sums per local day (same columns as analytics_rollups);
--   analytics_client_days         the set of (client, local day) with any event: who was active when;
--   analytics_client_day_firsts   per local day d and earlier day p: how many clients active on d were last
--                                 active before d on p ('-infinity': never before).
--
-- Distinct clients active in local days [d1, d2) = the clients counted on their first active day inside the
-- window = sum(clients) over rows with d1 <= day < d2 and prev_day < d1. Exact, one index range, no DISTINCT.
--
-- Writers: aggregate adds to both tiers in the batch's transaction; rebuild re-derives the local days its window
-- touches from the 15-minute tier; a change of an organization's zone re-derives its whole daily tier.
-- analytics_reconcile_v1 also compares the daily tier with the 15-minute tier it is derived from.

create table public.analytics_rollups_daily (
  organization_id uuid not null,
  metric          text not null,
  day             date not null,
  dim1            text not null default '',
  dim2            text not null default '',
  currency        text not null default '',
  events          bigint not null default 0,
  amount_minor    bigint not null default 0,
  value_sum       bigint not null default 0,
  value_count     bigint not null default 0,
  primary key (organization_id, metric, day, dim1, dim2, currency)
);

alter table public.analytics_rollups_daily enable row level security;
create policy analytics_rollups_daily_own on public.analytics_rollups_daily
  for select to authenticated using (organization_id = (select public.analytics_request_org()));

create table public.analytics_client_days (
  organization_id uuid not null,
  client_id       text not null,
  day             date not null,
  primary key (organization_id, client_id, day)
);

create index analytics_client_days_by_day on public.analytics_client_days (organization_id, day) include (client_id);

alter table public.analytics_client_days enable row level security;
create policy analytics_client_days_own on public.analytics_client_days
  for select to authenticated using (organization_id = (select public.analytics_request_org()));

create table public.analytics_client_day_firsts (
  organization_id uuid not null,
  day             date not null,
  prev_day        date not null,
  clients         bigint not null,
  primary key (organization_id, day, prev_day)
);

alter table public.analytics_client_day_firsts enable row level security;
create policy analytics_client_day_firsts_own on public.analytics_client_day_firsts
  for select to authenticated using (organization_id = (select public.analytics_request_org()));

grant select on public.analytics_rollups_daily, public.analytics_client_days, public.analytics_client_day_firsts
  to authenticated;

-- The lock that serialises changes to one organization's client days (their neighbours matter, so two writers
-- must not interleave). Taken after the rollup lock, in organization order.
create or replace function public.analytics_client_days_lock_key_v1(p_org uuid)
returns bigint
language sql
immutable
as $$ select hashtextextended('analytics_client_days:' || p_org::text, 0) $$;

-- Adds (client, day) entries of one organization (aggregate's path) and keeps analytics_client_day_firsts exact.
-- Entries already present are ignored. Only the new days and, per client, the first existing day after each of
-- them change their "previous active day", so the work is proportional to the batch, not to the history. The
-- caller holds analytics_client_days_lock_key_v1(p_org).
create or replace function public.analytics_client_days_add_v1(p_org uuid, p_clients text[], p_days date[])
returns bigint
language plpgsql
as $$
declare
  k_c text[];
  k_d date[];
  a_c text[];
  a_d date[];
  a_p date[];
begin
  select array_agg(s.c order by s.c, s.d), array_agg(s.d order by s.c, s.d) into k_c, k_d
  from (
    select distinct u.c, u.d from unnest(p_clients, p_days) u (c, d)
    where u.c is not null and u.d is not null
      and not exists (select 1 from public.analytics_client_days x
                      where x.organization_id = p_org and x.client_id = u.c and x.day = u.d)
  ) s;
  if k_c is null then
    return 0;
  end if;
  -- Before: each new day's next existing day (its previous active day changes) and that day's current pair.
  select array_agg(s.c), array_agg(s.d), array_agg(s.p) into a_c, a_d, a_p
  from (
    select distinct n.c, n.d, coalesce((select max(x.day) from public.analytics_client_days x
                                        where x.organization_id = p_org and x.client_id = n.c and x.day < n.d),
                                       '-infinity') as p
    from (
      select k.c, (select min(x.day) from public.analytics_client_days x
                   where x.organization_id = p_org and x.client_id = k.c and x.day > k.d) as d
      from unnest(k_c, k_d) k (c, d)
    ) n
    where n.d is not null
  ) s;
  insert into public.analytics_client_days (organization_id, client_id, day)
  select p_org, k.c, k.d from unnest(k_c, k_d) k (c, d) order by 2, 3;
  -- After: the new days and those next days with their new previous day (+1), the next days' old pairs (-1).
  perform public.analytics_client_day_firsts_add_v1(p_org, array_agg(t.day), array_agg(t.prev), array_agg(t.n))
  from (
    select d.day, d.prev, sum(d.n)::bigint as n
    from (
      select y.d as day,
             coalesce((select max(x.day) from public.analytics_client_days x
                       where x.organization_id = p_org and x.client_id = y.c and x.day < y.d), '-infinity') as prev,
             1 as n
      from (select * from unnest(k_c, k_d) union select * from unnest(a_c, a_d)) y (c, d)
      union all
      select o.d, o.p, -1 from unnest(a_d, a_p) o (d, p)
    ) d
    group by 1, 2
    having sum(d.n) <> 0
  ) t;
  return cardinality(k_c);
end
$$;

-- Adds signed counts to analytics_client_day_firsts (key order) and drops the rows that reach zero.
create or replace function public.analytics_client_day_firsts_add_v1(
  p_org uuid, p_days date[], p_prevs date[], p_counts bigint[])
returns void
language plpgsql
as $$
declare
  z_d date[];
  z_p date[];
begin
  if p_days is null then
    return;
  end if;
  with up as (
    insert into public.analytics_client_day_firsts as f (organization_id, day, prev_day, clients)
    select p_org, x.d, x.p, sum(x.n) from unnest(p_days, p_prevs, p_counts) x (d, p, n)
    group by 2, 3
    order by 2, 3
    on conflict on constraint analytics_client_day_firsts_pkey do update set clients = f.clients + excluded.clients
    returning f.day, f.prev_day, f.clients
  )
  select array_agg(up.day), array_agg(up.prev_day) into z_d, z_p from up where up.clients = 0;
  if z_d is not null then
    delete from public.analytics_client_day_firsts f
    using unnest(z_d, z_p) z (d, p)
    where f.organization_id = p_org and f.day = z.d and f.prev_day = z.p;
  end if;
end
$$;

-- A bucket range that certainly holds every bucket of the local days [p_first, p_last] in zone p_tz (a day's
-- margin either side, so DST never cuts an edge off); callers filter by the local date itself, which is exact.
create or replace function public.analytics_day_bucket_range_v1(p_first date, p_last date, p_tz text)
returns tstzrange
language sql
stable
as $$ select tstzrange((p_first::timestamp at time zone p_tz) - interval '1 day',
                       ((p_last + 1)::timestamp at time zone p_tz) + interval '1 day') $$;

-- Re-derives the daily tier of local days [p_first, p_last] of one organization from its 15-minute tier, set-based
-- (rebuilds and erasures can span a year): the daily sums are replaced, the client days brought to the
-- 15-minute client sets, the firsts of the range recounted, and each changed client's first day after the
-- range given its new previous day. The caller holds the organization's exclusive rollup lock. p_tz: the zone
-- whose local days these are (default: the organization's).
create or replace function public.analytics_derive_days_v1(p_org uuid, p_first date, p_last date, p_tz text default null)
returns void
language plpgsql
as $$
declare
  v_tz text := p_tz;
  v_range tstzrange;
  s_d date[];
  s_p date[];
  s_n bigint[];
begin
  if v_tz is null then
    select o.timezone into v_tz from public.organizations o where o.id = p_org;
  end if;
  v_range := public.analytics_day_bucket_range_v1(p_first, p_last, v_tz);
  perform pg_advisory_xact_lock(public.analytics_client_days_lock_key_v1(p_org));

  delete from public.analytics_rollups_daily r
  where r.organization_id = p_org and r.day between p_first and p_last;
  insert into public.analytics_rollups_daily
    (organization_id, metric, day, dim1, dim2, currency, events, amount_minor, value_sum, value_count)
  select p_org, r.metric, (r.bucket at time zone v_tz)::date, r.dim1, r.dim2, r.currency,
         sum(r.events), sum(r.amount_minor), sum(r.value_sum), sum(r.value_count)
  from public.analytics_rollups r
  where r.organization_id = p_org and r.bucket <@ v_range
    and (r.bucket at time zone v_tz)::date between p_first and p_last
  group by 2, 3, 4, 5, 6
  order by 2, 3, 4, 5, 6;

  create temp table if not exists analytics_wanted_client_days (client_id text, day date) on commit drop;
  truncate analytics_wanted_client_days;
  insert into analytics_wanted_client_days
  select distinct c.client_id, (c.bucket at time zone v_tz)::date
  from public.analytics_active_clients c
  where c.organization_id = p_org and c.bucket <@ v_range
    and (c.bucket at time zone v_tz)::date between p_first and p_last;
  analyze analytics_wanted_client_days;

  -- Clients whose last day up to p_last changes: their next day after the range moves from the old pair to the
  -- new one.
  select array_agg(v.day), array_agg(v.prev), array_agg(v.n) into s_d, s_p, s_n
  from (
    select nx.day as next_day,
           coalesce(m.old_max, bl.day, '-infinity') as old_p, coalesce(m.new_max, bl.day, '-infinity') as new_p
    from (
      select coalesce(o.client_id, w.client_id) as client_id, o.d as old_max, w.d as new_max
      from (select x.client_id, max(x.day) as d from public.analytics_client_days x
            where x.organization_id = p_org and x.day between p_first and p_last group by 1) o
      full join (select w.client_id, max(w.day) as d from analytics_wanted_client_days w group by 1) w
        using (client_id)
      where o.d is distinct from w.d
    ) m
    cross join lateral (select min(x.day) as day from public.analytics_client_days x
                        where x.organization_id = p_org and x.client_id = m.client_id and x.day > p_last) nx
    left join lateral (select max(x.day) as day from public.analytics_client_days x
                       where x.organization_id = p_org and x.client_id = m.client_id and x.day < p_first) bl on true
    where nx.day is not null
  ) a
  cross join lateral (values (a.next_day, a.old_p, -1::bigint), (a.next_day, a.new_p, 1::bigint)) v (day, prev, n)
  where a.old_p <> a.new_p;

  delete from public.analytics_client_days x
  where x.organization_id = p_org and x.day between p_first and p_last
    and not exists (select 1 from analytics_wanted_client_days w where w.client_id = x.client_id and w.day = x.day);
  insert into public.analytics_client_days (organization_id, client_id, day)
  select p_org, w.client_id, w.day from analytics_wanted_client_days w
  order by 2, 3
  on conflict do nothing;

  delete from public.analytics_client_day_firsts f
  where f.organization_id = p_org and f.day between p_first and p_last;
  insert into public.analytics_client_day_firsts (organization_id, day, prev_day, clients)
  select p_org, s.day, s.prev, count(*)
  from (
    select c.day,
           coalesce(lag(c.day) over (partition by c.client_id order by c.day),
                    (select max(x.day) from public.analytics_client_days x
                     where x.organization_id = p_org and x.client_id = c.client_id and x.day < p_first),
                    '-infinity') as prev
    from public.analytics_client_days c
    where c.organization_id = p_org and c.day between p_first and p_last
  ) s
  group by 2, 3
  order by 2, 3;

  perform public.analytics_client_day_firsts_add_v1(p_org, s_d, s_p, s_n);
end
$$;

-- Re-derives an organization's whole daily tier in zone p_tz from scratch (for a new zone, and for data that
-- predates this tier): cleared, then derived over every local day that has 15-minute data.
create or replace function public.analytics_rederive_all_days_v1(p_org uuid, p_tz text)
returns void
language plpgsql
as $$
declare
  v_first timestamptz;
  v_last timestamptz;
begin
  perform pg_advisory_xact_lock(public.analytics_rollup_lock_key_v1(p_org));
  perform pg_advisory_xact_lock(public.analytics_client_days_lock_key_v1(p_org));
  delete from public.analytics_rollups_daily where organization_id = p_org;
  delete from public.analytics_client_days where organization_id = p_org;
  delete from public.analytics_client_day_firsts where organization_id = p_org;
  select least((select min(r.bucket) from public.analytics_rollups r where r.organization_id = p_org),
               (select min(c.bucket) from public.analytics_active_clients c where c.organization_id = p_org)),
         greatest((select max(r.bucket) from public.analytics_rollups r where r.organization_id = p_org),
                  (select max(c.bucket) from public.analytics_active_clients c where c.organization_id = p_org))
    into v_first, v_last;
  if v_first is not null then
    perform public.analytics_derive_days_v1(p_org, (v_first at time zone p_tz)::date, (v_last at time zone p_tz)::date,
                                            p_tz);
  end if;
end
$$;

-- A new zone moves every local day: re-derive the daily tier and bump data_version so no cached answer
-- survives the change.
create or replace function public.analytics_organization_zone_changed_v1()
returns trigger
language plpgsql
as $$
begin
  if new.timezone is distinct from old.timezone then
    perform public.analytics_rederive_all_days_v1(new.id, new.timezone);
    new.data_version := new.data_version + 1;
  end if;
  return new;
end
$$;

create trigger organizations_zone_changed
  before update of timezone on public.organizations
  for each row execute function public.analytics_organization_zone_changed_v1();

-- Aggregate, now into both tiers. Unchanged otherwise (see 20261125001000_rollups.sql): shared rollup locks in
-- organization order, key-ordered upserts, the client-day lock per organization after that.
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
  v_days record;
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

  insert into public.analytics_rollups_daily as r
    (organization_id, metric, day, dim1, dim2, currency, events, amount_minor, value_sum, value_count)
  select f.organization_id, f.metric, (f.bucket at time zone o.timezone)::date, f.dim1, f.dim2, f.currency,
         count(*), sum(f.amount_minor), coalesce(sum(f.value), 0), count(f.value)
  from public.analytics_event_facts f
  join public.organizations o on o.id = f.organization_id
  where f.id = any(p_ids) and f.occurred_at between p_from and p_to
  group by 1, 2, 3, 4, 5, 6
  order by 1, 2, 3, 4, 5, 6
  on conflict on constraint analytics_rollups_daily_pkey do update
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

  for v_days in
    select s.organization_id as org, array_agg(s.client_id) as clients, array_agg(s.day) as days
    from (
      select distinct e.organization_id, e.client_id, (e.occurred_at at time zone o.timezone)::date as day
      from public.analytics_events e
      join public.organizations o on o.id = e.organization_id
      where e.id = any(p_ids) and e.occurred_at between p_from and p_to and e.client_id is not null
    ) s
    group by 1
    order by 1
  loop
    perform pg_advisory_xact_lock(public.analytics_client_days_lock_key_v1(v_days.org));
    perform public.analytics_client_days_add_v1(v_days.org, v_days.clients, v_days.days);
  end loop;

  return query
  select c.organization_id, coalesce((v_counts ->> c.organization_id::text)::bigint, 0), c.data_version,
         c.organization_id = any(coalesce(v_funnel, '{}'))
  from public.analytics_note_changes_v1(v_orgs, coalesce(v_funnel, '{}'), 'aggregate',
       public.analytics_bucket_v1(p_from), public.analytics_bucket_v1(p_to) + interval '15 minutes', v_counts) c;
end
$$;

-- Rebuild, now re-deriving the local days its window touches (see 20261125001000_rollups.sql for the rest).
create or replace function public.analytics_rebuild_v1(
  p_org uuid, p_from timestamptz, p_to timestamptz, p_queue text default 'aggregate')
returns table (rows_deleted bigint, rows_written bigint, clients_written bigint, data_version bigint)
language plpgsql
as $$
#variable_conflict use_column
declare
  v_from timestamptz := public.analytics_bucket_v1(p_from);
  v_to timestamptz := public.analytics_bucket_v1(p_to - interval '1 microsecond') + interval '15 minutes';
  v_tz text;
  v_deleted bigint;
  v_written bigint;
  v_clients bigint;
  v_version bigint;
begin
  perform pg_advisory_xact_lock(public.analytics_rollup_lock_key_v1(p_org));
  select o.timezone into v_tz from public.organizations o where o.id = p_org;
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
  if v_tz is not null then
    perform public.analytics_derive_days_v1(p_org, (v_from at time zone v_tz)::date,
                                            ((v_to - interval '15 minutes') at time zone v_tz)::date);
  end if;
  select c.data_version into v_version
  from public.analytics_note_changes_v1(array[p_org], array[p_org], 'rebuild', v_from, v_to, '{}'::jsonb) c;
  rows_deleted := v_deleted;
  rows_written := v_written;
  clients_written := v_clients;
  data_version := v_version;
  return next;
end
$$;

-- Reconcile, now also comparing the daily tier of the local days the window touches with the raw events, like
-- the 15-minute tier (kinds 'rollup_daily' and 'client_day'; bucket is the local day's first instant), and the
-- firsts with the client days they count ('client_day_first'; dim1 is the previous day). So damage to one tier
-- is reported in that tier only.
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
  v_tz text;
  v_first date;
  v_last date;
  v_range tstzrange;
begin
  perform pg_advisory_xact_lock(public.analytics_rollup_lock_key_v1(p_org));
  perform pg_advisory_xact_lock(public.analytics_client_days_lock_key_v1(p_org));
  select o.timezone into v_tz from public.organizations o where o.id = p_org;
  v_first := (v_from at time zone v_tz)::date;
  v_last := ((v_to - interval '15 minutes') at time zone v_tz)::date;
  v_range := public.analytics_day_bucket_range_v1(v_first, v_last, v_tz);
  return query
  with expected_wide as materialized (
    -- The whole local days the window touches (with a day's margin), recomputed once for both tiers.
    select * from public.analytics_expected_rollups_v1(p_org, lower(v_range), upper(v_range), p_queue)
  ), raw_clients as materialized (
    select distinct public.analytics_bucket_v1(e.occurred_at) as bucket, e.client_id
    from public.analytics_events e
    where e.organization_id = p_org and e.occurred_at >= lower(v_range) and e.occurred_at < upper(v_range)
      and e.client_id is not null
      and e.id not in (select p.id from public.analytics_pending_event_ids_v1(p_org, p_queue) p)
  ), expected as (
    -- Each tier tagged with its kind; a daily row's bucket is its local day's first instant.
    select 'rollup'::text as kind, w.metric, w.bucket, w.dim1, w.dim2, w.currency, w.events, w.amount_minor,
           w.value_sum, w.value_count
    from expected_wide w
    where w.bucket >= v_from and w.bucket < v_to
    union all
    select 'rollup_daily', w.metric, (w.bucket at time zone v_tz)::date::timestamp at time zone v_tz, w.dim1, w.dim2,
           w.currency, sum(w.events)::bigint, sum(w.amount_minor)::bigint, sum(w.value_sum)::bigint,
           sum(w.value_count)::bigint
    from expected_wide w
    where (w.bucket at time zone v_tz)::date between v_first and v_last
    group by 1, 2, 3, 4, 5, 6
  ), actual as (
    select 'rollup'::text as kind, r.metric, r.bucket, r.dim1, r.dim2, r.currency, r.events, r.amount_minor,
           r.value_sum, r.value_count
    from public.analytics_rollups r
    where r.organization_id = p_org and r.bucket >= v_from and r.bucket < v_to
    union all
    select 'rollup_daily', d.metric, d.day::timestamp at time zone v_tz, d.dim1, d.dim2, d.currency, d.events,
           d.amount_minor, d.value_sum, d.value_count
    from public.analytics_rollups_daily d
    where d.organization_id = p_org and d.day between v_first and v_last
  ), expected_clients as (
    select 'active_client'::text as kind, r.bucket, r.client_id
    from raw_clients r
    where r.bucket >= v_from and r.bucket < v_to
    union all
    select distinct 'client_day', (r.bucket at time zone v_tz)::date::timestamp at time zone v_tz, r.client_id
    from raw_clients r
    where (r.bucket at time zone v_tz)::date between v_first and v_last
  ), actual_clients as (
    select 'active_client'::text as kind, c.bucket, c.client_id
    from public.analytics_active_clients c
    where c.organization_id = p_org and c.bucket >= v_from and c.bucket < v_to
    union all
    select 'client_day', c.day::timestamp at time zone v_tz, c.client_id
    from public.analytics_client_days c
    where c.organization_id = p_org and c.day between v_first and v_last
  )
  select kind, coalesce(x.metric, a.metric), coalesce(x.bucket, a.bucket), coalesce(x.dim1, a.dim1),
         coalesce(x.dim2, a.dim2), coalesce(x.currency, a.currency),
         coalesce(x.events, 0), coalesce(a.events, 0), coalesce(x.amount_minor, 0), coalesce(a.amount_minor, 0),
         coalesce(x.value_sum, 0), coalesce(a.value_sum, 0), coalesce(x.value_count, 0), coalesce(a.value_count, 0)
  from expected x
  full join actual a using (kind, metric, bucket, dim1, dim2, currency)
  where (coalesce(x.events, 0), coalesce(x.amount_minor, 0), coalesce(x.value_sum, 0), coalesce(x.value_count, 0))
     is distinct from
        (coalesce(a.events, 0), coalesce(a.amount_minor, 0), coalesce(a.value_sum, 0), coalesce(a.value_count, 0))
  union all
  select kind, null::text, coalesce(x.bucket, a.bucket), coalesce(x.client_id, a.client_id), ''::text, ''::text,
         (x.client_id is not null)::int::bigint, (a.client_id is not null)::int::bigint,
         0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint
  from expected_clients x
  full join actual_clients a using (kind, bucket, client_id)
  where x.client_id is null or a.client_id is null
  union all
  select 'client_day_first'::text, null::text, (coalesce(x.day, a.day)::timestamp at time zone v_tz),
         coalesce(x.prev_day, a.prev_day)::text, ''::text, ''::text,
         coalesce(x.clients, 0), coalesce(a.clients, 0), 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
         0::bigint
  from (
    select c.day, coalesce((select max(p.day) from public.analytics_client_days p
                            where p.organization_id = p_org and p.client_id = c.client_id and p.day < c.day),
                           '-infinity') as prev_day, count(*)::bigint as clients
    from public.analytics_client_days c
    where c.organization_id = p_org and c.day between v_first and v_last
    group by 1, 2
  ) x
  full join (
    select f.day, f.prev_day, f.clients from public.analytics_client_day_firsts f
    where f.organization_id = p_org and f.day between v_first and v_last
  ) a using (day, prev_day)
  where coalesce(x.clients, 0) <> coalesce(a.clients, 0);
end
$$;

revoke execute on function
  public.analytics_client_days_add_v1(uuid, text[], date[]),
  public.analytics_client_day_firsts_add_v1(uuid, date[], date[], bigint[]),
  public.analytics_derive_days_v1(uuid, date, date, text),
  public.analytics_rederive_all_days_v1(uuid, text),
  public.analytics_organization_zone_changed_v1()
from public, anon, authenticated;
grant execute on function
  public.analytics_client_days_add_v1(uuid, text[], date[]),
  public.analytics_client_day_firsts_add_v1(uuid, date[], date[], bigint[]),
  public.analytics_derive_days_v1(uuid, date, date, text),
  public.analytics_rederive_all_days_v1(uuid, text)
to service_role;

-- Data stored before this tier existed.
select public.analytics_rederive_all_days_v1(o.id, o.timezone) from public.organizations o order by o.id;

-- The organization-filtered views over the materialized views also serve the pipeline's own roles (reports run
-- as the service role, without a signed-in user's claims); a signed-in user still sees only their organization.
-- The metric layer reads these views, so the dashboard never leaves the `authenticated` role for them.
create or replace view public.analytics_booking_facts with (security_barrier = true) as
select * from public.analytics_booking_facts_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');
create or replace view public.analytics_client_funnel with (security_barrier = true) as
select * from public.analytics_client_funnel_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');
create or replace view public.analytics_cohorts with (security_barrier = true) as
select * from public.analytics_cohorts_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');
create or replace view public.analytics_lead_times with (security_barrier = true) as
select * from public.analytics_lead_times_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');

-- Row-level security evaluated once per query, not once per row: `analytics_request_org()` parses the request's
-- JWT claims, and written bare in a policy it is inlined and re-parsed for every row scanned (70 ms for 23,000
-- rows). As a scalar subquery it is an InitPlan, computed once (the form Supabase recommends for auth.uid()).
do $$
declare
  p record;
  v_using text;
  v_check text;
begin
  for p in
    select schemaname, tablename, policyname, qual, with_check from pg_policies
    where schemaname = 'public'
      and (qual ~ 'analytics_request_org\(\)' or with_check ~ 'analytics_request_org\(\)')
      and coalesce(qual, '') || coalesce(with_check, '') !~ 'SELECT (public\.)?analytics_request_org'
  loop
    v_using := regexp_replace(p.qual, '(public\.)?analytics_request_org\(\)',
                              '(select public.analytics_request_org())', 'g');
    v_check := regexp_replace(p.with_check, '(public\.)?analytics_request_org\(\)',
                              '(select public.analytics_request_org())', 'g');
    if v_using is not null then
      execute format('alter policy %I on %I.%I using (%s)', p.policyname, p.schemaname, p.tablename, v_using);
    end if;
    if v_check is not null then
      execute format('alter policy %I on %I.%I with check (%s)', p.policyname, p.schemaname, p.tablename, v_check);
    end if;
  end loop;
end
$$;
