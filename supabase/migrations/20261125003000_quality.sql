-- Data quality monitoring and recovery: check results with history, alert incidents, the schema-drift
-- catalogue, rollup-correction requests, the erasure audit, and the SQL helpers retention and erasure use.
-- Checks that are not about one organization (queue health, storage) are stored under the nil UUID
-- ('00000000-0000-0000-0000-000000000000'), the same convention as dead letters of unknown organizations;
-- no organization has that id, so RLS never shows global rows to a tenant.

create table public.analytics_quality_checks (
  id              bigint generated always as identity primary key,
  run_id          uuid not null,
  organization_id uuid not null,
  check_name      text not null,
  subject         text not null default '',
  status          text not null check (status in ('pass', 'warn', 'fail')),
  value           double precision,
  threshold       double precision,
  unit            text not null default '',
  message         text not null default '',
  detail          jsonb not null default '{}'::jsonb,
  checked_at      timestamptz not null default now()
);

create index analytics_quality_checks_org_time_idx
  on public.analytics_quality_checks (organization_id, checked_at desc);
create index analytics_quality_checks_run_idx on public.analytics_quality_checks (run_id);

alter table public.analytics_quality_checks enable row level security;
create policy analytics_quality_checks_own on public.analytics_quality_checks
  for select to authenticated using (organization_id = public.analytics_request_org());

-- The latest result of every (organization, check, subject): what the dashboard shows. Rows of subjects a
-- run no longer measures are removed by that run. The history table above gets a row only when a status
-- changes, for every failing result, and otherwise once per sampling interval, so it stays small.
create table public.analytics_quality_latest (
  organization_id uuid not null,
  check_name      text not null,
  subject         text not null default '',
  run_id          uuid not null,
  status          text not null check (status in ('pass', 'warn', 'fail')),
  value           double precision,
  threshold       double precision,
  unit            text not null default '',
  message         text not null default '',
  detail          jsonb not null default '{}'::jsonb,
  checked_at      timestamptz not null,
  status_since    timestamptz not null,
  history_at      timestamptz,
  primary key (organization_id, check_name, subject)
);

alter table public.analytics_quality_latest enable row level security;
create policy analytics_quality_latest_own on public.analytics_quality_latest
  for select to authenticated using (organization_id = public.analytics_request_org());

-- One row per incident: opened when a check starts failing, resolved when it stops. Notifications are sent
-- after the state change commits and are retried on the next run until recorded as sent (at least once,
-- and the incident id lets a receiver drop a repeat).
create table public.analytics_quality_incidents (
  id                   bigint generated always as identity primary key,
  organization_id      uuid not null,
  check_name           text not null,
  subject              text not null default '',
  opened_at            timestamptz not null default now(),
  resolved_at          timestamptz,
  last_status          text not null check (last_status in ('pass', 'warn', 'fail')),
  last_value           double precision,
  threshold            double precision,
  message              text not null default '',
  last_checked_at      timestamptz not null default now(),
  opened_notified_at   timestamptz,
  resolved_notified_at timestamptz,
  -- Per notification and channel ("opened:webhook", "resolved:email") when it was delivered, so a retry
  -- after one channel failed never repeats a channel that already succeeded.
  deliveries           jsonb not null default '{}'::jsonb,
  notify_attempts      integer not null default 0,
  notify_error         text
);

create unique index analytics_quality_incidents_open_idx
  on public.analytics_quality_incidents (organization_id, check_name, subject) where resolved_at is null;
create index analytics_quality_incidents_unnotified_idx
  on public.analytics_quality_incidents (organization_id)
  where opened_notified_at is null or (resolved_at is not null and resolved_notified_at is null);

alter table public.analytics_quality_incidents enable row level security;
create policy analytics_quality_incidents_own on public.analytics_quality_incidents
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Per organization and source: every field and event type a provider sent that the catalog refused
-- (dead-letter reasons extra_forbidden and union_tag_invalid). Names only, never values.
create table public.analytics_schema_catalog (
  organization_id uuid not null,
  source          text not null,
  kind            text not null check (kind in ('field', 'event_type')),
  name            text not null,
  first_seen_at   timestamptz not null,
  last_seen_at    timestamptz not null,
  primary key (organization_id, source, kind, name)
);

