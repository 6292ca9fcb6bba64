-- Named queries of the business alerts (docs/alerts.md): one query per alert over every organization, and the
-- per-organization rules (thresholds, mutes).

-- name: business_bucket_counts
-- Per organization (one, or all when organization_id is null): its local today, its first inquiry day, and the
-- inquiries, failed and succeeded payments (of the metrics asked for; the others are 0) of each `unit`-day
-- bucket b (days [today - (b + 1) * unit, today - b * unit)) within the spans [span_from, span_to) of buckets,
-- as arrays (buckets with no rollup row are absent). The caller adds each window up from its buckets: one index
-- range of the daily rollups per organization and span (a few), instead of one probe per window (40 per
-- organization for inquiries, overlapping ones reading the same rows again) and a row per window.
with orgs as materialized (
  select o.id, (%(now)s::timestamptz at time zone o.timezone)::date as today,
         (select min(d.day) from public.analytics_rollups_daily d
          where d.organization_id = o.id and d.metric = 'inquiry.received') as first_day
  from public.organizations o
  where %(organization_id)s::uuid is null or o.id = %(organization_id)s::uuid
)
select o.id as organization_id, o.today, o.first_day, c.buckets, c.inquiries, c.failed, c.succeeded
from orgs o
cross join lateral (
  select array_agg(x.b) as buckets, array_agg(x.inquiries) as inquiries, array_agg(x.failed) as failed,
         array_agg(x.succeeded) as succeeded
  from (
    select (o.today - 1 - r.day) / %(unit)s as b,
           coalesce(sum(r.events) filter (where r.metric = 'inquiry.received'), 0)::bigint as inquiries,
           coalesce(sum(r.events) filter (where r.metric = 'payment.failed'), 0)::bigint as failed,
           coalesce(sum(r.events) filter (where r.metric = 'payment.succeeded'), 0)::bigint as succeeded
    from unnest(%(span_from)s::int[], %(span_to)s::int[]) as s(b_from, b_to)
    join public.analytics_rollups_daily r
      on r.organization_id = o.id and r.metric = any(%(metrics)s::text[])
     and r.day >= o.today - s.b_to * %(unit)s and r.day < o.today - s.b_from * %(unit)s
    group by 1
  ) x
) c
order by o.id;

-- name: business_review_stats
-- Per organization and period (recent: since recent_from; earlier: history_from to recent_from): how many
-- reviews gave a rating and an NPS answer, their means and sample standard deviations, promoters and detractors.
select o.id as organization_id, s.recent, s.ratings, s.rating_mean, s.rating_sd, s.answers, s.nps_mean, s.nps_sd,
       s.promoters, s.detractors
from public.organizations o
cross join lateral (
  select e.occurred_at >= %(recent_from)s as recent,
         count(e.properties ->> 'rating') as ratings,
         avg((e.properties ->> 'rating')::numeric)::double precision as rating_mean,
         stddev_samp((e.properties ->> 'rating')::numeric)::double precision as rating_sd,
         count(e.properties ->> 'nps') as answers,
         avg((e.properties ->> 'nps')::numeric)::double precision as nps_mean,
         stddev_samp((e.properties ->> 'nps')::numeric)::double precision as nps_sd,
         count(*) filter (where (e.properties ->> 'nps')::int >= 9) as promoters,
         count(*) filter (where (e.properties ->> 'nps')::int <= 6) as detractors
  from public.analytics_events e
  where e.organization_id = o.id and e.event_type = 'review.received'
    and e.occurred_at >= %(history_from)s and e.occurred_at < %(now)s
  group by 1
) s
where %(organization_id)s::uuid is null or o.id = %(organization_id)s::uuid
order by 1, 2;

