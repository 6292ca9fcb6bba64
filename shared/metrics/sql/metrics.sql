-- The metric layer's queries (read by the dashboard and the reports, as the viewer under RLS where it applies).

-- name: view_freshness
-- Last refresh and staleness of each view for one organization.
select view_name, pending, changed_at, refreshed_at, refresh_ms, stale_seconds
from public.analytics_view_freshness
where organization_id = %(organization_id)s
order by view_name;

-- name: organization_zone
-- The time zone, default and home currencies and first day of the week (its report setting) of one organization.
select timezone, currency, coalesce(home_currency, currency) as home_currency,
       settings #>> '{reports,week_start}' as week_start
from public.organizations where id = %(organization_id)s;

-- name: rollup_sums
-- Sums of the rollup rows of some metrics per period in the org's zone, from both tiers: the whole local days
-- [d1, d2) from the daily tier, the 15-minute buckets of [floor15(start), m1) and [m2, end) from the 15-minute
-- tier (m1, m2: the first instants of d1 and d2; the caller makes the parts disjoint and complete). Period: for
-- hours the UTC instant the local hour starts (a repeated DST hour stays two hours), otherwise the local start
-- of the day, week or month (naive local time; weeks start week_shift days before Monday, the organization's
-- week start); null for 'all'. dim1/dim2 false: that column is summed
-- over (returned as ''), except dim2 of the sources in dim2_sources (a metric filters on it). The sources bookings.made, bookings.cancelled and clients.first_seen come from the
-- booking and client state (each booking or client once), by the bucket of the moment that counts.
-- An empty 15-minute part (a window of whole days) is cut by a condition on the parameters alone, which the
-- planner evaluates once before the scan: otherwise it still descended the index once per metric (30 for
-- the overview) to find nothing.
select case %(interval)s
         when 'hour' then (t - make_interval(mins => extract(minute from t at time zone %(tz)s)::int))
                          at time zone 'UTC'
         when 'all' then null
         else date_trunc(%(interval)s,
                         coalesce(day::timestamp, t at time zone %(tz)s) + make_interval(days => %(week_shift)s))
              - make_interval(days => %(week_shift)s)
       end as period,
       metric, case when %(dim1)s then dim1 else '' end as dim1,
       case when %(dim2)s or metric = any(%(dim2_sources)s::text[]) then dim2 else '' end as dim2,
       currency, sum(events)::bigint as events, sum(amount_minor)::bigint as amount_minor,
       sum(value_sum)::bigint as value_sum, sum(value_count)::bigint as value_count
from (
  select null::timestamptz as t, day, metric, dim1, dim2, currency, events, amount_minor, value_sum, value_count
  from public.analytics_rollups_daily
  where organization_id = %(organization_id)s and metric = any(%(metrics)s::text[])
    and day >= %(d1)s::date and day < %(d2)s::date
  union all
  select bucket, null::date, metric, dim1, dim2, currency, events, amount_minor, value_sum, value_count
  from public.analytics_rollups
  where organization_id = %(organization_id)s and metric = any(%(metrics)s::text[])
    and bucket >= public.analytics_bucket_v1(%(start)s) and bucket < %(m1)s::timestamptz
    and public.analytics_bucket_v1(%(start)s) < %(m1)s::timestamptz  -- parameters only: skipped when empty
  union all
  select bucket, null::date, metric, dim1, dim2, currency, events, amount_minor, value_sum, value_count
  from public.analytics_rollups
  where organization_id = %(organization_id)s and metric = any(%(metrics)s::text[])
    and bucket >= %(m2)s::timestamptz and bucket < %(end)s
    and %(m2)s::timestamptz < %(end)s::timestamptz  -- parameters only: skipped when empty
  union all
  -- Each booking once, in the bucket of its first confirmation, with its latest confirmation's value.
  select public.analytics_bucket_v1(first_confirmed_at), null::date, 'bookings.made', package, lead_source, currency,
         1, value_minor, 0, 0
  from public.analytics_bookings
  where organization_id = %(organization_id)s and 'bookings.made' = any(%(metrics)s::text[])
    and confirmed_at is not null and first_confirmed_at >= public.analytics_bucket_v1(%(start)s)
    and public.analytics_bucket_v1(first_confirmed_at) < %(end)s
  union all
  -- Each confirmed booking's first cancellation.
  select public.analytics_bucket_v1(cancelled_at), null::date, 'bookings.cancelled', '', '', '', 1, 0, 0, 0
  from public.analytics_bookings
  where organization_id = %(organization_id)s and 'bookings.cancelled' = any(%(metrics)s::text[])
    and confirmed_at is not null and cancelled_at >= public.analytics_bucket_v1(%(start)s)
    and public.analytics_bucket_v1(cancelled_at) < %(end)s
  union all
  -- Each client once, at the first event that named them.
  select public.analytics_bucket_v1(first_seen_at), null::date, 'clients.first_seen', lead_source, '', '', 1, 0, 0, 0
  from public.analytics_clients
  where organization_id = %(organization_id)s and 'clients.first_seen' = any(%(metrics)s::text[])
    and first_seen_at >= public.analytics_bucket_v1(%(start)s)
    and public.analytics_bucket_v1(first_seen_at) < %(end)s
) r
group by 1, 2, 3, 4, 5;

