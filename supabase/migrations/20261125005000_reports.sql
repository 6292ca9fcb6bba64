-- Automated business reports (docs/reports.md): one row per organization, kind and period, holding where the
-- rendered files are stored (with their sha256), how long generation took and how delivery went.
-- The unique key makes a second run for the same period a no-op; the lease lets a later run finish a report
-- whose run died half-way without two runs ever working on one report at once.
create table public.analytics_reports (
  id                uuid primary key default gen_random_uuid(),
  organization_id   uuid not null references public.organizations (id) on delete cascade,
  kind              text not null check (kind in ('weekly', 'monthly')),
  period_start      date not null,
  period_end        date not null check (period_end > period_start),   -- exclusive, local dates
  timezone          text not null,
  status            text not null default 'generating'
                      check (status in ('generating', 'stored', 'failed')),
  files             jsonb not null default '{}'::jsonb,   -- format -> {key, sha256, bytes, content_type, filename}
  summary           jsonb not null default '{}'::jsonb,   -- the headline numbers (list and webhook body)
  generation_attempts integer not null default 0,
  generation_error  text,
  started_at        timestamptz,
  generated_at      timestamptz,
  generation_ms     integer,
  lease_until       timestamptz,
  delivery_status   text not null default 'pending'
                      check (delivery_status in ('pending', 'delivered', 'failed', 'not_requested', 'no_recipients')),
  deliveries        jsonb not null default '{}'::jsonb,   -- channel -> {status, attempts, last_error, delivered_at}
  delivery_attempts integer not null default 0,
  last_error        text,
  next_attempt_at   timestamptz,
  delivered_at      timestamptz,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  unique (organization_id, kind, period_start)
);

create index analytics_reports_org_period_idx on public.analytics_reports (organization_id, period_start desc);
-- What the scheduled run must pick up again: unfinished generation or delivery still owed.
create index analytics_reports_unfinished_idx on public.analytics_reports (next_attempt_at)
  where status = 'generating' or delivery_status in ('pending', 'failed');

alter table public.analytics_reports enable row level security;
create policy analytics_reports_own on public.analytics_reports
  for select to authenticated using (organization_id = public.analytics_request_org());

grant select on public.analytics_reports to authenticated;
