-- The wedding-date axis: bookings by wedding date with what they were paid (docs/metrics.md, "Weddings").

-- name: wedding_bookings
-- Confirmed bookings whose wedding falls in [first, last], each with the money received and refunded in its own
-- currency. A refund that names only its payment is tied to the booking that payment named.
with money as (
  select m.booking_id, m.payment_id, m.currency, m.paid_minor, m.refunded_minor
  from public.analytics_booking_money m
  where m.organization_id = %(organization_id)s
), linked as (
  select coalesce(nullif(m.booking_id, ''),
                  (select max(x.booking_id) from money x
                   where x.payment_id = m.payment_id and x.payment_id <> '' and x.booking_id <> '')) as booking_id,
         m.currency, m.paid_minor, m.refunded_minor
  from money m
), per_booking as (
  select booking_id, currency, sum(paid_minor)::bigint as paid_minor, sum(refunded_minor)::bigint as refunded_minor
  from linked
  where booking_id is not null
  group by 1, 2
)
select b.booking_id, b.wedding_date, b.currency, b.value_minor, b.first_confirmed_at, b.cancelled_at,
       coalesce(p.paid_minor, 0)::bigint as paid_minor, coalesce(p.refunded_minor, 0)::bigint as refunded_minor
from public.analytics_bookings b
left join per_booking p on p.booking_id = b.booking_id and p.currency = b.currency
where b.organization_id = %(organization_id)s and b.confirmed_at is not null
  and b.wedding_date >= %(first)s and b.wedding_date <= %(last)s
order by b.wedding_date, b.booking_id;

-- name: wedding_unassigned
-- Money (received minus refunded, per currency) that names no confirmed booking in its currency yet: payments
-- that arrived before their booking's confirmation, or paid in another currency than the booking's.
with money as (
  select m.booking_id, m.payment_id, m.currency, m.paid_minor, m.refunded_minor
  from public.analytics_booking_money m
  where m.organization_id = %(organization_id)s
), linked as (
  select coalesce(nullif(m.booking_id, ''),
                  (select max(x.booking_id) from money x
                   where x.payment_id = m.payment_id and x.payment_id <> '' and x.booking_id <> '')) as booking_id,
         m.currency, m.paid_minor, m.refunded_minor
  from money m
)
select l.currency, count(distinct l.booking_id)::bigint as bookings, sum(l.paid_minor)::bigint as paid_minor,
       sum(l.refunded_minor)::bigint as refunded_minor
from linked l
where not exists (
  select 1 from public.analytics_bookings b
  where b.organization_id = %(organization_id)s and b.booking_id = l.booking_id and b.currency = l.currency
    and b.confirmed_at is not null)
group by l.currency
order by l.currency;