-- name: business_balances_due
-- Live bookings whose wedding is today or within max_days (organization's local date), with their agreed value
-- and what was paid, read from the per-booking state that aggregate keeps exactly once (analytics_bookings,
-- analytics_booking_money), the same state and the same rules as the wedding axis (shared/metrics/sql/weddings.sql):
-- the latest confirmation's value, currency and wedding date; any cancellation cancels; money received minus
-- refunded in the booking's currency, a refund that names only its payment counting for that payment's booking;
-- payments and refunds in another currency are counted apart, not converted.
with orgs as (
  select o.id, (%(now)s::timestamptz at time zone o.timezone)::date as today
  from public.organizations o
  where %(organization_id)s::uuid is null or o.id = %(organization_id)s::uuid
), due as materialized (
  select b.organization_id, b.booking_id, o.today, b.wedding_date, b.value_minor, b.currency
  from orgs o
  join public.analytics_bookings b
    on b.organization_id = o.id and b.confirmed_at is not null and b.cancelled_at is null
   and b.wedding_date >= o.today and b.wedding_date <= o.today + %(max_days)s
)
select d.organization_id, d.booking_id, d.wedding_date, d.wedding_date - d.today as days_left, d.value_minor,
       d.currency, p.paid_minor, p.refunded_minor, p.other_currency
from due d
cross join lateral (
  select coalesce(sum(m.paid_minor) filter (where m.currency = d.currency), 0)::bigint as paid_minor,
         coalesce(sum(m.refunded_minor) filter (where m.currency = d.currency), 0)::bigint as refunded_minor,
         coalesce(sum(m.payments + m.refunds) filter (where m.currency is distinct from d.currency), 0)::bigint
           as other_currency
  from (
    -- the money rows naming the booking, then those of its payments that name no booking (a refund by payment
    -- id), each tied to the booking its payment named (the greatest, as on the wedding axis)
    select n.currency, n.paid_minor, n.refunded_minor, n.payments, n.refunds
    from public.analytics_booking_money n
    where n.organization_id = d.organization_id and n.booking_id = d.booking_id
    union all
    select u.currency, u.paid_minor, u.refunded_minor, u.payments, u.refunds
    from (select distinct n.payment_id from public.analytics_booking_money n
          where n.organization_id = d.organization_id and n.booking_id = d.booking_id and n.payment_id <> '') k
    join public.analytics_booking_money u
      on u.organization_id = d.organization_id and u.payment_id = k.payment_id and u.booking_id = ''
    where d.booking_id = (select max(x.booking_id) from public.analytics_booking_money x
                          where x.organization_id = d.organization_id and x.payment_id = k.payment_id
                            and x.booking_id <> '')
  ) m
) p
order by d.organization_id, d.wedding_date, d.booking_id;

-- name: business_incidents_of
-- An organization's business-alert incidents that are open or resolved since a moment, newest first.
select id, check_name, subject, opened_at, resolved_at, last_status, last_value, threshold, message,
       opened_notified_at, resolved_notified_at
from public.analytics_quality_incidents
where organization_id = %(organization_id)s and check_name = any(%(alerts)s::text[])
  and (resolved_at is null or resolved_at >= %(since)s)
order by opened_at desc, id desc
limit 500;

-- name: alert_rules_of
-- The stored alert rules of some organizations (all when null).
select organization_id, alert, thresholds, muted_until, updated_at, updated_by
from public.analytics_alert_rules
where %(organizations)s::uuid[] is null or organization_id = any(%(organizations)s::uuid[])
order by organization_id, alert;

-- name: alert_rule_thresholds
-- Stores an organization's thresholds for one alert (keeps its mute).
insert into public.analytics_alert_rules as r (organization_id, alert, thresholds, updated_by)
values (%(organization_id)s, %(alert)s, %(thresholds)s::jsonb, %(by)s)
on conflict (organization_id, alert) do update
set thresholds = excluded.thresholds, updated_at = now(), updated_by = excluded.updated_by;

-- name: alert_rule_mute
-- Mutes one alert of an organization until a moment, or unmutes it (null); keeps its thresholds.
insert into public.analytics_alert_rules as r (organization_id, alert, muted_until, updated_by)
values (%(organization_id)s, %(alert)s, %(until)s, %(by)s)
on conflict (organization_id, alert) do update
set muted_until = excluded.muted_until, updated_at = now(), updated_by = excluded.updated_by;

-- name: alert_rules_muted
-- Every (organization, alert) muted at a moment.
select organization_id, alert from public.analytics_alert_rules
where muted_until > %(now)s
order by organization_id, alert;
