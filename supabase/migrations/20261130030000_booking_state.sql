-- Per-booking and per-client state for the wedding-date axis and the person-level definitions (issue 16,
-- docs/metrics.md, docs/aggregation.md "Booking and client state").
--
-- analytics_bookings:        one row per booking id: its first and latest confirmation (the agreed value,
--                            currency, wedding date of the latest), its first cancellation.
-- analytics_booking_money:   money per (payment id, booking id, currency): received and refunded. A refund that
--                            names only its payment is tied to the booking through that payment when read.
-- analytics_clients:         one row per client id: the first event that named the client.
--
-- Aggregate adds each batch in the transaction that deletes its queue messages (exactly once, like the rollups),
-- after `analytics_aggregate_events_v1`, so it already holds the organization's shared rollup lock and has
-- touched the organization rows: every worker takes row locks in the same order. Each column is a sum, a
-- minimum or "the latest by (occurred_at, id)", so batches apply in any order and events may arrive in any
-- order (a payment before its booking's confirmation counts once the confirmation arrives).

create table public.analytics_bookings (
  organization_id     uuid not null,
  booking_id          text not null,
  first_confirmed_at  timestamptz,
  confirmed_at        timestamptz,
  confirmed_event_id  bigint,
  confirmations       integer not null default 0,
  wedding_date        date,
  currency            text,
  value_minor         bigint,
  package             text not null default '',
  lead_source         text not null default '',
  cancelled_at        timestamptz,
  primary key (organization_id, booking_id)
);

create index analytics_bookings_wedding on public.analytics_bookings (organization_id, wedding_date)
  where confirmed_at is not null;
create index analytics_bookings_first on public.analytics_bookings (organization_id, first_confirmed_at)
  where first_confirmed_at is not null;

create table public.analytics_booking_money (
  organization_id uuid not null,
  payment_id      text not null,
  booking_id      text not null,  -- '' when the event did not name a booking
  currency        text not null,
  paid_minor      bigint not null default 0,
  refunded_minor  bigint not null default 0,
  payments        integer not null default 0,
  refunds         integer not null default 0,
  primary key (organization_id, payment_id, booking_id, currency)
);

create index analytics_booking_money_booking on public.analytics_booking_money (organization_id, booking_id);

create table public.analytics_clients (
  organization_id uuid not null,
  client_id       text not null,
  first_seen_at   timestamptz not null,
  first_event_id  bigint not null,
  first_type      text not null,
  lead_source     text not null default '',
  primary key (organization_id, client_id)
);

create index analytics_clients_first on public.analytics_clients (organization_id, first_seen_at);

alter table public.analytics_bookings enable row level security;
alter table public.analytics_booking_money enable row level security;
alter table public.analytics_clients enable row level security;
create policy analytics_bookings_own on public.analytics_bookings
  for select to authenticated using (organization_id = (select public.analytics_request_org()));
create policy analytics_booking_money_own on public.analytics_booking_money
  for select to authenticated using (organization_id = (select public.analytics_request_org()));
create policy analytics_clients_own on public.analytics_clients
  for select to authenticated using (organization_id = (select public.analytics_request_org()));

revoke all on public.analytics_bookings, public.analytics_booking_money, public.analytics_clients
  from public, anon, authenticated;
grant select on public.analytics_bookings, public.analytics_booking_money, public.analytics_clients
  to authenticated;

-- The events one state update reads: a batch (ids between p_from and p_to), or, when p_ids is null, every
-- stored event of p_org that aggregate has processed (not still on p_queue), for a rebuild.
-- A rebuild leaves out the events of the bookings and payments it keeps (p_keep_bookings, p_keep_payments).
create or replace function public.analytics_state_events_v1(
  p_org uuid, p_ids bigint[], p_from timestamptz, p_to timestamptz, p_queue text default 'aggregate',
  p_keep_bookings text[] default '{}', p_keep_payments text[] default '{}')
returns setof public.analytics_events
language plpgsql
stable
as $$
begin
  if p_ids is not null then
    return query select e.* from public.analytics_events e where e.id = any(p_ids) and e.occurred_at between p_from and p_to;
  else
    return query select e.* from public.analytics_events e
    where e.organization_id = p_org
      and e.id not in (select p.id from public.analytics_pending_event_ids_v1(p_org, p_queue) p)
      and not coalesce(e.booking_id = any(p_keep_bookings), false)
      and not (e.event_type in ('payment.succeeded', 'payment.refunded')
               and coalesce(e.properties ->> 'payment_id' = any(p_keep_payments), false));
  end if;
end
$$;

-- Adds events to the booking, money and client state (see the header). Rows are upserted in key order.
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
     wedding_date, currency, value_minor, package, lead_source, cancelled_at)
  with ev as materialized (
    select e.id, e.organization_id, e.booking_id, e.event_type, e.occurred_at, e.currency, e.amount_minor,
           e.properties
    from public.analytics_state_events_v1(p_org, p_ids, p_from, p_to, p_queue, p_keep_bookings, p_keep_payments) e
    where e.event_type in ('booking.confirmed', 'booking.cancelled') and e.booking_id is not null
  ), latest as (
    select distinct on (organization_id, booking_id) *
    from ev where event_type = 'booking.confirmed'
    order by organization_id, booking_id, occurred_at desc, id desc
  )
  select s.organization_id, s.booking_id, s.first_confirmed_at, l.occurred_at, l.id, s.confirmations,
         (l.properties ->> 'wedding_date')::date, l.currency::text, l.amount_minor,
         coalesce(l.properties ->> 'package', ''), coalesce(l.properties ->> 'lead_source', ''), s.cancelled_at
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
                          then excluded.lead_source else b.lead_source end;
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
  return v_rows + v_n;
end
$$;

-- Replaces one organization's booking, money and client state by a recomputation from its processed events,
-- under the exclusive rollup lock (so no aggregate batch is half in it). Used by rebuild, erasure and this
-- migration's backfill. What the stored events can no longer tell is kept as history: retention removes raw
-- events older than its cutoff, so a client first seen before the oldest stored event keeps that first day, and
-- a booking first confirmed (or cancelled) before it keeps its row and its money, whose later events are then
-- left out of the recomputation (the kept row already holds them).
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
  return public.analytics_state_add_v1(p_org, null, null, null, p_queue, v_bookings, v_payments);
end
$$;

revoke execute on function
  public.analytics_state_events_v1(uuid, bigint[], timestamptz, timestamptz, text, text[], text[]),
  public.analytics_state_add_v1(uuid, bigint[], timestamptz, timestamptz, text, text[], text[]),
  public.analytics_rebuild_state_v1(uuid, text)
from public, anon, authenticated;
grant execute on function
  public.analytics_state_events_v1(uuid, bigint[], timestamptz, timestamptz, text, text[], text[]),
  public.analytics_state_add_v1(uuid, bigint[], timestamptz, timestamptz, text, text[], text[]),
  public.analytics_rebuild_state_v1(uuid, text)
to service_role;

-- The definitions of new_clients, bookings, booking_value, cancellations and net_bookings now read this state,
-- so their history changes (docs/metrics.md): build it for every organization from the events already stored.
do $$
declare
  v_org uuid;
begin
  for v_org in select id from public.organizations order by id loop
    perform public.analytics_rebuild_state_v1(v_org);
  end loop;
end
$$;
