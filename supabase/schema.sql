-- The database after every migration in supabase/migrations, as read from its catalogs: our objects only
-- (public.analytics_*, organizations, api_keys, the schema analytics_invoke, pgmq's queues and the triggers on
-- their tables, our policy on realtime.messages). Generated from PostgreSQL 15; do not edit, regenerate:
--   DATABASE_URL=postgresql://supabase_admin@127.0.0.1:5433/postgres python -m tests.schema_snapshot --write
-- tests/integration/test_schema_snapshot.py compares it with a freshly migrated database
-- (docs/architecture-schema.md). A description, not a script: a function's body is the sha256 of its source (the
-- source is in the migration); owners, grantors and service_role's privileges are left out (the platform
-- decides them: tests/schema_catalog.py says why); monthly event partitions appear once, dated YYYY and MM.

-- schemas

create schema analytics_invoke;

-- tables, views and sequences

create sequence public.analytics_dead_letters_id_seq as bigint start 1 increment 1 minvalue 1 maxvalue 9223372036854775807 cache 1;
alter sequence public.analytics_dead_letters_id_seq owned by public.analytics_dead_letters.id;

create sequence public.analytics_erasure_audit_id_seq as bigint start 1 increment 1 minvalue 1 maxvalue 9223372036854775807 cache 1;
alter sequence public.analytics_erasure_audit_id_seq owned by public.analytics_erasure_audit.id;

create sequence public.analytics_events_id_seq as bigint start 1 increment 1 minvalue 1 maxvalue 9223372036854775807 cache 1;
alter sequence public.analytics_events_id_seq owned by public.analytics_event_keys.id;

create sequence public.analytics_quality_checks_id_seq as bigint start 1 increment 1 minvalue 1 maxvalue 9223372036854775807 cache 1;
alter sequence public.analytics_quality_checks_id_seq owned by public.analytics_quality_checks.id;

create sequence public.analytics_quality_incidents_id_seq as bigint start 1 increment 1 minvalue 1 maxvalue 9223372036854775807 cache 1;
alter sequence public.analytics_quality_incidents_id_seq owned by public.analytics_quality_incidents.id;

create sequence public.analytics_rollup_rebuilds_id_seq as bigint start 1 increment 1 minvalue 1 maxvalue 9223372036854775807 cache 1;
alter sequence public.analytics_rollup_rebuilds_id_seq owned by public.analytics_rollup_rebuilds.id;

create sequence public.analytics_view_changes_id_seq as bigint start 1 increment 1 minvalue 1 maxvalue 9223372036854775807 cache 1;
alter sequence public.analytics_view_changes_id_seq owned by public.analytics_view_changes.id;

create table analytics_invoke.throttle (
    function_name text not null,
    last_called_at timestamp with time zone default '-infinity'::timestamp with time zone not null,
    constraint throttle_pkey PRIMARY KEY (function_name)
);
alter table analytics_invoke.throttle enable row level security;

create table public.analytics_active_clients (
    organization_id uuid not null,
    bucket timestamp with time zone not null,
    client_id text not null,
    constraint analytics_active_clients_bucket_check CHECK (bucket = public.analytics_bucket_v1(bucket)),
    constraint analytics_active_clients_pkey PRIMARY KEY (organization_id, bucket, client_id)
);
alter table public.analytics_active_clients enable row level security;
create policy analytics_active_clients_own on public.analytics_active_clients as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_active_clients to authenticated;

create table public.analytics_alert_rules (
    organization_id uuid not null,
    alert text not null,
    thresholds jsonb default '{}'::jsonb not null,
    muted_until timestamp with time zone,
    updated_at timestamp with time zone default now() not null,
    updated_by text default ''::text not null,
    constraint analytics_alert_rules_alert_check CHECK (alert = ANY (ARRAY['business.inquiries'::text, 'business.payment_failures'::text, 'business.reviews'::text, 'business.balance_overdue'::text])),
    constraint analytics_alert_rules_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE,
    constraint analytics_alert_rules_pkey PRIMARY KEY (organization_id, alert),
    constraint analytics_alert_rules_thresholds_check CHECK (jsonb_typeof(thresholds) = 'object'::text)
);
alter table public.analytics_alert_rules enable row level security;
create policy analytics_alert_rules_own on public.analytics_alert_rules as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_alert_rules to authenticated;

create table public.analytics_booking_money (
    organization_id uuid not null,
    payment_id text not null,
    booking_id text not null,
    currency text not null,
    paid_minor bigint default 0 not null,
    refunded_minor bigint default 0 not null,
    payments integer default 0 not null,
    refunds integer default 0 not null,
    constraint analytics_booking_money_pkey PRIMARY KEY (organization_id, payment_id, booking_id, currency)
);
alter table public.analytics_booking_money enable row level security;
CREATE INDEX analytics_booking_money_booking ON public.analytics_booking_money USING btree (organization_id, booking_id);
create policy analytics_booking_money_own on public.analytics_booking_money as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_booking_money to authenticated;

create table public.analytics_bookings (
    organization_id uuid not null,
    booking_id text not null,
    first_confirmed_at timestamp with time zone,
    confirmed_at timestamp with time zone,
    confirmed_event_id bigint,
    confirmations integer default 0 not null,
    wedding_date date,
    currency text,
    value_minor bigint,
    package text default ''::text not null,
    lead_source text default ''::text not null,
    cancelled_at timestamp with time zone,
    client_id text,
    first_deposit_at timestamp with time zone,
    first_balance_at timestamp with time zone,
    constraint analytics_bookings_pkey PRIMARY KEY (organization_id, booking_id)
);
alter table public.analytics_bookings enable row level security;
CREATE INDEX analytics_bookings_booked ON public.analytics_bookings USING btree (organization_id, confirmed_at) WHERE (confirmed_at IS NOT NULL);
CREATE INDEX analytics_bookings_cancelled ON public.analytics_bookings USING btree (organization_id, cancelled_at) WHERE ((cancelled_at IS NOT NULL) AND (confirmed_at IS NOT NULL));
CREATE INDEX analytics_bookings_client ON public.analytics_bookings USING btree (organization_id, client_id) WHERE (confirmed_at IS NOT NULL);
CREATE INDEX analytics_bookings_first ON public.analytics_bookings USING btree (organization_id, first_confirmed_at) WHERE (first_confirmed_at IS NOT NULL);
CREATE INDEX analytics_bookings_wedding ON public.analytics_bookings USING btree (organization_id, wedding_date) WHERE (confirmed_at IS NOT NULL);
create policy analytics_bookings_own on public.analytics_bookings as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_bookings to authenticated;

create table public.analytics_client_day_firsts (
    organization_id uuid not null,
    day date not null,
    prev_day date not null,
    clients bigint not null,
    constraint analytics_client_day_firsts_pkey PRIMARY KEY (organization_id, day, prev_day)
);
alter table public.analytics_client_day_firsts enable row level security;
create policy analytics_client_day_firsts_own on public.analytics_client_day_firsts as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_client_day_firsts to authenticated;

