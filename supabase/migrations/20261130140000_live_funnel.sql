-- The funnel, cohorts, lead times and booking facts become live: read from the per-booking and per-client state
-- that aggregate keeps exactly once in the transaction of each batch (20261130030000_booking_state.sql), instead
-- of four materialized views recomputed from every organization's raw events.
--
-- Why: a refresh recomputed the views for ALL organizations from the whole event store (a scan of every booking,
-- inquiry and payment ever stored), every REFRESH_DEBOUNCE_SECONDS while any organization sent funnel events.
-- Its cost grew with the whole platform's history, not with what changed: at 10,000 organizations it cannot
-- keep up, and on one machine it took whole cores from ingest and validate. The state tables grow by one row
-- per booking and per client, are written only for the organizations in a batch, and are read per organization
-- through their indexes; the funnel is exact as soon as aggregate commits (no debounce, no refresh).
--
-- Same definitions as the views had: a booking is one whose latest confirmation (by occurred_at, then id) gives
-- its client, value, currency, package, lead source and wedding date and whose booked_at is that confirmation's
-- time; its first cancellation; its first deposit and first balance payment. A client of the funnel is one with an
-- inquiry: the first inquiry (by occurred_at, then id) gives its time, lead source and channel; first booked /
-- deposit / balance are the earliest over the bookings whose latest confirmation names the client.
-- One difference: like the wedding axis, the state keeps what retention removed (a booking confirmed before the
-- oldest stored event keeps its row), where the views forgot it.
--
-- The names stay (`analytics_booking_facts_mv` and the others are now plain views, the organization-filtered
-- views over them unchanged), so every reader keeps working. No view is left to refresh:
-- `analytics_materialized_views_v1()` and `analytics_funnel_inputs_v1()` are empty, so aggregate no longer flags
-- view changes and the refresh function has nothing to do (docs/aggregation.md).

alter table public.analytics_bookings
  add column client_id        text,
  add column first_deposit_at timestamptz,
  add column first_balance_at timestamptz;

alter table public.analytics_clients
  add column first_inquiry_at       timestamptz,
  add column first_inquiry_event_id bigint,
  add column inquiry_lead_source    text,
  add column inquiry_channel        text;

create index analytics_bookings_client on public.analytics_bookings (organization_id, client_id)
  where confirmed_at is not null;
create index analytics_bookings_booked on public.analytics_bookings (organization_id, confirmed_at)
  where confirmed_at is not null;
create index analytics_clients_inquiry on public.analytics_clients (organization_id, first_inquiry_at)
  where first_inquiry_at is not null;

create or replace function public.analytics_state_add_v1(
  p_org uuid, p_ids bigint[], p_from timestamptz, p_to timestamptz, p_queue text default 'aggregate',
  p_keep_bookings text[] default '{}', p_keep_payments text[] default '{}')
returns bigint
language plpgsql
as $$
declare
  v_rows bigint := 0;
  v_n bigint;
