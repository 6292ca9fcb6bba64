-- Named queries of the aggregate stage and of recovery (reconcile, rebuild).

-- name: aggregate_events
-- Adds stored events to the rollups, bumps data_version and publishes notices; one row per organization.
select organization_id, events, data_version, views_pending
from public.analytics_aggregate_events_v1(%(ids)s::bigint[], %(from)s::timestamptz, %(to)s::timestamptz);

-- name: reconcile_rollups
-- Every difference between the rollups of a window and a recomputation from the raw events.
select kind, metric, bucket, dim1, dim2, currency, expected_events, actual_events, expected_amount_minor,
       actual_amount_minor, expected_value_sum, actual_value_sum, expected_value_count, actual_value_count
from public.analytics_reconcile_v1(%(organization_id)s, %(from)s, %(to)s, %(queue)s)
order by kind, metric, bucket, dim1, dim2, currency;

-- name: rebuild_rollups
-- Rebuilds the rollups of a window from the raw events.
select rows_deleted, rows_written, clients_written, data_version
from public.analytics_rebuild_v1(%(organization_id)s, %(from)s, %(to)s, %(queue)s);

-- name: state_add
-- Adds stored events to the per-booking, money and client state (after aggregate_events, same transaction).
select public.analytics_state_add_v1(null, %(ids)s::bigint[], %(from)s::timestamptz, %(to)s::timestamptz);

-- name: rebuild_state
-- Recomputes one organization's booking, money and client state from its processed events.
select public.analytics_rebuild_state_v1(%(organization_id)s, %(queue)s);

-- name: forget_client_state
-- Removes erased clients' first-seen rows and their names on bookings (a state rebuild keeps rows older than every
-- stored event as history).
with unnamed as (
  update public.analytics_bookings set client_id = null
  where organization_id = %(organization_id)s and client_id = any(%(client_ids)s::text[])
)
delete from public.analytics_clients
where organization_id = %(organization_id)s and client_id = any(%(client_ids)s::text[]);
