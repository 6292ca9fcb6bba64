-- Webhook sources: one row per provider account (a Stripe account, a Resend or SendGrid account, a form
-- service) that posts to POST /v1/webhooks/<provider>/<source id> on the ingest function.
--
-- The signing secret must be recoverable (an HMAC cannot be checked against a hash), so it is stored
-- encrypted with AES-256-GCM under WEBHOOK_SECRETS_KEY, which lives in the secret manager and never in the
-- database; the source id is the associated data, so a ciphertext copied onto another source does not decrypt.
-- During a rotation the previous secret stays valid until previous_secret_expires_at.

create table public.analytics_webhook_sources (
  id                          uuid primary key default gen_random_uuid(),
  organization_id             uuid not null references public.organizations (id) on delete cascade,
  provider                    text not null
                              check (provider in ('stripe', 'resend', 'sendgrid', 'postmark', 'typeform', 'form')),
  name                        text not null default '' check (length(name) <= 200),
  secret_ciphertext           bytea not null,
  previous_secret_ciphertext  bytea,
  previous_secret_expires_at  timestamptz,
  -- Mapping options: {"inquiry_forms": ["*" | form id, ...], "lead_source": "website"}.
  settings                    jsonb not null default '{}'::jsonb check (jsonb_typeof(settings) = 'object'),
  created_at                  timestamptz not null default now(),
  rotated_at                  timestamptz,
  check ((previous_secret_ciphertext is null) = (previous_secret_expires_at is null))
);

create index analytics_webhook_sources_org_idx on public.analytics_webhook_sources (organization_id);

alter table public.analytics_webhook_sources enable row level security;
create policy analytics_webhook_sources_own on public.analytics_webhook_sources
  for select to authenticated using (organization_id = public.analytics_request_org());

-- Dashboard users may see their sources but never the (encrypted) secrets: column-level grant.
grant select (id, organization_id, provider, name, previous_secret_expires_at, settings, created_at, rotated_at)
  on public.analytics_webhook_sources to authenticated;
