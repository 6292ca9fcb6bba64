-- TEST DATABASES ONLY. Stand-ins for the three Supabase pieces wiring.sql relies on, which the CI PostgreSQL
-- does not have: pg_cron (needs shared_preload_libraries and a server restart), pg_net (not packaged for
-- Debian) and Vault (supabase_vault). Each keeps the real object names, argument names and defaults, so the
-- generated SQL runs unchanged; instead of acting they record, and the tests play the scheduler and pg_net's
-- background worker: they run cron.job commands and send the recorded HTTP requests themselves.

-- pg_cron: cron.job, cron.schedule(job_name, schedule, command) (upsert by name and user), cron.unschedule.
-- Only where the server has no pg_cron: the Supabase-like test cluster has the real one (tests/supabase/), whose
-- functions record jobs the same way, and the tests play its scheduler all the same.
do $standin$
begin
if to_regclass('cron.job') is not null then
  return;
end if;
create schema if not exists cron;
create table if not exists cron.job (
  jobid bigserial primary key,
  schedule text not null,
  command text not null,
  nodename text not null default 'localhost',
  nodeport integer not null default 5432,
  database text not null default current_database(),
  username text not null default current_user,
  active boolean not null default true,
  jobname text,
  unique (jobname, username)
);
create or replace function cron.schedule(job_name text, schedule text, command text)
returns bigint language sql as $fn$
  insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
  on conflict (jobname, username) do update set schedule = excluded.schedule, command = excluded.command
  returning jobid
$fn$;
create or replace function cron.unschedule(job_name text)
returns boolean language plpgsql as $fn$
begin
  delete from cron.job where jobname = job_name and username = current_user;
  if not found then
    raise exception 'could not find valid entry for job ''%''', job_name;
  end if;
  return true;
end
$fn$;
end
$standin$;

-- pg_net: net.http_post with the real signature; the request is recorded and, like pg_net's, only becomes
-- visible to the sender (here: the test) when the calling transaction commits.
create schema if not exists net;
create table if not exists net.recorded_requests (
  id bigserial primary key,
  method text not null,
  url text not null,
  body jsonb,
  params jsonb,
  headers jsonb,
  timeout_milliseconds integer,
  created_at timestamptz not null default clock_timestamp(),
  sent_at timestamptz,
  status_code integer
);
create or replace function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb, timeout_milliseconds integer default 5000)
returns bigint language sql as $$
  insert into net.recorded_requests (method, url, body, params, headers, timeout_milliseconds)
  values ('POST', url, body, params, headers, timeout_milliseconds)
  returning id
$$;

-- Vault: vault.create_secret(...) and the vault.decrypted_secrets view (no encryption in a test database).
create schema if not exists vault;
create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create or replace view vault.decrypted_secrets as
  select id, name, description, secret, secret as decrypted_secret, created_at, updated_at from vault.secrets;
create or replace function vault.create_secret(
  new_secret text, new_name text default null, new_description text default '', new_key_id uuid default null)
returns uuid language sql as $$
  insert into vault.secrets (secret, name, description) values (new_secret, new_name, new_description)
  returning id
$$;