begin
  insert into public.analytics_bookings as b
    (organization_id, booking_id, first_confirmed_at, confirmed_at, confirmed_event_id, confirmations,
     wedding_date, currency, value_minor, package, lead_source, cancelled_at, client_id)
  with ev as materialized (
    select e.id, e.organization_id, e.booking_id, e.event_type, e.occurred_at, e.currency, e.amount_minor,
           e.properties, e.client_id
    from public.analytics_state_events_v1(p_org, p_ids, p_from, p_to, p_queue, p_keep_bookings, p_keep_payments) e
    where e.event_type in ('booking.confirmed', 'booking.cancelled') and e.booking_id is not null
  ), latest as (
    select distinct on (organization_id, booking_id) *
    from ev where event_type = 'booking.confirmed'
    order by organization_id, booking_id, occurred_at desc, id desc
  )
  select s.organization_id, s.booking_id, s.first_confirmed_at, l.occurred_at, l.id, s.confirmations,
         (l.properties ->> 'wedding_date')::date, l.currency::text, l.amount_minor,
         coalesce(l.properties ->> 'package', ''), coalesce(l.properties ->> 'lead_source', ''), s.cancelled_at,
         l.client_id
  from (
    select ev.organization_id, ev.booking_id,
           min(ev.occurred_at) filter (where ev.event_type = 'booking.confirmed') as first_confirmed_at,
           count(*) filter (where ev.event_type = 'booking.confirmed')::integer as confirmations,
           min(ev.occurred_at) filter (where ev.event_type = 'booking.cancelled') as cancelled_at
    from ev
    group by 1, 2
  ) s
  left join latest l on l.organization_id = s.organization_id and l.booking_id = s.booking_id
  order by 1, 2
  on conflict on constraint analytics_bookings_pkey do update
  set first_confirmed_at = least(b.first_confirmed_at, excluded.first_confirmed_at),
      confirmations = b.confirmations + excluded.confirmations,
      cancelled_at = least(b.cancelled_at, excluded.cancelled_at),
      confirmed_at = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.confirmed_at else b.confirmed_at end,
      confirmed_event_id = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.confirmed_event_id else b.confirmed_event_id end,
      wedding_date = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.wedding_date else b.wedding_date end,
      currency = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.currency else b.currency end,
      value_minor = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.value_minor else b.value_minor end,
      package = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.package else b.package end,
      lead_source = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.lead_source else b.lead_source end,
      client_id = case when excluded.confirmed_at is not null and (b.confirmed_at is null
                            or (excluded.confirmed_at, excluded.confirmed_event_id) > (b.confirmed_at, b.confirmed_event_id))
                          then excluded.client_id else b.client_id end;
  get diagnostics v_n = row_count;
  v_rows := v_rows + v_n;

  -- The first deposit and the first balance payment of each booking (a row before its confirmation is fine:
  -- every reader asks for confirmed_at).
  insert into public.analytics_bookings as b (organization_id, booking_id, first_deposit_at, first_balance_at)
  select e.organization_id, e.booking_id,
         min(e.occurred_at) filter (where e.properties ->> 'kind' = 'deposit'),
         min(e.occurred_at) filter (where e.properties ->> 'kind' = 'balance')
  from public.analytics_state_events_v1(p_org, p_ids, p_from, p_to, p_queue, p_keep_bookings, p_keep_payments) e
  where e.event_type = 'payment.succeeded' and e.booking_id is not null
    and e.properties ->> 'kind' in ('deposit', 'balance')
  group by 1, 2
  order by 1, 2
  on conflict on constraint analytics_bookings_pkey do update
  set first_deposit_at = least(b.first_deposit_at, excluded.first_deposit_at),
      first_balance_at = least(b.first_balance_at, excluded.first_balance_at)
  where excluded.first_deposit_at < b.first_deposit_at or excluded.first_balance_at < b.first_balance_at
     or (b.first_deposit_at is null and excluded.first_deposit_at is not null)
     or (b.first_balance_at is null and excluded.first_balance_at is not null);
  get diagnostics v_n = row_count;
  v_rows := v_rows + v_n;

  insert into public.analytics_booking_money as m
    (organization_id, payment_id, booking_id, currency, paid_minor, refunded_minor, payments, refunds)
  select e.organization_id, coalesce(e.properties ->> 'payment_id', ''), coalesce(e.booking_id, ''), e.currency::text,
         coalesce(sum(e.amount_minor) filter (where e.event_type = 'payment.succeeded'), 0),
         coalesce(sum(e.amount_minor) filter (where e.event_type = 'payment.refunded'), 0),
         count(*) filter (where e.event_type = 'payment.succeeded'),
         count(*) filter (where e.event_type = 'payment.refunded')
  from public.analytics_state_events_v1(p_org, p_ids, p_from, p_to, p_queue, p_keep_bookings, p_keep_payments) e
  where e.event_type in ('payment.succeeded', 'payment.refunded') and e.currency is not null
    and (e.booking_id is not null or e.properties ? 'payment_id')
  group by 1, 2, 3, 4
  order by 1, 2, 3, 4
  on conflict on constraint analytics_booking_money_pkey do update
  set paid_minor = m.paid_minor + excluded.paid_minor,
      refunded_minor = m.refunded_minor + excluded.refunded_minor,
      payments = m.payments + excluded.payments,
      refunds = m.refunds + excluded.refunds;
  get diagnostics v_n = row_count;
  v_rows := v_rows + v_n;

  insert into public.analytics_clients as c
    (organization_id, client_id, first_seen_at, first_event_id, first_type, lead_source)
  select distinct on (e.organization_id, e.client_id)
         e.organization_id, e.client_id, e.occurred_at, e.id, e.event_type,
         coalesce(e.properties ->> 'lead_source', '')
  from public.analytics_state_events_v1(p_org, p_ids, p_from, p_to, p_queue, p_keep_bookings, p_keep_payments) e
  where e.client_id is not null
    -- Most events name a client already seen earlier: leave those rows untouched (not even locked).
    and not exists (select 1 from public.analytics_clients c
                    where c.organization_id = e.organization_id and c.client_id = e.client_id
                      and (c.first_seen_at, c.first_event_id) <= (e.occurred_at, e.id))
  order by e.organization_id, e.client_id, e.occurred_at, e.id
  on conflict on constraint analytics_clients_pkey do update
  set first_seen_at = excluded.first_seen_at, first_event_id = excluded.first_event_id,
      first_type = excluded.first_type, lead_source = excluded.lead_source
  where (excluded.first_seen_at, excluded.first_event_id) < (c.first_seen_at, c.first_event_id);
  get diagnostics v_n = row_count;
  v_rows := v_rows + v_n;

  -- Each client's first inquiry (the row exists: the statement above made it for any client named here).
  insert into public.analytics_clients as c
    (organization_id, client_id, first_seen_at, first_event_id, first_type, lead_source,
     first_inquiry_at, first_inquiry_event_id, inquiry_lead_source, inquiry_channel)
  select distinct on (e.organization_id, e.client_id)
         e.organization_id, e.client_id, e.occurred_at, e.id, e.event_type, '',
         e.occurred_at, e.id, e.properties ->> 'lead_source', e.properties ->> 'channel'
  from public.analytics_state_events_v1(p_org, p_ids, p_from, p_to, p_queue, p_keep_bookings, p_keep_payments) e
  where e.event_type = 'inquiry.received' and e.client_id is not null
    and not exists (select 1 from public.analytics_clients c
                    where c.organization_id = e.organization_id and c.client_id = e.client_id
                      and (c.first_inquiry_at, c.first_inquiry_event_id) <= (e.occurred_at, e.id))
  order by e.organization_id, e.client_id, e.occurred_at, e.id
  on conflict on constraint analytics_clients_pkey do update
  set first_inquiry_at = excluded.first_inquiry_at, first_inquiry_event_id = excluded.first_inquiry_event_id,
      inquiry_lead_source = excluded.inquiry_lead_source, inquiry_channel = excluded.inquiry_channel
  where c.first_inquiry_at is null
     or (excluded.first_inquiry_at, excluded.first_inquiry_event_id) < (c.first_inquiry_at, c.first_inquiry_event_id);
  get diagnostics v_n = row_count;
  return v_rows + v_n;
