-- Named queries of data quality monitoring, alerting, dead-letter replay, retention and erasure.

-- name: quality_run_lock
-- Takes the monitor's lock for this transaction if free (true), so overlapping cron runs skip instead of racing.
select pg_try_advisory_xact_lock(hashtext('analytics_quality_run')) as locked;

-- name: quality_organizations
-- Organizations to check with their time zone (one, or all when id is null).
select id, timezone from public.organizations
where %(id)s::uuid is null or id = %(id)s::uuid
order by created_at, id;

-- name: quality_active_hours
-- Per organization and source, the hours in which events were stored (oldest first, as epoch seconds: the check
-- only takes their differences, and 10,000 organizations' hours parse far faster as floats than as timestamps)
-- and the newest stored_at: looked for among the events of the newest active hour that occurred at most a day
-- before it (so the probe touches one or two partitions), else that hour's start (an hour of backfilled events
-- only).
with active as (
  select organization_id, source, array_agg(date_part('epoch', bucket) order by bucket) as hours,
         max(bucket) as last_hour
  from public.analytics_source_stats
  where organization_id = any(%(organizations)s::uuid[]) and bucket >= %(since)s and stored > 0
  group by organization_id, source
)
select a.organization_id, a.source, a.hours, coalesce(n.newest, a.last_hour) as newest
from active a
cross join lateral (
  select max(e.stored_at) as newest from public.analytics_events e
  where e.organization_id = a.organization_id and e.source = a.source
    and e.occurred_at >= a.last_hour - interval '1 day' and e.occurred_at < a.last_hour + interval '2 hours'
    and e.stored_at >= a.last_hour
) n
order by a.organization_id, a.source;

-- name: quality_volume_windows
-- Events per organization, window, source and type; each organization has the windows of its time zone (one
-- hour from each start, numbered by their position).
with w as (
  select * from unnest(%(zones)s::text[], %(ks)s::int[], %(starts)s::timestamptz[]) as w(timezone, k, start)
), o as (
  select * from unnest(%(organizations)s::uuid[], %(org_zones)s::text[]) as o(id, timezone)
)
-- The lateral makes each count one index range probe of (organization, hour) in one partition.
select o.id as organization_id, w.k, c.source, c.event_type, c.n
from o
join w on w.timezone = o.timezone
cross join lateral (
  select e.source, e.event_type, count(*) as n
  from public.analytics_events e
  where e.organization_id = o.id and e.occurred_at >= w.start and e.occurred_at < w.start + interval '1 hour'
  group by 1, 2
) c;

-- name: quality_source_outcomes
-- Per organization and source, how many events were stored, were duplicates or were rejected since a moment.
select organization_id, source, sum(stored) as stored, sum(duplicates) as duplicates, sum(rejected) as rejected
from public.analytics_source_stats
where organization_id = any(%(organizations)s::uuid[]) and bucket >= %(since)s
group by organization_id, source
order by organization_id, source;

-- name: quality_top_reasons
-- Per organization and source, the dead-letter reasons seen since a moment, most frequent first.
select d.organization_id, d.source, r ->> 'type' as reason_type, r -> 'loc' as loc, sum(d.attempts) as n
from public.analytics_dead_letters d, jsonb_array_elements(d.reasons) r
where d.organization_id = any(%(organizations)s::uuid[]) and d.last_seen_at >= %(since)s
group by 1, 2, 3, 4
order by 1, 2, 5 desc, 3;

-- name: quality_queue_names
-- Every pgmq queue.
select queue_name from pgmq.list_queues() order by queue_name;

-- name: quality_queue_over_retry
-- Messages of one queue table read more often than the retry limit ({table} is composed by the caller).
select count(*) from {table} where read_ct > %(max_reads)s;