-- name: active_clients_by_day
-- Exact distinct clients active per period of the whole local days [d1, d2) (no partial days): each client is
-- counted on its first active day inside the period, i.e. where its previous active day lies before the period.
select case %(interval)s when 'all' then null
         else date_trunc(%(interval)s, day::timestamp + make_interval(days => %(week_shift)s))
              - make_interval(days => %(week_shift)s) end as period,
       sum(clients)::bigint as clients
from public.analytics_client_day_firsts
where organization_id = %(organization_id)s and day >= %(d1)s::date and day < %(d2)s::date
  and prev_day < case %(interval)s when 'all' then %(d1)s::date
                   else greatest(%(d1)s::date,
                                 (date_trunc(%(interval)s, day::timestamp + make_interval(days => %(week_shift)s))
                                  - make_interval(days => %(week_shift)s))::date) end
group by 1;

-- name: active_clients
-- Exact count of distinct clients active per period (as in rollup_sums), for windows with partial days or hours.
select case %(interval)s
         when 'hour' then (t - make_interval(mins => extract(minute from t at time zone %(tz)s)::int))
                          at time zone 'UTC'
         when 'all' then null
         else date_trunc(%(interval)s,
                         coalesce(day::timestamp, t at time zone %(tz)s) + make_interval(days => %(week_shift)s))
              - make_interval(days => %(week_shift)s)
       end as period,
       count(distinct client_id)::bigint as clients
from (
  select null::timestamptz as t, day, client_id from public.analytics_client_days
  where organization_id = %(organization_id)s and day >= %(d1)s::date and day < %(d2)s::date
  union all
  select bucket, null::date, client_id from public.analytics_active_clients
  where organization_id = %(organization_id)s
    and bucket >= public.analytics_bucket_v1(%(start)s) and bucket < %(m1)s::timestamptz
    and public.analytics_bucket_v1(%(start)s) < %(m1)s::timestamptz
  union all
  select bucket, null::date, client_id from public.analytics_active_clients
  where organization_id = %(organization_id)s and bucket >= %(m2)s::timestamptz and bucket < %(end)s
    and %(m2)s::timestamptz < %(end)s::timestamptz
) c
group by 1;

-- name: funnel_counts
-- Of the clients whose first inquiry fell in [start, end): how many booked, paid a deposit, paid the balance,
-- and the inquiry-to-booking lead time in days (median, mean).
select count(*)::bigint as inquiries, count(first_booked_at)::bigint as booked,
       count(first_deposit_at)::bigint as deposit_paid, count(first_balance_at)::bigint as balance_paid,
       percentile_cont(0.5) within group (order by extract(epoch from first_booked_at - first_inquiry_at) / 86400)
         filter (where first_booked_at >= first_inquiry_at) as median_days_to_book,
       avg(extract(epoch from first_booked_at - first_inquiry_at) / 86400)
         filter (where first_booked_at >= first_inquiry_at) as mean_days_to_book
from public.analytics_client_funnel
where organization_id = %(organization_id)s and first_inquiry_at >= %(start)s and first_inquiry_at < %(end)s;

-- name: booking_status
-- Bookings made in [start, end): made, cancelled since, and value per currency (all and not cancelled).
select currency, count(*)::bigint as bookings, count(cancelled_at)::bigint as cancelled,
       sum(value_minor)::bigint as value_minor,
       coalesce(sum(value_minor) filter (where cancelled_at is null), 0)::bigint as net_value_minor
from public.analytics_booking_facts
where organization_id = %(organization_id)s and booked_at >= %(start)s and booked_at < %(end)s
group by currency
order by currency;

-- name: cohorts
-- Monthly inquiry cohorts between two local months.
select cohort_month, inquiries, booked, deposit_paid, balance_paid
from public.analytics_cohorts
where organization_id = %(organization_id)s and cohort_month >= %(start)s and cohort_month < %(end)s
order by cohort_month;

-- name: lead_time_histogram
-- Lead-time distribution (days -> count) of one measure for the local months in [start, end).
select days, sum(n)::bigint as n
from public.analytics_lead_times
where organization_id = %(organization_id)s and measure = %(measure)s
  and month >= %(start)s and month < %(end)s
group by days
order by days;
