-- Named queries run by the Python code. Each starts with a `-- name:` header and a one-line description.

-- name: create_organization
-- Creates an organization and returns its id.
insert into public.organizations (name, timezone, currency, home_currency, settings)
values (%(name)s, %(timezone)s, %(currency)s, %(home_currency)s, %(settings)s)
returning id;

-- name: get_organization
-- One organization by id.
select id, name, timezone, currency, settings, data_version, created_at
from public.organizations where id = %(id)s;

-- name: list_organizations
-- Every organization, oldest first (home_currency: the chosen one, else the default currency).
select id, name, timezone, currency, coalesce(home_currency, currency) as home_currency, settings, data_version, created_at
from public.organizations order by created_at, id;

-- name: set_home_currency
-- Sets an organization's home currency; returns its id (none when there is no such organization).
update public.organizations set home_currency = %(home_currency)s where id = %(id)s returning id;

-- name: organizations_by_id
-- The zone and currency of the given organizations.
select id, timezone, currency from public.organizations where id = any(%(ids)s::uuid[]);

-- name: create_api_key
-- Stores a new key by its hash; the key itself is never stored.
insert into public.api_keys (organization_id, name, prefix, key_hash, scopes)
values (%(organization_id)s, %(name)s, %(prefix)s, %(key_hash)s, %(scopes)s)
returning id;

-- name: find_api_key
-- The live key with this hash, with its organization's zone and currency.
select k.id, k.organization_id, k.scopes, o.timezone, o.currency
from public.api_keys k join public.organizations o on o.id = k.organization_id
where k.key_hash = %(key_hash)s and k.revoked_at is null;

-- name: touch_api_key
-- Records that a key was used (at most once per cache period, not per request).
update public.api_keys set last_used_at = now() where id = %(id)s;

-- name: revoke_api_key
-- Revokes a key by its visible prefix; returns the key id if one was live.
update public.api_keys set revoked_at = now()
where prefix = %(prefix)s and revoked_at is null
returning id;

-- name: list_api_keys
-- The keys of an organization, without their hashes.
select id, name, prefix, scopes, created_at, revoked_at, last_used_at
from public.api_keys where organization_id = %(organization_id)s order by created_at;

-- name: queue_send
-- Puts one message on a queue; returns its id.
select pgmq.send(%(queue)s, %(message)s::jsonb) as msg_id;

-- name: queue_send_batch
-- Puts several messages on a queue in one statement; returns their ids.
select msg_id from pgmq.send_batch(%(queue)s, %(messages)s::jsonb[]) as sent(msg_id);

-- name: queue_read
-- Reads up to qty messages, hiding them from other readers for vt seconds.
select msg_id, read_ct, enqueued_at, message from pgmq.read(%(queue)s, %(vt)s, %(qty)s);

-- name: queue_delete
-- Deletes processed messages; returns the ids that were deleted.
select msg_id from pgmq.delete(%(queue)s, %(ids)s::bigint[]) as deleted(msg_id);

-- name: queue_metrics
-- Depth and age of the oldest message of one queue.
select queue_name as queue, queue_length as length, oldest_msg_age_sec as oldest_age_seconds
from pgmq.metrics(%(queue)s);

-- name: known_event_ids
-- Which of these event ids an organization already has stored: one primary-key probe per id, whatever the
-- planner's statistics say (see queue_unless_known).
select k.event_id
from unnest(%(event_ids)s::text[]) as i(event_id)
cross join lateral (
  select k.event_id from public.analytics_event_keys k
  where k.organization_id = %(organization_id)s and k.event_id = i.event_id
  offset 0
) k;

-- name: queue_unless_known
-- Queues a message of events unless the organization already stores one of their ids; returns those ids (empty: sent).
-- Each id is probed on its own through the primary key: a lateral subquery that `offset 0` keeps from being
-- flattened into a join. Written as `organization_id = ... and event_id = any(...)` (or as a join with the unnested
-- ids), the planner, whenever the keys' statistics were stale (a table grown since its last analyze), read every
-- key of the organization through (organization_id, occurred_at): 71 ms instead of 0.9 ms at 300,000 keys, growing
-- with them, which made ingest fall behind in a sustained load.
with known as (
  select coalesce(array_agg(k.event_id), '{}') as ids
  from unnest(%(event_ids)s::text[]) as i(event_id)
  cross join lateral (
    select k.event_id from public.analytics_event_keys k
    where k.organization_id = %(organization_id)s and k.event_id = i.event_id
    offset 0
  ) k
)
-- CASE runs the send only when no id is known (its subquery is evaluated lazily, when the branch is taken).
select known.ids as known_ids,
       case when cardinality(known.ids) = 0 then (select pgmq.send(%(queue)s, %(message)s::jsonb)) end as msg_id
