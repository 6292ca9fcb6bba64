-- The raw-event export (GET /v1/export/events, `wedsync-analytics export events`). Runs as role
-- `authenticated` with the caller's claims, so row-level security keeps it to the caller's organization.

-- name: export_events_csv
-- The organization's stored events of [start, end) as CSV with a header, oldest first; instants in UTC (ISO 8601).
copy (
  select e.id, e.event_id, e.event_type, e.schema_version,
         to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
         to_char(e.received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as received_at,
         to_char(e.stored_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as stored_at,
         e.source, e.client_id, e.booking_id, e.amount_minor, e.currency, e.properties
  from public.analytics_events e
  where e.organization_id = %(organization_id)s and e.occurred_at >= %(start)s and e.occurred_at < %(end)s
  order by e.occurred_at, e.id
) to stdout with (format csv, header true);

-- name: export_events_rows
-- The same events as rows, for a server-side cursor (the Parquet export).
select e.id, e.event_id, e.event_type, e.schema_version, e.occurred_at, e.received_at, e.stored_at,
       e.source, e.client_id, e.booking_id, e.amount_minor, e.currency::text as currency, e.properties::text as properties
from public.analytics_events e
where e.organization_id = %(organization_id)s and e.occurred_at >= %(start)s and e.occurred_at < %(end)s
order by e.occurred_at, e.id;
