-- Share links: read-only, signed, expiring, revocable views of one organization's dashboard, optionally limited
-- to some panels (an accountant, a business partner). The token itself is never stored: it is an HMAC over the
-- link id and expiry (SHARE_LINK_KEY), checked against this row on every request.
--
-- Owner-side only: the dashboard's admin routes and the CLI create, list and revoke links as the owner, and the
-- dashboard reads the row of a presented token as the owner before it switches to `authenticated`. Nothing is
-- granted to anon or authenticated; RLS is on with no policy, so a grant added by mistake still shows no row.

create table public.analytics_share_links (
  id              uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  label           text not null default '' check (length(label) <= 200),
  panels          text[] check (panels is null or cardinality(panels) > 0),  -- null: every panel
  created_at      timestamptz not null default now(),
  expires_at      timestamptz not null,
  revoked_at      timestamptz,
  created_by      text not null default '',
  check (expires_at > created_at)
);

create index analytics_share_links_organization_idx on public.analytics_share_links (organization_id, created_at);

alter table public.analytics_share_links enable row level security;

-- Supabase's default privileges grant every new table in public to anon and authenticated: take them back.
revoke all on public.analytics_share_links from public, anon, authenticated;
