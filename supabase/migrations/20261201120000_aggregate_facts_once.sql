-- Aggregation computes each batch's facts once (issue 17, performance): the 15-minute and the daily tier were
-- each computed from the batch's events through analytics_event_facts, so every event's facts were derived twice
-- (pg_stat_statements: the two upserts were two thirds of analytics_aggregate_events_v1's time). Now the facts
-- are grouped into 15-minute rows once, and the daily tier sums those rows. Same signature, same results.

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

  -- The facts are computed and grouped into 15-minute rows once; the daily tier sums those rows by the
  -- organization's local day (a day is a union of whole 15-minute buckets in every time zone, so the sums are
  -- the same as grouping the facts again). Both upserts run in this one statement, each in key order.
  with grouped as materialized (
    select f.organization_id, f.metric, f.bucket, f.dim1, f.dim2, f.currency,
           count(*) as events, sum(f.amount_minor) as amount_minor, coalesce(sum(f.value), 0) as value_sum,
           count(f.value) as value_count
    from public.analytics_event_facts f
    where f.id = any(p_ids) and f.occurred_at between p_from and p_to
    group by 1, 2, 3, 4, 5, 6
  ), quarter_hours as (
    insert into public.analytics_rollups as r
      (organization_id, metric, bucket, dim1, dim2, currency, events, amount_minor, value_sum, value_count)
    select g.organization_id, g.metric, g.bucket, g.dim1, g.dim2, g.currency,
           g.events, g.amount_minor, g.value_sum, g.value_count
    from grouped g
    order by 1, 2, 3, 4, 5, 6
    on conflict on constraint analytics_rollups_pkey do update
    set events = r.events + excluded.events,
        amount_minor = r.amount_minor + excluded.amount_minor,
        value_sum = r.value_sum + excluded.value_sum,
        value_count = r.value_count + excluded.value_count
  )
  insert into public.analytics_rollups_daily as r
    (organization_id, metric, day, dim1, dim2, currency, events, amount_minor, value_sum, value_count)
  select g.organization_id, g.metric, (g.bucket at time zone o.timezone)::date, g.dim1, g.dim2, g.currency,
         sum(g.events), sum(g.amount_minor), sum(g.value_sum), sum(g.value_count)
  from grouped g
  join public.organizations o on o.id = g.organization_id
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
