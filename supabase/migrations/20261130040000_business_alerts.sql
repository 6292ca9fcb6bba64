-- Business alerts (docs/alerts.md): per-organization thresholds and mutes of the four business alerts
-- (business.inquiries, business.payment_failures, business.reviews, business.balance_overdue).
--
-- The alerts themselves are check results and incidents like the data-quality ones (analytics_quality_latest,
-- analytics_quality_incidents); this table only holds what an organization chose: thresholds that replace the
-- defaults, and a mute that silences delivery until a moment. Owner-side writes only (the dashboard's admin
-- routes and the CLI, as the owner); an organization's own users may read their rules.

create table public.analytics_alert_rules (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  alert           text not null check (alert in ('business.inquiries', 'business.payment_failures',
                                                 'business.reviews', 'business.balance_overdue')),
  thresholds      jsonb not null default '{}'::jsonb check (jsonb_typeof(thresholds) = 'object'),
  muted_until     timestamptz,
  updated_at      timestamptz not null default now(),
  updated_by      text not null default '',
  primary key (organization_id, alert)
);

alter table public.analytics_alert_rules enable row level security;
create policy analytics_alert_rules_own on public.analytics_alert_rules
  for select to authenticated using (organization_id = (select public.analytics_request_org()));

-- Supabase's default privileges grant every new table in public to anon and authenticated: take them back, then
-- let the organization's users read their own rules (the policy above limits the rows).
revoke all on public.analytics_alert_rules from public, anon, authenticated;
grant select on public.analytics_alert_rules to authenticated;
