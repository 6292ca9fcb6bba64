-- name: demo_dead_letter_count
-- How many dead letters an organization has (the demo expects none of its own).
select count(*) from public.analytics_dead_letters where organization_id = %(organization_id)s;

-- name: demo_stored_event_count
-- How many events an organization has stored (a second run of the demo must not change it).
select count(*) from public.analytics_events where organization_id = %(organization_id)s;