-- name: quality_reconcile_candidates
-- The organizations with something to reconcile in a window: events stored or rollups written in it.
select o.id from unnest(%(organizations)s::uuid[]) as o(id)
where exists (select 1 from public.analytics_source_stats s
              where s.organization_id = o.id and s.bucket >= %(from)s::timestamptz - interval '1 hour' and s.stored > 0)
   or exists (select 1 from public.analytics_rollups r where r.organization_id = o.id and r.bucket >= %(from)s);

-- name: quality_reconcile_latest
-- The latest stored reconciliation result of each of the organizations.
select organization_id, check_name as "check", subject, status, value, threshold, unit, message, detail, checked_at
from public.analytics_quality_latest
where check_name = 'reconciliation' and organization_id = any(%(organizations)s::uuid[]);

-- name: quality_reconcile
-- Mismatches between rollups and raw events for some organizations and a window (the aggregation stage's
-- function, through one lateral call per organization).
select o.id as organization_id, to_jsonb(r) as mismatch
from unnest(%(organizations)s::uuid[]) as o(id)
cross join lateral public.analytics_reconcile_v1(o.id, %(from)s, %(to)s) r;

-- name: quality_catalogue_update
-- Adds the fields and event types the catalog refused (from recent dead letters) to the schema-drift catalogue.
insert into public.analytics_schema_catalog (organization_id, source, kind, name, first_seen_at, last_seen_at)
select d.organization_id, d.source,
       case when r ->> 'type' = 'union_tag_invalid' then 'event_type' else 'field' end,
       case when r ->> 'type' = 'union_tag_invalid'
            then coalesce(d.event_type, d.payload ->> 'type', '?')
            else (select string_agg(x, '.') from jsonb_array_elements_text(r -> 'loc') x) end,
       min(d.first_seen_at), max(d.last_seen_at)
from public.analytics_dead_letters d, jsonb_array_elements(d.reasons) r
where d.organization_id = any(%(organizations)s::uuid[]) and d.last_seen_at >= %(since)s
  and r ->> 'type' in ('extra_forbidden', 'union_tag_invalid')
group by 1, 2, 3, 4
order by 1, 2, 3, 4
on conflict (organization_id, source, kind, name) do update
set first_seen_at = least(analytics_schema_catalog.first_seen_at, excluded.first_seen_at),
    last_seen_at = greatest(analytics_schema_catalog.last_seen_at, excluded.last_seen_at);

-- name: quality_catalogue_new
-- Catalogue entries of the organizations first seen since a moment.
select organization_id, source, kind, name, first_seen_at, last_seen_at
from public.analytics_schema_catalog
where organization_id = any(%(organizations)s::uuid[]) and first_seen_at >= %(since)s
order by organization_id, first_seen_at, source, kind, name;

-- name: quality_partitions
-- The monthly partitions of analytics_events and their ranges.
select name, range_from, range_to from public.analytics_event_partitions_v1();

-- name: quality_table_sizes
-- Data and index bytes per table of the public and pgmq schemas (a partitioned table counts its partitions).
select n.nspname || '.' || coalesce(p.relname, c.relname) as table_name, sum(pg_table_size(c.oid)) as data_bytes,
       sum(pg_indexes_size(c.oid)) as index_bytes
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_inherits i on i.inhrelid = c.oid
left join pg_class p on p.oid = i.inhparent
where n.nspname in ('public', 'pgmq') and c.relkind = 'r'
group by 1
order by 1;

-- name: quality_queue_dead_tuples
-- Dead and live tuples and the last vacuum of every queue table.
select relname, n_dead_tup, n_live_tup, greatest(last_vacuum, last_autovacuum) as last_vacuum
from pg_stat_user_tables
where schemaname = 'pgmq'
order by relname;