create table public.analytics_client_days (
    organization_id uuid not null,
    client_id text not null,
    day date not null,
    constraint analytics_client_days_pkey PRIMARY KEY (organization_id, client_id, day)
);
alter table public.analytics_client_days enable row level security;
CREATE INDEX analytics_client_days_by_day ON public.analytics_client_days USING btree (organization_id, day) INCLUDE (client_id);
create policy analytics_client_days_own on public.analytics_client_days as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_client_days to authenticated;

create table public.analytics_clients (
    organization_id uuid not null,
    client_id text not null,
    first_seen_at timestamp with time zone not null,
    first_event_id bigint not null,
    first_type text not null,
    lead_source text default ''::text not null,
    first_inquiry_at timestamp with time zone,
    first_inquiry_event_id bigint,
    inquiry_lead_source text,
    inquiry_channel text,
    constraint analytics_clients_pkey PRIMARY KEY (organization_id, client_id)
);
alter table public.analytics_clients enable row level security;
CREATE INDEX analytics_clients_first ON public.analytics_clients USING btree (organization_id, first_seen_at);
CREATE INDEX analytics_clients_inquiry ON public.analytics_clients USING btree (organization_id, first_inquiry_at) WHERE (first_inquiry_at IS NOT NULL);
create policy analytics_clients_own on public.analytics_clients as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_clients to authenticated;

create table public.analytics_dead_letters (
    id bigint generated always as identity not null,
    organization_id uuid not null,
    source text not null,
    stage text not null,
    event_id text,
    event_type text,
    payload jsonb not null,
    reasons jsonb not null,
    fingerprint bytea not null,
    first_seen_at timestamp with time zone default now() not null,
    last_seen_at timestamp with time zone default now() not null,
    attempts integer default 1 not null,
    replay_state text default 'pending'::text not null,
    replayed_at timestamp with time zone,
    constraint analytics_dead_letters_organization_id_source_stage_fingerp_key UNIQUE (organization_id, source, stage, fingerprint),
    constraint analytics_dead_letters_pkey PRIMARY KEY (id),
    constraint analytics_dead_letters_reasons_check CHECK (jsonb_typeof(reasons) = 'array'::text AND jsonb_array_length(reasons) > 0),
    constraint analytics_dead_letters_replay_state_check CHECK (replay_state = ANY (ARRAY['pending'::text, 'replayed'::text, 'failed'::text, 'discarded'::text])),
    constraint analytics_dead_letters_stage_check CHECK (stage = ANY (ARRAY['ingest'::text, 'validate'::text, 'aggregate'::text]))
);
alter table public.analytics_dead_letters enable row level security;
CREATE INDEX analytics_dead_letters_last_seen_idx ON public.analytics_dead_letters USING btree (last_seen_at);
CREATE INDEX analytics_dead_letters_org_seen_idx ON public.analytics_dead_letters USING btree (organization_id, last_seen_at DESC);
CREATE INDEX analytics_dead_letters_pending_idx ON public.analytics_dead_letters USING btree (organization_id) WHERE (replay_state = 'pending'::text);
create policy analytics_dead_letters_own on public.analytics_dead_letters as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_dead_letters to authenticated;

create table public.analytics_erasure_audit (
    id bigint generated always as identity not null,
    organization_id uuid not null,
    subject_hash text not null,
    counts jsonb not null,
    rollup_windows integer default 0 not null,
    requested_at timestamp with time zone not null,
    completed_at timestamp with time zone default now() not null,
    constraint analytics_erasure_audit_pkey PRIMARY KEY (id)
);
alter table public.analytics_erasure_audit enable row level security;
CREATE INDEX analytics_erasure_audit_org_idx ON public.analytics_erasure_audit USING btree (organization_id, completed_at);
create policy analytics_erasure_audit_own on public.analytics_erasure_audit as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_erasure_audit to authenticated;

create table public.analytics_event_keys (
    organization_id uuid not null,
    event_id text not null,
    id bigint default nextval('public.analytics_events_id_seq'::regclass) not null,
    occurred_at timestamp with time zone not null,
    stored_at timestamp with time zone default now() not null,
    constraint analytics_event_keys_pkey PRIMARY KEY (organization_id, event_id)
);
alter table public.analytics_event_keys enable row level security;
CREATE INDEX analytics_event_keys_org_occurred_idx ON public.analytics_event_keys USING btree (organization_id, occurred_at);
create policy analytics_event_keys_own on public.analytics_event_keys as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_event_keys to authenticated;

create table public.analytics_events (
    id bigint not null,
    organization_id uuid not null,
    event_id text not null,
    event_type text not null,
    schema_version smallint not null,
    occurred_at timestamp with time zone not null,
    received_at timestamp with time zone not null,
    stored_at timestamp with time zone default now() not null,
    source text not null,
    client_id text,
    booking_id text,
    amount_minor bigint,
    currency character(3),
    properties jsonb default '{}'::jsonb not null,
    constraint analytics_events_pkey PRIMARY KEY (id, occurred_at)
) partition by RANGE (occurred_at);
alter table public.analytics_events enable row level security;
CREATE INDEX analytics_events_org_booking_idx ON ONLY public.analytics_events USING btree (organization_id, booking_id) WHERE (booking_id IS NOT NULL);
CREATE INDEX analytics_events_org_source_stored_idx ON ONLY public.analytics_events USING btree (organization_id, source, stored_at);
CREATE INDEX analytics_events_org_time_idx ON ONLY public.analytics_events USING btree (organization_id, occurred_at);
CREATE INDEX analytics_events_org_type_time_idx ON ONLY public.analytics_events USING btree (organization_id, event_type, occurred_at);
create policy analytics_events_own on public.analytics_events as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_events to authenticated;

create table public.analytics_events_default partition of public.analytics_events DEFAULT;
alter table public.analytics_events_default enable row level security;

create table public.analytics_events_yYYYYmMM partition of public.analytics_events FOR VALUES FROM ('YYYY-MM-01 00:00:00+00') TO ('YYYY-MM-01 00:00:00+00' + 1 month);
alter table public.analytics_events_yYYYYmMM enable row level security;

