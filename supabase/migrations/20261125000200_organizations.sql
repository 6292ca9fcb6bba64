-- Tenants and their API keys. Keys are stored only as SHA-256 hashes: the key is shown once, at creation.

create table public.organizations (
  id           uuid primary key default gen_random_uuid(),
  name         text not null check (length(btrim(name)) between 1 and 200),
  -- Casting through "at time zone" raises "time zone ... not recognized" for anything that is not an IANA name.
  timezone     text not null check ((timestamptz '2000-01-01 00:00+00' at time zone timezone) is not null),
  currency     char(3) not null check (currency ~ '^[A-Z]{3}$'),
  settings     jsonb not null default '{}'::jsonb check (jsonb_typeof(settings) = 'object'),
  -- Bumped by every batch that changes this organization's numbers; the dashboard's cache key.
  data_version bigint not null default 0,
  created_at   timestamptz not null default now()
);

alter table public.organizations enable row level security;
create policy organizations_own on public.organizations
  for select to authenticated using (id = public.analytics_request_org());

create table public.api_keys (
  id              uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  name            text not null default '',
  prefix          text not null unique,
  key_hash        bytea not null unique,
  scopes          text[] not null check (cardinality(scopes) > 0 and scopes <@ array['ingest', 'read', 'admin']),
  created_at      timestamptz not null default now(),
  revoked_at      timestamptz,
  last_used_at    timestamptz
);

create index api_keys_organization_idx on public.api_keys (organization_id);

alter table public.api_keys enable row level security;
create policy api_keys_own on public.api_keys
  for select to authenticated using (organization_id = public.analytics_request_org());
