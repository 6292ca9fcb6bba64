-- Platform prerequisites: the roles Supabase provides, pgmq where the server ships it,
-- and the helper that reads the caller's organization from the request's JWT claims.

do $$
begin
  -- Supabase creates these roles; a plain PostgreSQL (CI, the embedded server) needs them for RLS policies.
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

do $$
begin
  -- On Supabase pgmq is an extension. Elsewhere the migration runner installs the SQL-only build that ships in
  -- the official pgmq PyPI package before this file runs, so the pgmq schema already exists.
  if exists (select 1 from pg_available_extensions where name = 'pgmq')
     and not exists (select 1 from pg_namespace where nspname = 'pgmq') then
    create extension pgmq;
  end if;
  if not exists (select 1 from pg_namespace where nspname = 'pgmq') then
    raise exception 'pgmq is not installed: run the project migration runner (wedsync-analytics migrate) '
                    'or install the pgmq extension';
  end if;
end
$$;

-- The organization of the caller, from the claims PostgREST/Supabase (or our dashboard) sets per transaction.
-- Accepts a top-level "organization_id" claim or one in app_metadata (where Supabase Auth hooks put it).
create or replace function public.analytics_request_org()
returns uuid
language sql
stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'organization_id',
    nullif(current_setting('request.jwt.claims', true), '')::jsonb -> 'app_metadata' ->> 'organization_id'
  )::uuid
$$;

grant execute on function public.analytics_request_org() to anon, authenticated, service_role;