create table public.analytics_quality_checks (
    id bigint generated always as identity not null,
    run_id uuid not null,
    organization_id uuid not null,
    check_name text not null,
    subject text default ''::text not null,
    status text not null,
    value double precision,
    threshold double precision,
    unit text default ''::text not null,
    message text default ''::text not null,
    detail jsonb default '{}'::jsonb not null,
    checked_at timestamp with time zone default now() not null,
    constraint analytics_quality_checks_pkey PRIMARY KEY (id),
    constraint analytics_quality_checks_status_check CHECK (status = ANY (ARRAY['pass'::text, 'warn'::text, 'fail'::text]))
);
alter table public.analytics_quality_checks enable row level security;
CREATE INDEX analytics_quality_checks_org_time_idx ON public.analytics_quality_checks USING btree (organization_id, checked_at DESC);
CREATE INDEX analytics_quality_checks_run_idx ON public.analytics_quality_checks USING btree (run_id);
create policy analytics_quality_checks_own on public.analytics_quality_checks as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_quality_checks to authenticated;

create table public.analytics_quality_incidents (
    id bigint generated always as identity not null,
    organization_id uuid not null,
    check_name text not null,
    subject text default ''::text not null,
    opened_at timestamp with time zone default now() not null,
    resolved_at timestamp with time zone,
    last_status text not null,
    last_value double precision,
    threshold double precision,
    message text default ''::text not null,
    last_checked_at timestamp with time zone default now() not null,
    opened_notified_at timestamp with time zone,
    resolved_notified_at timestamp with time zone,
    deliveries jsonb default '{}'::jsonb not null,
    notify_attempts integer default 0 not null,
    notify_error text,
    constraint analytics_quality_incidents_last_status_check CHECK (last_status = ANY (ARRAY['pass'::text, 'warn'::text, 'fail'::text])),
    constraint analytics_quality_incidents_pkey PRIMARY KEY (id)
);
alter table public.analytics_quality_incidents enable row level security;
CREATE UNIQUE INDEX analytics_quality_incidents_open_idx ON public.analytics_quality_incidents USING btree (organization_id, check_name, subject) WHERE (resolved_at IS NULL);
CREATE INDEX analytics_quality_incidents_unnotified_idx ON public.analytics_quality_incidents USING btree (organization_id) WHERE ((opened_notified_at IS NULL) OR ((resolved_at IS NOT NULL) AND (resolved_notified_at IS NULL)));
create policy analytics_quality_incidents_own on public.analytics_quality_incidents as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_quality_incidents to authenticated;

create table public.analytics_quality_latest (
    organization_id uuid not null,
    check_name text not null,
    subject text default ''::text not null,
    run_id uuid not null,
    status text not null,
    value double precision,
    threshold double precision,
    unit text default ''::text not null,
    message text default ''::text not null,
    detail jsonb default '{}'::jsonb not null,
    checked_at timestamp with time zone not null,
    status_since timestamp with time zone not null,
    history_at timestamp with time zone,
    constraint analytics_quality_latest_pkey PRIMARY KEY (organization_id, check_name, subject),
    constraint analytics_quality_latest_status_check CHECK (status = ANY (ARRAY['pass'::text, 'warn'::text, 'fail'::text]))
);
alter table public.analytics_quality_latest enable row level security;
create policy analytics_quality_latest_own on public.analytics_quality_latest as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_quality_latest to authenticated;

create table public.analytics_report_plans (
    organization_id uuid not null,
    kind text not null,
    period_start date not null,
    state text default 'queued'::text not null,
    planned_at timestamp with time zone default now() not null,
    sends integer default 1 not null,
    finished_at timestamp with time zone,
    last_error text,
    reasons jsonb,
    payload jsonb,
    constraint analytics_report_plans_kind_check CHECK (kind = ANY (ARRAY['weekly'::text, 'monthly'::text])),
    constraint analytics_report_plans_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE,
    constraint analytics_report_plans_pkey PRIMARY KEY (organization_id, kind, period_start),
    constraint analytics_report_plans_state_check CHECK (state = ANY (ARRAY['queued'::text, 'done'::text, 'dead'::text]))
);
alter table public.analytics_report_plans enable row level security;
CREATE INDEX analytics_report_plans_dead_idx ON public.analytics_report_plans USING btree (finished_at) WHERE (state = 'dead'::text);
create policy analytics_report_plans_own on public.analytics_report_plans as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_report_plans to authenticated;

create table public.analytics_reports (
    id uuid default gen_random_uuid() not null,
    organization_id uuid not null,
    kind text not null,
    period_start date not null,
    period_end date not null,
    timezone text not null,
    status text default 'generating'::text not null,
    files jsonb default '{}'::jsonb not null,
    summary jsonb default '{}'::jsonb not null,
    generation_attempts integer default 0 not null,
    generation_error text,
    started_at timestamp with time zone,
    generated_at timestamp with time zone,
    generation_ms integer,
    lease_until timestamp with time zone,
    delivery_status text default 'pending'::text not null,
    deliveries jsonb default '{}'::jsonb not null,
    delivery_attempts integer default 0 not null,
    last_error text,
    next_attempt_at timestamp with time zone,
    delivered_at timestamp with time zone,
    created_at timestamp with time zone default now() not null,
    updated_at timestamp with time zone default now() not null,
    constraint analytics_reports_check CHECK (period_end > period_start),
    constraint analytics_reports_delivery_status_check CHECK (delivery_status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text, 'not_requested'::text, 'no_recipients'::text])),
    constraint analytics_reports_kind_check CHECK (kind = ANY (ARRAY['weekly'::text, 'monthly'::text])),
    constraint analytics_reports_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE,
    constraint analytics_reports_organization_id_kind_period_start_key UNIQUE (organization_id, kind, period_start),
    constraint analytics_reports_pkey PRIMARY KEY (id),
    constraint analytics_reports_status_check CHECK (status = ANY (ARRAY['generating'::text, 'stored'::text, 'failed'::text]))
);
alter table public.analytics_reports enable row level security;
CREATE INDEX analytics_reports_org_period_idx ON public.analytics_reports USING btree (organization_id, period_start DESC);
CREATE INDEX analytics_reports_unfinished_idx ON public.analytics_reports USING btree (next_attempt_at) WHERE ((status = 'generating'::text) OR (delivery_status = ANY (ARRAY['pending'::text, 'failed'::text])));
create policy analytics_reports_own on public.analytics_reports as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_reports to authenticated;

create table public.analytics_rollup_rebuilds (
    id bigint generated always as identity not null,
    organization_id uuid not null,
    occurred_from timestamp with time zone not null,
    occurred_to timestamp with time zone not null,
    reason text not null,
    events_removed bigint default 0 not null,
    requested_at timestamp with time zone default now() not null,
    done_at timestamp with time zone,
    constraint analytics_rollup_rebuilds_check CHECK (occurred_to > occurred_from),
    constraint analytics_rollup_rebuilds_pkey PRIMARY KEY (id)
);
alter table public.analytics_rollup_rebuilds enable row level security;
CREATE INDEX analytics_rollup_rebuilds_pending_idx ON public.analytics_rollup_rebuilds USING btree (organization_id) WHERE (done_at IS NULL);
create policy analytics_rollup_rebuilds_own on public.analytics_rollup_rebuilds as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_rollup_rebuilds to authenticated;