from known;

-- name: incoming_events_create
-- A staging table for one transaction's new events, filled by binary COPY (no JSON to build or to parse).
create temporary table if not exists analytics_incoming_events (
  organization_id uuid not null, event_id text not null, event_type text not null, schema_version smallint not null,
  occurred_at timestamptz not null, received_at timestamptz not null, source text not null, client_id text,
  booking_id text, amount_minor bigint, currency char(3), properties jsonb not null
) on commit drop;

-- name: incoming_events_copy
-- Binary COPY of new events into the staging table (column order: `validate.eventstore.COLUMNS`).
copy pg_temp.analytics_incoming_events (organization_id, event_id, event_type, schema_version, occurred_at,
  received_at, source, client_id, booking_id, amount_minor, currency, properties) from stdin (format binary);

-- name: incoming_events_store
-- Moves the staged events into the event store, each not seen before (keys claimed in key order so concurrent
-- writers never deadlock), leaving the staging table empty; returns what was stored, per organization and
-- source: the new ids and the span of their occurred_at (one row per group, not per event).
with input as (
  delete from pg_temp.analytics_incoming_events returning *
), claimed as (
  insert into public.analytics_event_keys (organization_id, event_id, occurred_at)
  select organization_id, event_id, occurred_at from input order by organization_id, event_id
  on conflict do nothing
  returning organization_id, event_id, id
), stored as (
  insert into public.analytics_events (id, organization_id, event_id, event_type, schema_version, occurred_at,
    received_at, source, client_id, booking_id, amount_minor, currency, properties)
  select c.id, i.organization_id, i.event_id, i.event_type, i.schema_version, i.occurred_at, i.received_at,
    i.source, i.client_id, i.booking_id, i.amount_minor, i.currency, i.properties
  from input i join claimed c using (organization_id, event_id)
  returning id, organization_id, occurred_at, source
)
select organization_id, source, array_agg(id) as ids, min(occurred_at) as occurred_from,
       max(occurred_at) as occurred_to
from stored
group by organization_id, source;

-- name: record_dead_letters
-- Keeps rejected payloads with every reason; a repeat of the same payload counts as another attempt, with the
-- new reasons. A replayed letter that is rejected again becomes 'failed' (replayable again after another fix).
insert into public.analytics_dead_letters
  (organization_id, source, stage, event_id, event_type, payload, reasons, fingerprint)
select organization_id, source, stage, event_id, event_type, payload, reasons, decode(fingerprint, 'hex')
from jsonb_to_recordset(%(rows)s::jsonb) as t(
  organization_id uuid, source text, stage text, event_id text, event_type text, payload jsonb,
  reasons jsonb, fingerprint text)
order by organization_id, source, stage, fingerprint
on conflict (organization_id, source, stage, fingerprint) do update
set attempts = analytics_dead_letters.attempts + 1,
    last_seen_at = now(),
    reasons = excluded.reasons,
    replay_state = case when analytics_dead_letters.replay_state = 'replayed'
                        then 'failed' else analytics_dead_letters.replay_state end;

-- name: bump_source_stats
-- Adds to the per-source, per-hour intake counters.
insert into public.analytics_source_stats
  (organization_id, source, bucket, received, stored, duplicates, rejected, ignored, refused)
select organization_id, source, bucket, received, stored, duplicates, rejected, ignored, refused
from jsonb_to_recordset(%(rows)s::jsonb) as t(
  organization_id uuid, source text, bucket timestamptz, received bigint, stored bigint, duplicates bigint,
  rejected bigint, ignored bigint, refused bigint)
order by organization_id, source, bucket
on conflict (organization_id, source, bucket) do update
set received = analytics_source_stats.received + excluded.received,
    stored = analytics_source_stats.stored + excluded.stored,
    duplicates = analytics_source_stats.duplicates + excluded.duplicates,
    rejected = analytics_source_stats.rejected + excluded.rejected,
    ignored = analytics_source_stats.ignored + excluded.ignored,
    refused = analytics_source_stats.refused + excluded.refused;

-- name: ensure_event_partitions
-- Creates the monthly event partitions from a month on; returns how many it created.
select public.analytics_ensure_event_partitions_v1(%(from)s::date, %(months)s) as created;

-- name: wal_insert_position
-- The primary's WAL insert position in bytes: every transaction committed before this call lies at or below it.
select (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint;

-- name: wal_replay_position
-- Whether this server is a standby, and the WAL position in bytes it has replayed (null on a primary).
select pg_is_in_recovery() as standby, (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint as replayed;