-- name: quality_store_result
-- Upserts the latest result per organization, check and subject, and appends to the history the results whose
-- status changed, that fail, or whose subject was last written to the history more than a sampling interval ago.
with input as (
  select * from jsonb_to_recordset(%(rows)s::jsonb) as t(
    run_id uuid, organization_id uuid, check_name text, subject text, status text, value double precision,
    threshold double precision, unit text, message text, detail jsonb, checked_at timestamptz)
), history as (
  insert into public.analytics_quality_checks
    (run_id, organization_id, check_name, subject, status, value, threshold, unit, message, detail, checked_at)
  select i.run_id, i.organization_id, i.check_name, i.subject, i.status, i.value, i.threshold, i.unit, i.message,
         i.detail, i.checked_at
  from input i
  left join public.analytics_quality_latest l using (organization_id, check_name, subject)
  where l.status is null or l.status <> i.status or i.status = 'fail' or l.history_at is null
     or l.history_at <= i.checked_at - make_interval(mins => %(sample_minutes)s)
  returning organization_id, check_name, subject
)
insert into public.analytics_quality_latest as l
  (organization_id, check_name, subject, run_id, status, value, threshold, unit, message, detail, checked_at,
   status_since, history_at)
select i.organization_id, i.check_name, i.subject, i.run_id, i.status, i.value, i.threshold, i.unit, i.message,
       i.detail, i.checked_at, i.checked_at,
       case when exists (select 1 from history h where h.organization_id = i.organization_id
                         and h.check_name = i.check_name and h.subject = i.subject) then i.checked_at end
from input i
order by i.organization_id, i.check_name, i.subject
on conflict (organization_id, check_name, subject) do update
set run_id = excluded.run_id, status = excluded.status, value = excluded.value, threshold = excluded.threshold,
    unit = excluded.unit, message = excluded.message, detail = excluded.detail, checked_at = excluded.checked_at,
    status_since = case when l.status = excluded.status then l.status_since else excluded.checked_at end,
    history_at = coalesce(excluded.history_at, l.history_at);

-- name: quality_forget_unmeasured
-- Removes latest results of the covered organizations that this run no longer measured.
delete from public.analytics_quality_latest
where organization_id = any(%(organizations)s::uuid[]) and run_id <> %(run_id)s;

-- name: quality_prune_history
-- Deletes check results older than a moment.
delete from public.analytics_quality_checks where checked_at < %(before)s;

-- name: quality_latest_results
-- The latest result of every check of the given organizations (the nil UUID for global checks).
select organization_id, check_name as "check", subject, status, value, threshold, unit, message, detail,
       checked_at, status_since
from public.analytics_quality_latest
where organization_id = any(%(organizations)s::uuid[])
order by organization_id = '00000000-0000-0000-0000-000000000000'::uuid, check_name, subject;

-- name: incidents_open
-- The open incidents of the given organizations, locked for this run.
select id, organization_id, check_name, subject, opened_notified_at
from public.analytics_quality_incidents
where resolved_at is null and organization_id = any(%(organizations)s::uuid[])
for update;

-- name: incidents_open_many
-- Opens an incident for each failing check given (as parallel arrays, in order; no-op for one already open):
-- one statement for a run's failures instead of one per failure. Returns the ids created.
insert into public.analytics_quality_incidents
  (organization_id, check_name, subject, last_status, last_value, threshold, message, opened_at, last_checked_at)
select n.organization_id, n.check_name, n.subject, n.status, n.value, n.threshold, n.message, %(now)s, %(now)s
from unnest(%(organization_ids)s::uuid[], %(check_names)s::text[], %(subjects)s::text[], %(statuses)s::text[],
            %(values)s::double precision[], %(thresholds)s::double precision[], %(messages)s::text[])
       with ordinality as n(organization_id, check_name, subject, status, value, threshold, message, ord)
order by n.ord
on conflict (organization_id, check_name, subject) where resolved_at is null do nothing
returning id;

-- name: incidents_update_many
-- Records the latest measurement of open incidents (parallel arrays by incident id), in one statement.
update public.analytics_quality_incidents i
set last_status = u.status, last_value = u.value, threshold = u.threshold, message = u.message,
    last_checked_at = %(now)s
from unnest(%(ids)s::bigint[], %(statuses)s::text[], %(values)s::double precision[],
            %(thresholds)s::double precision[], %(messages)s::text[]) as u(id, status, value, threshold, message)