create table public.analytics_rollups (
    organization_id uuid not null,
    metric text not null,
    bucket timestamp with time zone not null,
    dim1 text default ''::text not null,
    dim2 text default ''::text not null,
    currency text default ''::text not null,
    events bigint default 0 not null,
    amount_minor bigint default 0 not null,
    value_sum bigint default 0 not null,
    value_count bigint default 0 not null,
    constraint analytics_rollups_bucket_check CHECK (bucket = public.analytics_bucket_v1(bucket)),
    constraint analytics_rollups_pkey PRIMARY KEY (organization_id, metric, bucket, dim1, dim2, currency)
);
alter table public.analytics_rollups enable row level security;
create policy analytics_rollups_own on public.analytics_rollups as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_rollups to authenticated;

create table public.analytics_rollups_daily (
    organization_id uuid not null,
    metric text not null,
    day date not null,
    dim1 text default ''::text not null,
    dim2 text default ''::text not null,
    currency text default ''::text not null,
    events bigint default 0 not null,
    amount_minor bigint default 0 not null,
    value_sum bigint default 0 not null,
    value_count bigint default 0 not null,
    constraint analytics_rollups_daily_pkey PRIMARY KEY (organization_id, metric, day, dim1, dim2, currency)
);
alter table public.analytics_rollups_daily enable row level security;
create policy analytics_rollups_daily_own on public.analytics_rollups_daily as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_rollups_daily to authenticated;

create table public.analytics_schema_catalog (
    organization_id uuid not null,
    source text not null,
    kind text not null,
    name text not null,
    first_seen_at timestamp with time zone not null,
    last_seen_at timestamp with time zone not null,
    constraint analytics_schema_catalog_kind_check CHECK (kind = ANY (ARRAY['field'::text, 'event_type'::text])),
    constraint analytics_schema_catalog_pkey PRIMARY KEY (organization_id, source, kind, name)
);
alter table public.analytics_schema_catalog enable row level security;
create policy analytics_schema_catalog_own on public.analytics_schema_catalog as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_schema_catalog to authenticated;

create table public.analytics_share_links (
    id uuid default gen_random_uuid() not null,
    organization_id uuid not null,
    label text default ''::text not null,
    panels text[],
    created_at timestamp with time zone default now() not null,
    expires_at timestamp with time zone not null,
    revoked_at timestamp with time zone,
    created_by text default ''::text not null,
    constraint analytics_share_links_check CHECK (expires_at > created_at),
    constraint analytics_share_links_label_check CHECK (length(label) <= 200),
    constraint analytics_share_links_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE,
    constraint analytics_share_links_panels_check CHECK (panels IS NULL OR cardinality(panels) > 0),
    constraint analytics_share_links_pkey PRIMARY KEY (id)
);
alter table public.analytics_share_links enable row level security;
CREATE INDEX analytics_share_links_organization_idx ON public.analytics_share_links USING btree (organization_id, created_at);

create table public.analytics_source_stats (
    organization_id uuid not null,
    source text not null,
    bucket timestamp with time zone not null,
    received bigint default 0 not null,
    stored bigint default 0 not null,
    duplicates bigint default 0 not null,
    rejected bigint default 0 not null,
    ignored bigint default 0 not null,
    refused bigint default 0 not null,
    constraint analytics_source_stats_pkey PRIMARY KEY (organization_id, source, bucket)
);
alter table public.analytics_source_stats enable row level security;
CREATE INDEX analytics_source_stats_bucket_idx ON public.analytics_source_stats USING btree (bucket);
create policy analytics_source_stats_own on public.analytics_source_stats as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_source_stats to authenticated;

create table public.analytics_view_changes (
    id bigint generated always as identity not null,
    organization_id uuid not null,
    changed_at timestamp with time zone default clock_timestamp() not null,
    constraint analytics_view_changes_pkey PRIMARY KEY (id)
);
alter table public.analytics_view_changes enable row level security;
CREATE INDEX analytics_view_changes_org_idx ON public.analytics_view_changes USING btree (organization_id, changed_at);
create policy analytics_view_changes_own on public.analytics_view_changes as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_view_changes to authenticated;

create table public.analytics_view_refreshes (
    organization_id uuid not null,
    view_name text not null,
    refreshed_at timestamp with time zone not null,
    refresh_ms integer not null,
    constraint analytics_view_refreshes_pkey PRIMARY KEY (organization_id, view_name)
);
alter table public.analytics_view_refreshes enable row level security;
create policy analytics_view_refreshes_own on public.analytics_view_refreshes as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.analytics_view_refreshes to authenticated;

create table public.analytics_webhook_sources (
    id uuid default gen_random_uuid() not null,
    organization_id uuid not null,
    provider text not null,
    name text default ''::text not null,
    secret_ciphertext bytea not null,
    previous_secret_ciphertext bytea,
    previous_secret_expires_at timestamp with time zone,
    settings jsonb default '{}'::jsonb not null,
    created_at timestamp with time zone default now() not null,
    rotated_at timestamp with time zone,
    constraint analytics_webhook_sources_check CHECK ((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL)),
    constraint analytics_webhook_sources_name_check CHECK (length(name) <= 200),
    constraint analytics_webhook_sources_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE,
    constraint analytics_webhook_sources_pkey PRIMARY KEY (id),
    constraint analytics_webhook_sources_provider_check CHECK (provider = ANY (ARRAY['stripe'::text, 'resend'::text, 'sendgrid'::text, 'postmark'::text, 'typeform'::text, 'form'::text])),
    constraint analytics_webhook_sources_settings_check CHECK (jsonb_typeof(settings) = 'object'::text)
);
alter table public.analytics_webhook_sources enable row level security;
CREATE INDEX analytics_webhook_sources_org_idx ON public.analytics_webhook_sources USING btree (organization_id);
create policy analytics_webhook_sources_own on public.analytics_webhook_sources as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select (id, organization_id, provider, name, previous_secret_expires_at, settings, created_at, rotated_at) on table public.analytics_webhook_sources to authenticated;

