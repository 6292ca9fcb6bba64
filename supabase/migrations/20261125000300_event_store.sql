-- The event store: every accepted event once, partitioned by month of occurred_at, plus the idempotency keys,
-- the dead letters and the per-source intake counters.

-- One sequence numbers every stored event; the key table hands the number out so the partitioned table
-- never needs a global unique index (PostgreSQL requires the partition key in those).
create sequence public.analytics_events_id_seq as bigint;

create table public.analytics_events (
  id              bigint not null,
  organization_id uuid not null,
  event_id        text not null,
  event_type      text not null,
  schema_version  smallint not null,
  occurred_at     timestamptz not null,
  received_at     timestamptz not null,
  stored_at       timestamptz not null default now(),
  source          text not null,
  client_id       text,
  booking_id      text,
  amount_minor    bigint,
  currency        char(3),
  properties      jsonb not null default '{}'::jsonb,
  primary key (id, occurred_at)
) partition by range (occurred_at);

create table public.analytics_events_default partition of public.analytics_events default;

create index analytics_events_org_time_idx on public.analytics_events (organization_id, occurred_at);
create index analytics_events_org_type_time_idx on public.analytics_events (organization_id, event_type, occurred_at);
create index analytics_events_org_client_idx on public.analytics_events (organization_id, client_id)
  where client_id is not null;
create index analytics_events_org_booking_idx on public.analytics_events (organization_id, booking_id)
  where booking_id is not null;

alter table public.analytics_events enable row level security;
create policy analytics_events_own on public.analytics_events
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Idempotency: (organization_id, event_id) is unique here, whatever month the event falls in.
create table public.analytics_event_keys (
  organization_id uuid not null,
  event_id        text not null,
  id              bigint not null default nextval('public.analytics_events_id_seq'),
  occurred_at     timestamptz not null,
  primary key (organization_id, event_id)
);
alter sequence public.analytics_events_id_seq owned by public.analytics_event_keys.id;

alter table public.analytics_event_keys enable row level security;
create policy analytics_event_keys_own on public.analytics_event_keys
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Creates the monthly partitions covering [month of p_from, + p_months). Rows that already landed in the
-- default partition for such a month are moved into the new partition, so creating one never fails.
-- Returns how many partitions it created. Safe to call concurrently (it takes a transaction advisory lock).
create or replace function public.analytics_ensure_event_partitions_v1(p_from date, p_months integer)
returns integer
language plpgsql
as $$
declare
  v_start   date := date_trunc('month', p_from)::date;
  v_end     date;
  v_name    text;
  v_created integer := 0;
begin
  perform pg_advisory_xact_lock(hashtext('analytics_ensure_event_partitions'));
  for i in 0 .. greatest(p_months, 1) - 1 loop
    v_end := (v_start + interval '1 month')::date;
    v_name := format('analytics_events_y%sm%s', to_char(v_start, 'YYYY'), to_char(v_start, 'MM'));
    if to_regclass(format('public.%I', v_name)) is null then
      execute format('create table public.%I (like public.analytics_events including defaults)', v_name);
      execute format(
        'with moved as (delete from public.analytics_events_default where occurred_at >= %L and occurred_at < %L returning *)
         insert into public.%I select * from moved', v_start, v_end, v_name);
      execute format('alter table public.analytics_events attach partition public.%I for values from (%L) to (%L)',
                     v_name, v_start, v_end);
      v_created := v_created + 1;
    end if;
    v_start := v_end;
  end loop;
  return v_created;
end
$$;

-- Two years back for imports and backfills, a year ahead; the workers keep extending it.
select public.analytics_ensure_event_partitions_v1((now() - interval '24 months')::date, 37);

-- Every rejection with every reason, kept for inspection and replay. A repeat of the same payload from the same
-- source and stage folds into one row (attempts, last_seen_at) instead of piling up.
create table public.analytics_dead_letters (
  id              bigint generated always as identity primary key,
  organization_id uuid not null,
  source          text not null,
  stage           text not null check (stage in ('ingest', 'validate', 'aggregate')),
  event_id        text,
  event_type      text,
  payload         jsonb not null,
  reasons         jsonb not null check (jsonb_typeof(reasons) = 'array' and jsonb_array_length(reasons) > 0),
  fingerprint     bytea not null,
  first_seen_at   timestamptz not null default now(),
  last_seen_at    timestamptz not null default now(),
  attempts        integer not null default 1,
  replay_state    text not null default 'pending' check (replay_state in ('pending', 'replayed', 'failed', 'discarded')),
  replayed_at     timestamptz,
  unique (organization_id, source, stage, fingerprint)
);

create index analytics_dead_letters_org_seen_idx on public.analytics_dead_letters (organization_id, last_seen_at desc);
create index analytics_dead_letters_pending_idx on public.analytics_dead_letters (organization_id)
  where replay_state = 'pending';

alter table public.analytics_dead_letters enable row level security;
create policy analytics_dead_letters_own on public.analytics_dead_letters
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Intake counters per source and hour: what was accepted, stored, deduplicated, rejected, ignored or refused.
create table public.analytics_source_stats (
  organization_id uuid not null,
  source          text not null,
  bucket          timestamptz not null,
  received        bigint not null default 0,
  stored          bigint not null default 0,
  duplicates      bigint not null default 0,
  rejected        bigint not null default 0,
  ignored         bigint not null default 0,
  refused         bigint not null default 0,
  primary key (organization_id, source, bucket)
);

alter table public.analytics_source_stats enable row level security;
create policy analytics_source_stats_own on public.analytics_source_stats
  for select to authenticated using (organization_id = public.analytics_request_org());

grant select on public.organizations, public.api_keys, public.analytics_events, public.analytics_event_keys,
  public.analytics_dead_letters, public.analytics_source_stats to authenticated;