where i.id = u.id;

-- name: incidents_resolve_many
-- Resolves open incidents (parallel arrays by incident id) with their latest measurement, in one statement.
update public.analytics_quality_incidents i
set resolved_at = %(now)s, last_status = r.status, last_value = r.value, message = r.message,
    last_checked_at = %(now)s
from unnest(%(ids)s::bigint[], %(statuses)s::text[], %(values)s::double precision[], %(messages)s::text[])
       as r(id, status, value, message)
where i.id = r.id and i.resolved_at is null;

-- name: incidents_to_notify
-- Incidents whose opening or resolution has not been notified yet, oldest first, locked against a parallel run.
select id, organization_id, check_name, subject, opened_at, resolved_at, last_status, last_value, threshold,
       message, opened_notified_at, resolved_notified_at, deliveries
from public.analytics_quality_incidents
where opened_notified_at is null or (resolved_at is not null and resolved_notified_at is null)
order by id
for update skip locked;

-- name: incident_to_notify
-- One incident whose opening or resolution has not been notified yet, locked (none when another worker has it).
select id, organization_id, check_name, subject, opened_at, resolved_at, last_status, last_value, threshold,
       message, opened_notified_at, resolved_notified_at, deliveries
from public.analytics_quality_incidents
where id = %(id)s and (opened_notified_at is null or (resolved_at is not null and resolved_notified_at is null))
for update skip locked;

-- name: alerts_queue_due
-- Queues one `alerts` message per incident still to notify unless one waits; returns how many.
select public.analytics_queue_alerts_v1(%(queue)s) as queued;

-- name: incident_notified
-- Records the channels delivered for an incident's opening or resolution, and whether all of them were.
update public.analytics_quality_incidents
set deliveries = deliveries || %(deliveries)s::jsonb,
    opened_notified_at = case when %(what)s = 'opened' and %(complete)s then %(now)s else opened_notified_at end,
    resolved_notified_at = case when %(what)s = 'resolved' and %(complete)s then %(now)s
                                else resolved_notified_at end,
    notify_attempts = notify_attempts + 1,
    notify_error = %(error)s
where id = %(id)s;

-- name: dead_letters_filtered
-- Dead letters matching optional filters (organization, ids, source, stage, reason type, state, time range).
select id, organization_id, source, stage, event_id, event_type, payload, reasons, first_seen_at, last_seen_at,
       attempts, replay_state, replayed_at
from public.analytics_dead_letters d
where (%(organization_id)s::uuid is null or d.organization_id = %(organization_id)s::uuid)
  and (%(ids)s::bigint[] is null or d.id = any(%(ids)s::bigint[]))
  and (%(source)s::text is null or d.source = %(source)s::text)
  and (%(stage)s::text is null or d.stage = %(stage)s::text)
  and (%(states)s::text[] is null or d.replay_state = any(%(states)s::text[]))
  and (%(reason)s::text is null or exists (
        select 1 from jsonb_array_elements(d.reasons) r where r ->> 'type' = %(reason)s::text))
  and (%(since)s::timestamptz is null or d.last_seen_at >= %(since)s::timestamptz)
  and (%(until)s::timestamptz is null or d.last_seen_at < %(until)s::timestamptz)
order by d.last_seen_at desc, d.id desc
limit %(limit)s;

-- name: dead_letters_for_replay
-- Locks replayable dead letters (by id) in id order; letters another replay holds are skipped, not waited for.
select id, organization_id, source, stage, payload, fingerprint
from public.analytics_dead_letters
where id = any(%(ids)s::bigint[])
  and replay_state in ('pending', 'failed')
order by id
for update skip locked;

-- name: dead_letters_mark_replayed
-- Marks letters replayed. An ingest-stage letter moves to the validate stage (where its next rejection would
-- be recorded) unless a validate-stage twin with the same fingerprint exists; returns the ids marked.
update public.analytics_dead_letters d
set replay_state = 'replayed', replayed_at = now(),
    stage = case when d.stage = 'ingest' and not exists (
                   select 1 from public.analytics_dead_letters t
                   where t.organization_id = d.organization_id and t.source = d.source and t.stage = 'validate'
                     and t.fingerprint = d.fingerprint)
                 then 'validate' else d.stage end