create table public.api_keys (
    id uuid default gen_random_uuid() not null,
    organization_id uuid not null,
    name text default ''::text not null,
    prefix text not null,
    key_hash bytea not null,
    scopes text[] not null,
    created_at timestamp with time zone default now() not null,
    revoked_at timestamp with time zone,
    last_used_at timestamp with time zone,
    constraint api_keys_key_hash_key UNIQUE (key_hash),
    constraint api_keys_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE,
    constraint api_keys_pkey PRIMARY KEY (id),
    constraint api_keys_prefix_key UNIQUE (prefix),
    constraint api_keys_scopes_check CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest'::text, 'read'::text, 'admin'::text])
);
alter table public.api_keys enable row level security;
CREATE INDEX api_keys_organization_idx ON public.api_keys USING btree (organization_id);
create policy api_keys_own on public.api_keys as permissive for select to authenticated
    using ((organization_id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.api_keys to authenticated;

create table public.organizations (
    id uuid default gen_random_uuid() not null,
    name text not null,
    timezone text not null,
    currency character(3) not null,
    settings jsonb default '{}'::jsonb not null,
    data_version bigint default 0 not null,
    created_at timestamp with time zone default now() not null,
    home_currency character(3),
    constraint organizations_currency_check CHECK (currency ~ '^[A-Z]{3}$'::text),
    constraint organizations_home_currency_check CHECK (home_currency ~ '^[A-Z]{3}$'::text),
    constraint organizations_name_check CHECK (length(btrim(name)) >= 1 AND length(btrim(name)) <= 200),
    constraint organizations_pkey PRIMARY KEY (id),
    constraint organizations_settings_check CHECK (jsonb_typeof(settings) = 'object'::text),
    constraint organizations_timezone_check CHECK (('2000-01-01 00:00:00+00'::timestamp with time zone AT TIME ZONE timezone) IS NOT NULL)
);
alter table public.organizations enable row level security;
CREATE TRIGGER organizations_zone_changed BEFORE UPDATE OF timezone ON public.organizations FOR EACH ROW EXECUTE FUNCTION public.analytics_organization_zone_changed_v1();
create policy organizations_own on public.organizations as permissive for select to authenticated
    using ((id = ( SELECT public.analytics_request_org() AS analytics_request_org)));
grant select on table public.organizations to authenticated;

create view public.analytics_booking_facts with (security_barrier=true) as
 SELECT analytics_booking_facts_mv.organization_id,
    analytics_booking_facts_mv.booking_id,
    analytics_booking_facts_mv.client_id,
    analytics_booking_facts_mv.booked_at,
    analytics_booking_facts_mv.booked_local_date,
    analytics_booking_facts_mv.value_minor,
    analytics_booking_facts_mv.currency,
    analytics_booking_facts_mv.package,
    analytics_booking_facts_mv.lead_source,
    analytics_booking_facts_mv.wedding_date,
    analytics_booking_facts_mv.cancelled_at,
    analytics_booking_facts_mv.deposit_paid_at,
    analytics_booking_facts_mv.balance_paid_at
   FROM public.analytics_booking_facts_mv
  WHERE analytics_booking_facts_mv.organization_id = (( SELECT public.analytics_request_org() AS analytics_request_org)) OR (CURRENT_USER <> ALL (ARRAY['anon'::name, 'authenticated'::name]));
grant select on table public.analytics_booking_facts to authenticated;

create view public.analytics_booking_facts_mv as
 SELECT b.organization_id,
    b.booking_id,
    b.client_id,
    b.confirmed_at AS booked_at,
    (b.confirmed_at AT TIME ZONE o.timezone)::date AS booked_local_date,
    b.value_minor,
    b.currency,
    NULLIF(b.package, ''::text) AS package,
    NULLIF(b.lead_source, ''::text) AS lead_source,
    b.wedding_date,
    b.cancelled_at,
    b.first_deposit_at AS deposit_paid_at,
    b.first_balance_at AS balance_paid_at
   FROM public.analytics_bookings b
     JOIN public.organizations o ON o.id = b.organization_id
  WHERE b.confirmed_at IS NOT NULL;

create view public.analytics_client_funnel with (security_barrier=true) as
 SELECT analytics_client_funnel_mv.organization_id,
    analytics_client_funnel_mv.client_id,
    analytics_client_funnel_mv.first_inquiry_at,
    analytics_client_funnel_mv.inquiry_local_date,
    analytics_client_funnel_mv.lead_source,
    analytics_client_funnel_mv.channel,
    analytics_client_funnel_mv.first_booked_at,
    analytics_client_funnel_mv.first_deposit_at,
    analytics_client_funnel_mv.first_balance_at
   FROM public.analytics_client_funnel_mv
  WHERE analytics_client_funnel_mv.organization_id = (( SELECT public.analytics_request_org() AS analytics_request_org)) OR (CURRENT_USER <> ALL (ARRAY['anon'::name, 'authenticated'::name]));
grant select on table public.analytics_client_funnel to authenticated;

create view public.analytics_client_funnel_mv as
 SELECT c.organization_id,
    c.client_id,
    c.first_inquiry_at,
    (c.first_inquiry_at AT TIME ZONE o.timezone)::date AS inquiry_local_date,
    c.inquiry_lead_source AS lead_source,
    c.inquiry_channel AS channel,
    b.first_booked_at,
    b.first_deposit_at,
    b.first_balance_at
   FROM public.analytics_clients c
     JOIN public.organizations o ON o.id = c.organization_id
     LEFT JOIN LATERAL ( SELECT min(x.confirmed_at) AS first_booked_at,
            min(x.first_deposit_at) AS first_deposit_at,
            min(x.first_balance_at) AS first_balance_at
           FROM public.analytics_bookings x
          WHERE x.organization_id = c.organization_id AND x.client_id = c.client_id AND x.confirmed_at IS NOT NULL) b ON true
  WHERE c.first_inquiry_at IS NOT NULL;

create view public.analytics_cohorts with (security_barrier=true) as
 SELECT analytics_cohorts_mv.organization_id,
    analytics_cohorts_mv.cohort_month,
    analytics_cohorts_mv.inquiries,
    analytics_cohorts_mv.booked,
    analytics_cohorts_mv.deposit_paid,
    analytics_cohorts_mv.balance_paid
   FROM public.analytics_cohorts_mv
  WHERE analytics_cohorts_mv.organization_id = (( SELECT public.analytics_request_org() AS analytics_request_org)) OR (CURRENT_USER <> ALL (ARRAY['anon'::name, 'authenticated'::name]));
grant select on table public.analytics_cohorts to authenticated;

create view public.analytics_cohorts_mv as
 SELECT analytics_client_funnel_mv.organization_id,
    date_trunc('month'::text, analytics_client_funnel_mv.inquiry_local_date::timestamp with time zone)::date AS cohort_month,
    count(*) AS inquiries,
    count(analytics_client_funnel_mv.first_booked_at) AS booked,
    count(analytics_client_funnel_mv.first_deposit_at) AS deposit_paid,
    count(analytics_client_funnel_mv.first_balance_at) AS balance_paid
   FROM public.analytics_client_funnel_mv
  GROUP BY analytics_client_funnel_mv.organization_id, (date_trunc('month'::text, analytics_client_funnel_mv.inquiry_local_date::timestamp with time zone)::date);

create view public.analytics_event_facts with (security_invoker=true) as
 SELECT e.id,
    e.organization_id,
    e.occurred_at,
    public.analytics_bucket_v1(e.occurred_at) AS bucket,
    f.metric,
    COALESCE(f.dim1, ''::text) AS dim1,
    COALESCE(f.dim2, ''::text) AS dim2,
    COALESCE(f.currency, ''::text) AS currency,
    COALESCE(f.amount_minor, 0::bigint) AS amount_minor,
    f.value
   FROM public.analytics_events e
     JOIN public.organizations o ON o.id = e.organization_id
     CROSS JOIN LATERAL ( SELECT e.event_type AS metric,
                CASE
                    WHEN e.event_type = ANY (ARRAY['client.created'::text, 'inquiry.received'::text]) THEN e.properties ->> 'lead_source'::text
                    WHEN e.event_type = 'booking.confirmed'::text THEN e.properties ->> 'package'::text
                    WHEN e.event_type = ANY (ARRAY['payment.succeeded'::text, 'payment.failed'::text]) THEN e.properties ->> 'kind'::text
                    WHEN e.event_type = ANY (ARRAY['form.started'::text, 'form.submitted'::text]) THEN e.properties ->> 'form_id'::text
                    WHEN e.event_type ~~ 'email.%'::text OR e.event_type ~~ 'notification.%'::text THEN e.properties ->> 'template'::text
                    WHEN e.event_type ~~ 'journey.%'::text THEN e.properties ->> 'journey_id'::text
                    WHEN e.event_type = 'app.action'::text THEN e.properties ->> 'action'::text
                    ELSE NULL::text
                END AS dim1,
                CASE
                    WHEN e.event_type = 'inquiry.received'::text THEN e.properties ->> 'channel'::text
                    WHEN e.event_type = ANY (ARRAY['booking.confirmed'::text, 'form.submitted'::text]) THEN e.properties ->> 'lead_source'::text
                    WHEN e.event_type = 'payment.succeeded'::text THEN e.properties ->> 'method'::text
                    WHEN e.event_type = 'payment.failed'::text THEN e.properties ->> 'failure_code'::text
                    WHEN e.event_type ~~ 'email.%'::text THEN e.properties ->> 'campaign'::text
                    WHEN e.event_type ~~ 'notification.%'::text THEN e.properties ->> 'channel'::text
                    WHEN e.event_type = 'journey.step_completed'::text THEN e.properties ->> 'step_id'::text
                    WHEN e.event_type = 'app.action'::text THEN e.properties ->> 'user_id'::text
                    ELSE NULL::text
                END AS dim2,
                CASE
                    WHEN e.event_type = ANY (ARRAY['booking.confirmed'::text, 'payment.succeeded'::text, 'payment.failed'::text, 'payment.refunded'::text]) THEN e.currency::text
                    ELSE NULL::text
                END AS currency,
                CASE
                    WHEN e.event_type = ANY (ARRAY['booking.confirmed'::text, 'payment.succeeded'::text, 'payment.failed'::text, 'payment.refunded'::text]) THEN e.amount_minor
                    ELSE NULL::bigint
                END AS amount_minor,
                CASE
                    WHEN (e.event_type = ANY (ARRAY['journey.completed'::text, 'journey.abandoned'::text])) AND (e.properties ->> 'duration_ms'::text) ~ '^[0-9]{1,15}$'::text THEN (e.properties ->> 'duration_ms'::text)::bigint
                    ELSE NULL::bigint
                END AS value
          WHERE e.event_type <> 'review.received'::text
        UNION ALL
         SELECT 'booking.wedding_month'::text,
            to_char(((e.properties ->> 'wedding_date'::text)::date)::timestamp with time zone, 'YYYY-MM'::text) AS to_char,
            e.properties ->> 'lead_source'::text,
            e.currency::text AS currency,
            e.amount_minor,
            ((e.properties ->> 'wedding_date'::text)::date) - (e.occurred_at AT TIME ZONE o.timezone)::date
          WHERE e.event_type = 'booking.confirmed'::text
        UNION ALL
         SELECT 'review.rating'::text,
            e.properties ->> 'platform'::text,
            NULL::text,
            NULL::text,
            NULL::bigint,
            (e.properties ->> 'rating'::text)::bigint AS int8
          WHERE e.event_type = 'review.received'::text AND e.properties ? 'rating'::text
        UNION ALL
         SELECT 'review.nps'::text,
            e.properties ->> 'platform'::text,
                CASE
                    WHEN ((e.properties ->> 'nps'::text)::integer) >= 9 THEN 'promoter'::text
                    WHEN ((e.properties ->> 'nps'::text)::integer) >= 7 THEN 'passive'::text
                    ELSE 'detractor'::text
                END AS "case",
            NULL::text,
            NULL::bigint,
            (e.properties ->> 'nps'::text)::bigint AS int8
          WHERE e.event_type = 'review.received'::text AND e.properties ? 'nps'::text) f;

create view public.analytics_lead_times with (security_barrier=true) as
 SELECT analytics_lead_times_mv.organization_id,
    analytics_lead_times_mv.measure,
    analytics_lead_times_mv.month,
    analytics_lead_times_mv.days,
    analytics_lead_times_mv.n
   FROM public.analytics_lead_times_mv
  WHERE analytics_lead_times_mv.organization_id = (( SELECT public.analytics_request_org() AS analytics_request_org)) OR (CURRENT_USER <> ALL (ARRAY['anon'::name, 'authenticated'::name]));
grant select on table public.analytics_lead_times to authenticated;

create view public.analytics_lead_times_mv as
 SELECT t.organization_id,
    t.measure,
    t.month,
    t.days,
    count(*) AS n
   FROM ( SELECT f.organization_id,
            'inquiry_to_booking'::text AS measure,
            date_trunc('month'::text, (f.first_booked_at AT TIME ZONE o.timezone))::date AS month,
            floor(EXTRACT(epoch FROM f.first_booked_at - f.first_inquiry_at) / 86400::numeric)::integer AS days
           FROM public.analytics_client_funnel_mv f
             JOIN public.organizations o ON o.id = f.organization_id
          WHERE f.first_booked_at IS NOT NULL AND f.first_booked_at >= f.first_inquiry_at
        UNION ALL
         SELECT analytics_booking_facts_mv.organization_id,
            'booking_to_wedding'::text,
            date_trunc('month'::text, analytics_booking_facts_mv.booked_local_date::timestamp with time zone)::date AS date_trunc,
            analytics_booking_facts_mv.wedding_date - analytics_booking_facts_mv.booked_local_date
           FROM public.analytics_booking_facts_mv
          WHERE analytics_booking_facts_mv.cancelled_at IS NULL) t
  GROUP BY t.organization_id, t.measure, t.month, t.days;

create view public.analytics_view_freshness with (security_invoker=true) as
 SELECT k.organization_id,
    k.view_name,
    c.oldest IS NOT NULL AS pending,
    c.oldest AS changed_at,
    r.refreshed_at,
    r.refresh_ms,
    COALESCE(EXTRACT(epoch FROM now() - c.oldest), 0::numeric)::double precision AS stale_seconds
   FROM ( SELECT analytics_view_refreshes.organization_id,
            analytics_view_refreshes.view_name
           FROM public.analytics_view_refreshes
        UNION
         SELECT DISTINCT x.organization_id,
            v.view_name
           FROM public.analytics_view_changes x
             CROSS JOIN unnest(public.analytics_materialized_views_v1()) v(view_name)) k
     LEFT JOIN public.analytics_view_refreshes r USING (organization_id, view_name)
     LEFT JOIN LATERAL ( SELECT min(x.changed_at) AS oldest
           FROM public.analytics_view_changes x
          WHERE x.organization_id = k.organization_id) c ON true;
grant select on table public.analytics_view_freshness to authenticated;

-- functions

create function analytics_invoke.call_function_v1(function_name text, reason text, path text DEFAULT '/'::text, timeout_ms integer DEFAULT 60000, strict boolean DEFAULT true) returns bigint
    language plpgsql volatile security definer set search_path = "" as 'sha256:1b487a64240ec8810dc15a5257ba2e5e541d54cf49e1145918cfde98a7ee238e';

create function analytics_invoke.drain_v1(function_name text, queue_name text, batch_size integer, max_calls integer, path text DEFAULT '/'::text, timeout_ms integer DEFAULT 60000) returns integer
    language plpgsql volatile security definer set search_path = "" as 'sha256:44c284dc4b6158a0c109a5e272cbd51d2cdeb9150d3951d6940f07d49f5012dd';

create function analytics_invoke.prune_v1(keep_triggers text[], keep_jobs text[]) returns integer
    language plpgsql volatile security definer set search_path = "" as 'sha256:2358c3cda7b789ad62f229bd236751757f68bc8efea462ba18452d5d941f7ded';

create function analytics_invoke.wake_on_insert_v1() returns trigger
    language plpgsql volatile security definer set search_path = "" as 'sha256:242590510623c8690f8302fcaf88449ce14cfc76be14712edf6175a4943f46c3';

create function public.analytics_adopt_partman_v1() returns text
    language plpgsql volatile as 'sha256:5b50c805ed7abbd7e2f510145097b7ad0396bf43b14d9e2559069c966816834c';

create function public.analytics_aggregate_events_v1(p_ids bigint[], p_from timestamp with time zone, p_to timestamp with time zone) returns TABLE(organization_id uuid, events bigint, data_version bigint, views_pending boolean)
    language plpgsql volatile as 'sha256:759ba78b994a2c15f37f878334cd9099ec96ecf48eb7648b4673ec572a0de586';

create function public.analytics_bucket_v1(p_at timestamp with time zone) returns timestamp with time zone
    language sql immutable parallel safe as 'sha256:1affb88bf6d323282e6ceff8703ca628828726b7a8906489f7a5a0f729c11473';
grant execute on function public.analytics_bucket_v1(p_at timestamp with time zone) to authenticated;

create function public.analytics_client_day_firsts_add_v1(p_org uuid, p_days date[], p_prevs date[], p_counts bigint[]) returns void
    language plpgsql volatile as 'sha256:799a586012fc4a7712489ad839d089038e2c89ab63d422ea5ffc74c2497a1b6a';

create function public.analytics_client_days_add_v1(p_org uuid, p_clients text[], p_days date[]) returns bigint
    language plpgsql volatile as 'sha256:76d8339982ba8b4943ea06c831aa2601f74f98fdd54c1c0193973b51aae0bf7d';

create function public.analytics_client_days_lock_key_v1(p_org uuid) returns bigint
    language sql immutable as 'sha256:85f8dee4aab6580a8430db44546c26bffb30821c2fa2318f7f1ee72a664cc355';

create function public.analytics_day_bucket_range_v1(p_first date, p_last date, p_tz text) returns tstzrange
    language sql stable as 'sha256:29c62b4e657975b305139d991fb118fb885892483423b29a2f94f88d94f7a3c2';

create function public.analytics_derive_days_v1(p_org uuid, p_first date, p_last date, p_tz text DEFAULT NULL::text) returns void
    language plpgsql volatile as 'sha256:54330abf3906add5d327ffb4a4985e5a3f10d32c80d01861bb0db6fff8a897b8';

create function public.analytics_drop_event_partition_v1(p_name text, p_before timestamp with time zone, p_lock_timeout_ms integer DEFAULT 5000) returns bigint
    language plpgsql volatile as 'sha256:64c78a187c471aa35169aa19364adc191b245104b5523fa79f94795e621f59d0';

create function public.analytics_ensure_event_partitions_v1(p_from date, p_months integer) returns integer
    language plpgsql volatile as 'sha256:a61af30e48bb10e22cd606218fc74db3348570df5403889a2a30b9eecea6e3d8';

create function public.analytics_event_partitions_v1() returns TABLE(name text, range_from timestamp with time zone, range_to timestamp with time zone)
    language sql stable as 'sha256:e32f5c24de6dffc5c632c42f0e3a511810dda09bcd24a5bb31b3ca47ece07707';

create function public.analytics_expected_rollups_v1(p_org uuid, p_from timestamp with time zone, p_to timestamp with time zone, p_queue text DEFAULT 'aggregate'::text) returns TABLE(metric text, bucket timestamp with time zone, dim1 text, dim2 text, currency text, events bigint, amount_minor bigint, value_sum bigint, value_count bigint)
    language sql stable as 'sha256:3cb90c99bd399f513e46d81f7305c99b26188a803baff0561d8e1149f479021b';

create function public.analytics_funnel_inputs_v1() returns text[]
    language sql immutable as 'sha256:09f327f1febd377e8cadc7c845a38e73334df5154ded282ddc05485228a1bc1a';

create function public.analytics_materialized_views_v1() returns text[]
    language sql immutable as 'sha256:09f327f1febd377e8cadc7c845a38e73334df5154ded282ddc05485228a1bc1a';
grant execute on function public.analytics_materialized_views_v1() to authenticated;

create function public.analytics_note_changes_v1(p_orgs uuid[], p_funnel_orgs uuid[], p_kind text, p_from timestamp with time zone, p_to timestamp with time zone, p_counts jsonb) returns TABLE(organization_id uuid, data_version bigint)
    language plpgsql volatile as 'sha256:c4fa04bf5186d6eee138eb9d0938909091e8ffcc76beb2cdd3976dd5b28ef52f';

create function public.analytics_organization_zone_changed_v1() returns trigger
    language plpgsql volatile as 'sha256:e3cc00b1c625c28c1e4de0493374385e051efb835c688c88dd5fed228d74cf36';

create function public.analytics_partition_manager_v1() returns text
    language plpgsql stable as 'sha256:1eadb4c7269f5adb631a43a52a05e799cb23a6310fccb191210937ceab9c01ac';

create function public.analytics_partman_schema_v1() returns name
    language sql stable as 'sha256:986e27b7557537eeb0b22319237230c78e4aaf5c8e813c28be196986980895a6';

create function public.analytics_pending_event_ids_v1(p_org uuid, p_queue text DEFAULT 'aggregate'::text) returns TABLE(id bigint)
    language plpgsql stable as 'sha256:8ba9a4ba87155c59f4bf70647fa33ca3f35e03e8cbc659d56eac9af7e8f80f19';

create function public.analytics_plan_retention_v1(p_queue text, p_orgs uuid[], p_befores timestamp with time zone[], p_stored_before timestamp with time zone) returns bigint
    language plpgsql volatile as 'sha256:b4494691fe96092d7ea0b7f01932d2ec1cc685230a17e95da0b4fad66b42a888';

create function public.analytics_publish_change_v1(p_org uuid, p_payload jsonb) returns void
    language plpgsql volatile as 'sha256:2fde3a848892fbb65f9fe18b52f6861ad29fd89ea3ff8c13ef18d8bf1dc1dea5';

create function public.analytics_queue_alerts_v1(p_queue text) returns bigint
    language plpgsql volatile as 'sha256:054e26804bd93abd2ae9abbf909d25b9a227e43692cbf1dff40caa7b400da17f';

create function public.analytics_queue_wake_v1() returns trigger
    language plpgsql volatile as 'sha256:1c81120d5ed48408ecb435066a73dac122fa99c1dd5227661512595aeca1dc34';

create function public.analytics_rebuild_state_v1(p_org uuid, p_queue text DEFAULT 'aggregate'::text) returns bigint
    language plpgsql volatile as 'sha256:928857155a9c928e5ebf87340e4f7f61d5da3ca39640d97b2b62770b22109de4';

create function public.analytics_rebuild_v1(p_org uuid, p_from timestamp with time zone, p_to timestamp with time zone, p_queue text DEFAULT 'aggregate'::text) returns TABLE(rows_deleted bigint, rows_written bigint, clients_written bigint, data_version bigint)
    language plpgsql volatile as 'sha256:5218361719abf1c5431df8e024524a936d5807eba58ab4060e63b1c601d7c6a0';

create function public.analytics_reconcile_v1(p_org uuid, p_from timestamp with time zone, p_to timestamp with time zone, p_queue text DEFAULT 'aggregate'::text) returns TABLE(kind text, metric text, bucket timestamp with time zone, dim1 text, dim2 text, currency text, expected_events bigint, actual_events bigint, expected_amount_minor bigint, actual_amount_minor bigint, expected_value_sum bigint, actual_value_sum bigint, expected_value_count bigint, actual_value_count bigint)
    language plpgsql volatile as 'sha256:8829c28e94b33a682f2eb2550b8bc6063b5f7d7c6600ec8fcc6029e5c2243066';

create function public.analytics_rederive_all_days_v1(p_org uuid, p_tz text) returns void
    language plpgsql volatile as 'sha256:8d30355319f61d5b7e48659c238601818c9ac901016c8200c623ab70942c561d';

create function public.analytics_request_org() returns uuid
    language sql stable as 'sha256:ac6c2d658c3742177ffffbc01ce162f026a26db91b3c02919d08e191b9f56fcd';
grant execute on function public.analytics_request_org() to authenticated;

create function public.analytics_rollup_lock_key_v1(p_org uuid) returns bigint
    language sql immutable as 'sha256:6706cae7de5e652c8e03084e9ea7efb5d3bccc21759a0a58256bb3140f5b2b20';

create function public.analytics_secure_event_partitions_v1() returns integer
    language plpgsql volatile as 'sha256:9814bb621be0f105696f385eb68e5ca1d6fc1c2e6a1819ffb07e9e99d1501e7c';

create function public.analytics_secure_partition_v1(p_partition regclass) returns void
    language plpgsql volatile as 'sha256:12a8a0502beca3200b3de9af76b58634f6549817ae2637659fe09a3f51df3c26';

create function public.analytics_state_add_v1(p_org uuid, p_ids bigint[], p_from timestamp with time zone, p_to timestamp with time zone, p_queue text DEFAULT 'aggregate'::text, p_keep_bookings text[] DEFAULT '{}'::text[], p_keep_payments text[] DEFAULT '{}'::text[]) returns bigint
    language plpgsql volatile as 'sha256:3df50147f5783dd1f767f5aa40bb4bd4c4807e65c6d1f5393a562d458950e17a';

create function public.analytics_state_events_v1(p_org uuid, p_ids bigint[], p_from timestamp with time zone, p_to timestamp with time zone, p_queue text DEFAULT 'aggregate'::text, p_keep_bookings text[] DEFAULT '{}'::text[], p_keep_payments text[] DEFAULT '{}'::text[]) returns SETOF public.analytics_events
    language plpgsql stable as 'sha256:063fd898930a69b2dc5675807c797cdbcaf667bd8918c2532677b561d99762a0';

-- pgmq queues and the triggers on their tables

select pgmq.create('aggregate');
CREATE TRIGGER analytics_wake AFTER INSERT ON pgmq.q_aggregate FOR EACH STATEMENT EXECUTE FUNCTION public.analytics_queue_wake_v1('aggregate');

select pgmq.create('alerts');
CREATE TRIGGER analytics_wake AFTER INSERT ON pgmq.q_alerts FOR EACH STATEMENT EXECUTE FUNCTION public.analytics_queue_wake_v1('alerts');

select pgmq.create('ingest');
CREATE TRIGGER analytics_wake AFTER INSERT ON pgmq.q_ingest FOR EACH STATEMENT EXECUTE FUNCTION public.analytics_queue_wake_v1('ingest');

select pgmq.create('refresh');
CREATE TRIGGER analytics_wake AFTER INSERT ON pgmq.q_refresh FOR EACH STATEMENT EXECUTE FUNCTION public.analytics_queue_wake_v1('refresh');

select pgmq.create('reports');
CREATE TRIGGER analytics_wake AFTER INSERT ON pgmq.q_reports FOR EACH STATEMENT EXECUTE FUNCTION public.analytics_queue_wake_v1('reports');

select pgmq.create('retention');
CREATE TRIGGER analytics_wake AFTER INSERT ON pgmq.q_retention FOR EACH STATEMENT EXECUTE FUNCTION public.analytics_queue_wake_v1('retention');

-- policies on realtime.messages (only where Realtime's schema exists)

create policy analytics_changes_receive on realtime.messages as permissive for select to authenticated
    using (((extension = 'broadcast'::text) AND (topic = ( SELECT realtime.topic() AS topic)) AND (( SELECT realtime.topic() AS topic) = ('analytics:'::text || (( SELECT public.analytics_request_org() AS analytics_request_org))::text))));