end
$$;

-- As before (20261130030000_booking_state.sql), and a kept client row forgets a first inquiry that the stored
-- events can tell again (so the recomputation finds it, or finds it gone after an erasure).
create or replace function public.analytics_rebuild_state_v1(p_org uuid, p_queue text default 'aggregate')
returns bigint
language plpgsql
as $$
declare
  v_oldest timestamptz;
  v_bookings text[];
  v_payments text[];
begin
  perform pg_advisory_xact_lock(public.analytics_rollup_lock_key_v1(p_org));
  select coalesce(min(e.occurred_at), 'infinity') into v_oldest
  from public.analytics_events e where e.organization_id = p_org;
  select coalesce(array_agg(b.booking_id), '{}') into v_bookings
  from public.analytics_bookings b
  where b.organization_id = p_org and coalesce(b.first_confirmed_at, b.cancelled_at) < v_oldest;
  select coalesce(array_agg(distinct m.payment_id), '{}') into v_payments
  from public.analytics_booking_money m
  where m.organization_id = p_org and m.booking_id = any(v_bookings) and m.payment_id <> '';
  delete from public.analytics_bookings b where b.organization_id = p_org and not b.booking_id = any(v_bookings);
  delete from public.analytics_booking_money m
  where m.organization_id = p_org and not m.booking_id = any(v_bookings) and not m.payment_id = any(v_payments);
  delete from public.analytics_clients c where c.organization_id = p_org and c.first_seen_at >= v_oldest;
  update public.analytics_clients c
  set first_inquiry_at = null, first_inquiry_event_id = null, inquiry_lead_source = null, inquiry_channel = null
  where c.organization_id = p_org and c.first_inquiry_at >= v_oldest;
  return public.analytics_state_add_v1(p_org, null, null, null, p_queue, v_bookings, v_payments);
end
$$;

