-- The refresh stage's queries: the debounced change log of the materialized views and their refresh.

-- name: request_refresh_if_idle
-- Queues one delayed refresh request unless one is already waiting (the debounce of view refreshes).
select pgmq.send(%(queue)s, '{"reason": "inputs changed"}'::jsonb, %(delay)s)
from pgmq.metrics(%(queue)s) m
where m.queue_length = 0;

-- name: claim_view_changes
-- Takes the committed view-input changes (rows committed later stay for the next refresh); returns the orgs.
with claimed as (delete from public.analytics_view_changes returning organization_id, changed_at)
select organization_id, min(changed_at) as changed_at from claimed group by organization_id order by organization_id;

-- name: view_refresh_state
-- The oldest unrefreshed change and the last refresh of any view.
select (select min(changed_at) from public.analytics_view_changes) as oldest_change,
       (select min(last) from (select max(refreshed_at) as last from public.analytics_view_refreshes
                               group by view_name) v) as last_refresh;

-- name: record_view_refresh
-- Logs a finished refresh of one view for the organizations that changed and every organization already logged.
insert into public.analytics_view_refreshes as r (organization_id, view_name, refreshed_at, refresh_ms)
select o, %(view)s, %(started)s, %(ms)s from unnest(%(orgs)s::uuid[]) o
union
select organization_id, %(view)s, %(started)s, %(ms)s from public.analytics_view_refreshes where view_name = %(view)s
order by 1
on conflict on constraint analytics_view_refreshes_pkey do update
set refreshed_at = excluded.refreshed_at, refresh_ms = excluded.refresh_ms;

-- name: materialized_views
-- The analytics materialized views in refresh (dependency) order.
select unnest(public.analytics_materialized_views_v1()) as view_name;

-- name: try_refresh_lock
-- One refresher at a time; returns false when another one is running.
select pg_try_advisory_xact_lock(hashtextextended('analytics_view_refresher', 0)) as locked;

-- name: note_views_refreshed
-- After a refresh: bumps data_version and publishes a 'views' notice for the organizations whose views changed.
select organization_id, data_version
from public.analytics_note_changes_v1(%(orgs)s::uuid[], '{}'::uuid[], 'views', null, null, '{}'::jsonb);