where d.id = any(%(ids)s::bigint[])
returning d.id;

-- name: retention_cutoffs
-- Every organization's retention in days (null when unset or not a positive whole number).
select id, case when jsonb_typeof(settings -> 'retention_days') = 'number'
                 and (settings ->> 'retention_days')::numeric >= 1
                 and (settings ->> 'retention_days')::numeric = trunc((settings ->> 'retention_days')::numeric)
            then (settings ->> 'retention_days')::numeric::integer end as days
from public.organizations
order by id;

-- name: retention_partition_manager
-- Who makes analytics_events's partitions: 'pg_partman' or 'own'.
select public.analytics_partition_manager_v1() as manager;

-- name: retention_partition_maintenance
-- Partition maintenance (pg_partman's run_maintenance where it manages the table): a year ahead of the month.
select public.analytics_ensure_event_partitions_v1(%(from)s::date, 13) as created;

-- name: retention_drop_partition
-- Drops one monthly partition entirely older than the cutoff; returns the rows it held.
select public.analytics_drop_event_partition_v1(%(name)s, %(before)s, %(lock_timeout_ms)s) as rows_dropped;

-- name: retention_orphan_organizations
-- Organizations with raw events older than a moment that no longer exist (their events expire by default).
select distinct e.organization_id from public.analytics_events e
where e.occurred_at < %(before)s
  and not exists (select 1 from public.organizations o where o.id = e.organization_id);

-- name: retention_delete_batch
-- Deletes up to `batch` raw events of one organization that occurred before the cutoff; returns how many.
with doomed as (
  select id, occurred_at from public.analytics_events
  where organization_id = %(organization_id)s and occurred_at < %(before)s
  limit %(batch)s
), gone as (
  delete from public.analytics_events e using doomed d
  where e.id = d.id and e.occurred_at = d.occurred_at and e.organization_id = %(organization_id)s
  returning 1
)
select count(*) as deleted from gone;

-- name: erasure_lock_queued
-- An organization's ingest-queue messages, locked (waits for a validate batch holding them, so nothing it
-- stores can slip past the erasure). {table} is composed by the caller.
select msg_id, message from {table}
where message ->> 'organization_id' = %(organization_id)s::text
order by msg_id
for update;

-- name: erasure_queue_delete
-- Deletes one message from a queue table ({table} composed by the caller).
delete from {table} where msg_id = %(msg_id)s;

