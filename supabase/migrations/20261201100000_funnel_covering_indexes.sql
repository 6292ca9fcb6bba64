-- The funnel's reads become index-only scans. `booking_status` (bookings made in the window, per currency) and
-- `funnel_counts` (clients whose first inquiry was in the window, and their bookings) read one state row per
-- booking or client: 23,435 bookings for 90 days at 10M events, each on its own heap page. The indexes they
-- already use now carry the columns those reads need, so the rows come from the index pages (about 150 entries
-- a page) instead of one heap page each. Still one index entry per booking or client: exact, not bounded
-- (per-day counts would bound it; the exact median days-to-book would still need each booked client's value).
-- Cost: updates that change value_minor, currency, first_deposit_at or first_balance_at of a confirmed booking
-- are no longer HOT updates (confirmed_at, cancelled_at and client_id were indexed already).
create index analytics_bookings_booked_cover on public.analytics_bookings (organization_id, confirmed_at)
  include (currency, value_minor, cancelled_at)
  where confirmed_at is not null;
drop index public.analytics_bookings_booked;

create index analytics_bookings_client_cover on public.analytics_bookings (organization_id, client_id)
  include (confirmed_at, first_deposit_at, first_balance_at)
  where confirmed_at is not null;
drop index public.analytics_bookings_client;

create index analytics_clients_inquiry_cover on public.analytics_clients (organization_id, first_inquiry_at)
  include (client_id)
  where first_inquiry_at is not null;
drop index public.analytics_clients_inquiry;