-- The four views, now plain views over the state, same names and columns.
drop materialized view public.analytics_lead_times_mv cascade;
drop materialized view public.analytics_cohorts_mv cascade;
drop materialized view public.analytics_client_funnel_mv cascade;
drop materialized view public.analytics_booking_facts_mv cascade;

create view public.analytics_booking_facts_mv as
select b.organization_id, b.booking_id, b.client_id, b.confirmed_at as booked_at,
       (b.confirmed_at at time zone o.timezone)::date as booked_local_date,
       b.value_minor, b.currency, nullif(b.package, '') as package, nullif(b.lead_source, '') as lead_source,
       b.wedding_date, b.cancelled_at, b.first_deposit_at as deposit_paid_at, b.first_balance_at as balance_paid_at
from public.analytics_bookings b
join public.organizations o on o.id = b.organization_id
where b.confirmed_at is not null;

create view public.analytics_client_funnel_mv as
select c.organization_id, c.client_id, c.first_inquiry_at,
       (c.first_inquiry_at at time zone o.timezone)::date as inquiry_local_date,
       c.inquiry_lead_source as lead_source, c.inquiry_channel as channel,
       b.first_booked_at, b.first_deposit_at, b.first_balance_at
from public.analytics_clients c
join public.organizations o on o.id = c.organization_id
left join lateral (
  select min(x.confirmed_at) as first_booked_at, min(x.first_deposit_at) as first_deposit_at,
         min(x.first_balance_at) as first_balance_at
  from public.analytics_bookings x
  where x.organization_id = c.organization_id and x.client_id = c.client_id and x.confirmed_at is not null
) b on true
where c.first_inquiry_at is not null;

create view public.analytics_cohorts_mv as
select organization_id, date_trunc('month', inquiry_local_date)::date as cohort_month,
       count(*) as inquiries, count(first_booked_at) as booked,
       count(first_deposit_at) as deposit_paid, count(first_balance_at) as balance_paid
from public.analytics_client_funnel_mv
group by 1, 2;

create view public.analytics_lead_times_mv as
select organization_id, measure, month, days, count(*) as n
from (
  select f.organization_id, 'inquiry_to_booking'::text as measure,
         date_trunc('month', (f.first_booked_at at time zone o.timezone))::date as month,
         floor(extract(epoch from f.first_booked_at - f.first_inquiry_at) / 86400)::integer as days
  from public.analytics_client_funnel_mv f
  join public.organizations o on o.id = f.organization_id
  where f.first_booked_at is not null and f.first_booked_at >= f.first_inquiry_at
  union all
  select organization_id, 'booking_to_wedding', date_trunc('month', booked_local_date)::date,
         wedding_date - booked_local_date
  from public.analytics_booking_facts_mv
  where cancelled_at is null
) t
group by 1, 2, 3, 4;

-- As before: only the pipeline's own roles read these directly; signed-in users read the filtered views.
revoke all on public.analytics_booking_facts_mv, public.analytics_client_funnel_mv, public.analytics_cohorts_mv,
  public.analytics_lead_times_mv from public, anon, authenticated;

create view public.analytics_booking_facts with (security_barrier = true) as
select * from public.analytics_booking_facts_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');
create view public.analytics_client_funnel with (security_barrier = true) as
select * from public.analytics_client_funnel_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');
create view public.analytics_cohorts with (security_barrier = true) as
select * from public.analytics_cohorts_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');
create view public.analytics_lead_times with (security_barrier = true) as
select * from public.analytics_lead_times_mv
where organization_id = (select public.analytics_request_org()) or current_user not in ('anon', 'authenticated');
revoke all on public.analytics_booking_facts, public.analytics_client_funnel, public.analytics_cohorts,
  public.analytics_lead_times from public, anon, authenticated;
grant select on public.analytics_booking_facts, public.analytics_client_funnel, public.analytics_cohorts,
  public.analytics_lead_times to authenticated;

-- Nothing left to refresh, and no event type flags a view change.
create or replace function public.analytics_materialized_views_v1()
returns text[]
language sql
immutable
as $$ select '{}'::text[] $$;

create or replace function public.analytics_funnel_inputs_v1()
returns text[]
language sql
immutable
as $$ select '{}'::text[] $$;

-- Changes flagged before this migration have nothing left to wait for.
delete from public.analytics_view_changes;

-- The new columns for the events already stored.
do $$
declare
  v_org uuid;
begin
  for v_org in select id from public.organizations order by id loop
    perform public.analytics_rebuild_state_v1(v_org);
  end loop;
end
$$;