alter table public.analytics_schema_catalog enable row level security;
create policy analytics_schema_catalog_own on public.analytics_schema_catalog
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Windows of raw events whose rollups must be recomputed because raw events were removed (erasure).
-- The aggregation stage consumes these (see docs/quality.md, "Rollup correction hook").
create table public.analytics_rollup_rebuilds (
  id              bigint generated always as identity primary key,
  organization_id uuid not null,
  occurred_from   timestamptz not null,
  occurred_to     timestamptz not null check (occurred_to > occurred_from),
  reason          text not null,
  events_removed  bigint not null default 0,
  requested_at    timestamptz not null default now(),
  done_at         timestamptz
);

create index analytics_rollup_rebuilds_pending_idx on public.analytics_rollup_rebuilds (organization_id)
  where done_at is null;

alter table public.analytics_rollup_rebuilds enable row level security;
create policy analytics_rollup_rebuilds_own on public.analytics_rollup_rebuilds
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Proof that an erasure happened, holding no personal data: a keyed hash of the client id and counts.
create table public.analytics_erasure_audit (
  id              bigint generated always as identity primary key,
  organization_id uuid not null,
  subject_hash    text not null,
  counts          jsonb not null,
  rollup_windows  integer not null default 0,
  requested_at    timestamptz not null,
  completed_at    timestamptz not null default now()
);

create index analytics_erasure_audit_org_idx on public.analytics_erasure_audit (organization_id, completed_at);

alter table public.analytics_erasure_audit enable row level security;
create policy analytics_erasure_audit_own on public.analytics_erasure_audit
  for select to authenticated using (organization_id = public.analytics_request_org());

grant select on public.analytics_quality_checks, public.analytics_quality_latest, public.analytics_quality_incidents,
  public.analytics_schema_catalog, public.analytics_rollup_rebuilds, public.analytics_erasure_audit
  to authenticated;

-- Freshness reads the newest stored event per organization and source; this keeps that an index probe
-- per partition instead of a scan of the organization's history.
create index analytics_events_org_source_stored_idx
  on public.analytics_events (organization_id, source, stored_at);

-- The monthly partitions of analytics_events with their bounds (the default partition excluded).
create or replace function public.analytics_event_partitions_v1()
returns table (name text, range_from timestamptz, range_to timestamptz)
language sql
stable
as $$
  select c.relname::text,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
  from pg_inherits i
  join pg_class c on c.oid = i.inhrelid
  where i.inhparent = 'public.analytics_events'::regclass
    and pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
  order by 2
$$;

-- Drops one monthly partition of analytics_events whose whole range lies before p_before (the oldest cutoff
-- any organization's retention allows). Refuses anything else, so a caller's mistake cannot drop live data.
-- Returns the number of rows the partition held.
create or replace function public.analytics_drop_event_partition_v1(p_name text, p_before timestamptz,
                                                                    p_lock_timeout_ms integer default 5000)
returns bigint
language plpgsql
as $$
declare
  v_to   timestamptz;
  v_rows bigint;
begin
  select p.range_to into v_to from public.analytics_event_partitions_v1() p where p.name = p_name;
  if v_to is null then
    raise exception 'analytics_events has no monthly partition named %', p_name;
  end if;
  if v_to > p_before then
    raise exception 'partition % ends at %, after the retention cutoff %', p_name, v_to, p_before;
  end if;
  -- Detaching locks the whole table; give up (and let the caller delete rows instead) rather than queue
  -- every reader and writer behind a long-running query.
  perform set_config('lock_timeout', p_lock_timeout_ms::text, true);
  execute format('select count(*) from public.%I', p_name) into v_rows;
  execute format('alter table public.analytics_events detach partition public.%I', p_name);
  execute format('drop table public.%I', p_name);
  return v_rows;
end
$$;
