-- The overview's bookings.cancelled reads the confirmed bookings cancelled in its window. Without an index on
-- the cancellation time the planner took every confirmed booking of the organization (through the wedding-date
-- index) and filtered: 3,125 rows at 1M events for a 30-day window holding none, 31,250 at 10M. Partial: only
-- cancelled bookings are indexed, and an update that does not change cancelled_at stays a HOT update.
create index analytics_bookings_cancelled on public.analytics_bookings (organization_id, cancelled_at)
  where cancelled_at is not null and confirmed_at is not null;
