-- Named queries of the automated reports (shared/reports, docs/reports.md).

-- name: report_organizations
-- Every organization with its zone, currency and settings (the scheduled run walks them all).
select id, name, timezone, currency, settings, created_at from public.organizations order by id;

-- name: report_organization
-- One organization with its zone, currency and settings.
select id, name, timezone, currency, settings, created_at from public.organizations where id = %(organization_id)s;

-- name: report_first_data
-- When the organization's data begins: its earliest stored event (null when none yet; an index lookup).
select min(occurred_at) as first_occurred_at from public.analytics_events where organization_id = %(organization_id)s;

-- name: report_upcoming_weddings
-- Weddings still booked at `as_of` (booked before it, not cancelled by then) per wedding month and currency,
-- for wedding dates in [from_date, to_date).
select date_trunc('month', wedding_date)::date as month, currency, count(*)::bigint as weddings,
       sum(value_minor)::bigint as value_minor
from public.analytics_booking_facts
where organization_id = %(organization_id)s and booked_at < %(as_of)s
  and (cancelled_at is null or cancelled_at >= %(as_of)s)
  and wedding_date >= %(from_date)s and wedding_date < %(to_date)s
group by 1, 2
order by 1, 2;

-- name: report_intake_quality
-- Intake counters of the window (hour buckets starting in [start, end)) and the dead letters first seen in it.
select coalesce(sum(received), 0)::bigint as received, coalesce(sum(stored), 0)::bigint as stored,
       coalesce(sum(duplicates), 0)::bigint as duplicates, coalesce(sum(rejected), 0)::bigint as rejected,
       coalesce(sum(refused), 0)::bigint as refused,
       (select count(*) from public.analytics_dead_letters d
         where d.organization_id = %(organization_id)s and d.first_seen_at >= %(start)s and d.first_seen_at < %(end)s)
         as dead_letters
from public.analytics_source_stats
where organization_id = %(organization_id)s and bucket >= %(start)s and bucket < %(end)s;

-- name: report_claim_new
-- Creates the report row for a period, leased to this run; nothing when the row exists already.
insert into public.analytics_reports (organization_id, kind, period_start, period_end, timezone, status,
                                      started_at, lease_until, generation_attempts, delivery_status)
values (%(organization_id)s, %(kind)s, %(period_start)s, %(period_end)s, %(timezone)s, 'generating',
        now(), now() + make_interval(secs => %(lease_seconds)s), 1, %(delivery_status)s)
on conflict (organization_id, kind, period_start) do nothing
returning id;

-- name: report_claim_existing
-- Leases an existing report row to this run when it still needs work (or `force`) and no live run holds it:
-- generation unfinished (within its attempts), or delivery pending, or failed and due (a given-up delivery has
-- no next_attempt_at and needs `force`).
update public.analytics_reports
set lease_until = now() + make_interval(secs => %(lease_seconds)s), updated_at = now()
where organization_id = %(organization_id)s and kind = %(kind)s and period_start = %(period_start)s
  and (lease_until is null or lease_until < now())
  and (%(force)s
       or (status in ('generating', 'failed') and generation_attempts < %(max_generation_attempts)s)
       or (status = 'stored' and (delivery_status = 'pending'
                                  or (delivery_status = 'failed' and next_attempt_at <= now()))))
returning id, status, delivery_status, files, deliveries, delivery_attempts;

-- name: report_start_generation
-- Marks the leased row as being (re)generated.
update public.analytics_reports
set status = 'generating', started_at = now(), generation_attempts = generation_attempts + 1,
    generation_error = null, period_end = %(period_end)s, timezone = %(timezone)s,
    delivery_status = %(delivery_status)s, deliveries = %(deliveries)s, delivery_attempts = %(delivery_attempts)s,
    last_error = null, next_attempt_at = null, delivered_at = null, updated_at = now()
where id = %(id)s;

-- name: report_stored
-- Records the stored files, their checksums and the generation time.
update public.analytics_reports
set status = 'stored', files = %(files)s, summary = %(summary)s, generated_at = now(),
    generation_ms = %(generation_ms)s, updated_at = now()
where id = %(id)s;

-- name: report_generation_failed
-- Records why generation failed; the lease is dropped so a later run tries again.
update public.analytics_reports
set status = 'failed', generation_error = %(error)s, lease_until = null, updated_at = now()
where id = %(id)s;

-- name: report_delivery_outcome
-- Records the outcome of the delivery attempts of this run and releases the lease.
update public.analytics_reports
set delivery_status = %(delivery_status)s, deliveries = %(deliveries)s, delivery_attempts = %(delivery_attempts)s,
    last_error = %(last_error)s, next_attempt_at = %(next_attempt_at)s,
    delivered_at = case when %(delivery_status)s = 'delivered' then now() else delivered_at end,
    lease_until = null, updated_at = now()
where id = %(id)s;

-- name: report_release
-- Releases the lease of a report without other changes.
update public.analytics_reports set lease_until = null, updated_at = now() where id = %(id)s;

-- name: report_unfinished
-- Reports the scheduled run must pick up again: generation unfinished (lease expired) or delivery owed and due.
select organization_id, kind, period_start
from public.analytics_reports
where (lease_until is null or lease_until < now())
  and ((status in ('generating', 'failed') and generation_attempts < %(max_generation_attempts)s)
       or (status = 'stored' and (delivery_status = 'pending'
                                  or (delivery_status = 'failed' and next_attempt_at <= now()))))
order by period_start, organization_id, kind;

-- name: report_row
-- One report of one organization.
select id, organization_id, kind, period_start, period_end, timezone, status, files, summary,
       generation_attempts, generation_error, started_at, generated_at, generation_ms, delivery_status,
       deliveries, delivery_attempts, last_error, next_attempt_at, delivered_at, created_at
from public.analytics_reports
where organization_id = %(organization_id)s and id = %(id)s;

-- name: report_list
-- An organization's reports, newest period first, optionally of one kind and before a period start (paging).
select id, organization_id, kind, period_start, period_end, timezone, status, files, summary,
       generation_attempts, generation_error, started_at, generated_at, generation_ms, delivery_status,
       deliveries, delivery_attempts, last_error, next_attempt_at, delivered_at, created_at
from public.analytics_reports
where organization_id = %(organization_id)s
  and (%(kind)s::text is null or kind = %(kind)s::text)
  and (%(before)s::date is null or period_start < %(before)s::date)
order by period_start desc, kind
limit %(limit)s;

-- name: report_by_period
-- The report of one organization, kind and period start (its state), if any.
select id, status, delivery_status, delivery_attempts
from public.analytics_reports
where organization_id = %(organization_id)s and kind = %(kind)s and period_start = %(period_start)s;

-- name: report_first_data_all
-- When each organization's data begins: its earliest stored event (one index lookup per organization).
select o.id, (select min(e.occurred_at) from public.analytics_events e where e.organization_id = o.id) as first_at
from public.organizations o;