-- name: erasure_client_pseudonyms
-- The pseudonyms (pii:...) that appear in the client's stored events: the client's emails and phone numbers.
select distinct v #>> '{}' as pseudonym
from public.analytics_events e, jsonb_path_query(e.properties, 'strict $.**') v
where e.organization_id = %(organization_id)s and e.client_id = %(client_id)s
  and jsonb_typeof(v) = 'string' and (v #>> '{}') ~ '^pii:[0-9a-f]{32}$';

-- name: erasure_delete_events
-- Deletes the client's events and any event holding the client id or one of its pseudonyms as a value.
delete from public.analytics_events e
where e.organization_id = %(organization_id)s
  and (e.client_id = %(client_id)s
       or exists (select 1 from jsonb_path_query(e.properties, 'strict $.**') v
                  where jsonb_typeof(v) = 'string'
                    and ((v #>> '{}') = %(client_id)s or (v #>> '{}') = any(%(pseudonyms)s::text[]))))
returning e.event_id, e.occurred_at;

-- name: erasure_delete_keys
-- Deletes the idempotency keys of erased events.
delete from public.analytics_event_keys
where organization_id = %(organization_id)s and event_id = any(%(event_ids)s::text[]);

-- name: erasure_delete_dead_letters
-- Deletes dead letters whose payload holds the client id or one of its pseudonyms as any value.
delete from public.analytics_dead_letters d
where d.organization_id = %(organization_id)s
  and exists (select 1 from jsonb_path_query(d.payload, 'strict $.**') v
              where jsonb_typeof(v) = 'string'
                and ((v #>> '{}') = %(client_id)s or (v #>> '{}') = any(%(pseudonyms)s::text[])))
returning d.id;

-- name: erasure_audit
-- Records an erasure without personal data.
insert into public.analytics_erasure_audit (organization_id, subject_hash, counts, rollup_windows, requested_at)
values (%(organization_id)s, %(subject_hash)s, %(counts)s, %(rollup_windows)s, %(requested_at)s)
returning id;

-- name: rollup_rebuild_request
-- Records windows whose rollups must be recomputed from raw events; returns their ids.
insert into public.analytics_rollup_rebuilds (organization_id, occurred_from, occurred_to, reason, events_removed)
select %(organization_id)s, f, t, %(reason)s, n
from unnest(%(froms)s::timestamptz[], %(tos)s::timestamptz[], %(counts)s::bigint[]) as w(f, t, n)
returning id;

-- name: rollup_rebuild_run
-- Recomputes the rollups of one organization over one window from the raw events (the aggregation stage).
select * from public.analytics_rebuild_v1(%(organization_id)s, %(from)s, %(to)s);

-- name: rollup_rebuild_done
-- Marks rebuild requests done.
update public.analytics_rollup_rebuilds set done_at = now() where id = any(%(ids)s::bigint[]);


-- name: retention_key_organizations
-- Every organization that holds idempotency keys (a loose index scan of the primary key).
with recursive o as (
  (select organization_id as id from public.analytics_event_keys order by organization_id limit 1)
  union all
  select (select k.organization_id from public.analytics_event_keys k where k.organization_id > o.id
          order by k.organization_id limit 1)
  from o where o.id is not null
)
select id from o where id is not null;

-- name: retention_prune_keys
-- Deletes up to `batch` idempotency keys of one organization whose event occurred before its retention cutoff
-- and that were stored before the re-send window; returns how many.
with doomed as (
  select organization_id, event_id from public.analytics_event_keys
  where organization_id = %(organization_id)s and occurred_at < %(before)s and stored_at < %(stored_before)s
  limit %(batch)s
), gone as (
  delete from public.analytics_event_keys k using doomed d
  where k.organization_id = d.organization_id and k.event_id = d.event_id
  returning 1
)
select count(*) as deleted from gone;

-- name: retention_delete_dead_letters
-- Deletes up to `batch` dead letters in the given replay states last seen before a moment; returns how many.
with doomed as (
  select id from public.analytics_dead_letters
  where last_seen_at < %(before)s and replay_state = any(%(states)s::text[])
  limit %(batch)s
), gone as (
  delete from public.analytics_dead_letters d using doomed x where d.id = x.id returning 1
)
select count(*) as deleted from gone;

-- name: retention_delete_source_stats
-- Deletes up to `batch` hourly intake counters older than a moment; returns how many.
with doomed as (
  select organization_id, source, bucket from public.analytics_source_stats
  where bucket < %(before)s
  limit %(batch)s
), gone as (
  delete from public.analytics_source_stats s using doomed d
  where s.organization_id = d.organization_id and s.source = d.source and s.bucket = d.bucket
  returning 1
)
select count(*) as deleted from gone;

-- name: retention_has_cron_history
-- Whether pg_cron's run history exists here (true on Supabase; absent on a plain PostgreSQL).
select to_regclass('cron.job_run_details') is not null;

-- name: retention_purge_cron_history
-- Deletes up to `batch` pg_cron run records that ended before a moment; returns how many.
with doomed as (
  select runid from cron.job_run_details
  where coalesce(end_time, start_time) < %(before)s
  limit %(batch)s
), gone as (
  delete from cron.job_run_details j using doomed d where j.runid = d.runid returning 1
)
select count(*) as deleted from gone;
