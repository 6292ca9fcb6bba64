-- How the database invokes the deployed functions over HTTP (pg_net) when work is queued or a schedule is due.
-- The generated dist/supabase/wiring.sql (`wedsync-analytics deploy plan`) attaches these to the queues and to
-- pg_cron; this migration only defines them, so it applies anywhere (pg_net, pg_cron and Vault are looked up
-- when a call is made, not now). Function URLs and the invoke secret are read from Supabase Vault at call time
-- and never written into SQL:
--   wedsync_invoke_secret            the bearer secret every queue and cron function checks (INVOKE_SECRET)
--   wedsync_functions_base_url       e.g. https://europe-west2-<project>.cloudfunctions.net (+ '/<function>')
--   wedsync_function_url_<function>  optional per-function URL, e.g. a run.app URL (wins over the base URL)

create schema if not exists analytics_invoke;
revoke all on schema analytics_invoke from public, anon, authenticated;

-- When each function was last woken by an insert: platform state, not tenant data (no organization_id);
-- nobody but the owner reads or writes it.
create table if not exists analytics_invoke.throttle (
  function_name text primary key,
  last_called_at timestamptz not null default '-infinity'
);
alter table analytics_invoke.throttle enable row level security;
revoke all on analytics_invoke.throttle from public, anon, authenticated;

-- POST to a function with the invoke secret; returns pg_net's request id. pg_net sends the request after the
-- calling transaction commits, so the function sees the messages that caused the call. Missing Vault secrets
-- raise when strict (scheduled jobs: the failure shows in cron.job_run_details) and only warn otherwise
-- (queue triggers: a producer's insert must never fail because wiring is incomplete; the message stays queued).
create or replace function analytics_invoke.call_function_v1(
  function_name text, reason text, path text default '/', timeout_ms integer default 60000,
  strict boolean default true)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  url text;
  base text;
  secret text;
begin
  select s.decrypted_secret into url from vault.decrypted_secrets s
   where s.name = 'wedsync_function_url_' || function_name limit 1;
  if url is null then
    select s.decrypted_secret into base from vault.decrypted_secrets s
     where s.name = 'wedsync_functions_base_url' limit 1;
    if base is not null then
      url := rtrim(base, '/') || '/' || function_name;
    end if;
  end if;
  select s.decrypted_secret into secret from vault.decrypted_secrets s
   where s.name = 'wedsync_invoke_secret' limit 1;
  if url is null or secret is null then
    if strict then
      raise exception 'cannot invoke function %: Vault secret % is missing', function_name,
        case when secret is null then 'wedsync_invoke_secret'
             else 'wedsync_functions_base_url (or wedsync_function_url_' || function_name || ')' end;
    end if;
    raise warning 'not invoking function %: Vault secrets wedsync_invoke_secret and wedsync_functions_base_url '
                  'are needed (see docs/deploy.md)', function_name;
    return null;
  end if;
  if path <> '/' then
    url := rtrim(url, '/') || path;
  end if;
  return net.http_post(
    url := url,
    body := '{}'::jsonb,
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || secret,
      'X-WedSync-Invoked-By', reason),
    timeout_milliseconds := timeout_ms);
end
$$;

-- Statement-level AFTER INSERT trigger on pgmq.q_<queue>: wakes the queue's function at most once per
-- min_interval_ms (trigger arguments: function name, path, timeout ms, min interval ms). Producers never wait on
-- each other here: a producer that finds the throttle row locked (another producer is already waking the
-- function) skips instead of queueing behind it.
create or replace function analytics_invoke.wake_on_insert_v1()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  fn text := tg_argv[0];
  fn_path text := coalesce(tg_argv[1], '/');
  timeout_ms integer := coalesce(tg_argv[2], '60000')::integer;
  window_ms integer := coalesce(tg_argv[3], '1000')::integer;
  cutoff timestamptz := clock_timestamp() - make_interval(secs => window_ms / 1000.0);
  last_call timestamptz;
begin
  -- The cheap unlocked look first: most inserts of a burst stop here.
  select t.last_called_at into last_call from analytics_invoke.throttle t where t.function_name = fn;
  if found and last_call > cutoff then
    return null;
  end if;
  if not found then
    -- wiring.sql creates the row; only a missing one is inserted here (an insert would wait on a producer
    -- that holds the row, which is exactly what this function avoids).
    insert into analytics_invoke.throttle (function_name) values (fn) on conflict do nothing;
  end if;
  perform 1 from analytics_invoke.throttle t
   where t.function_name = fn and t.last_called_at <= cutoff
   for update skip locked;
  if not found then
    return null;
  end if;
  update analytics_invoke.throttle t set last_called_at = clock_timestamp() where t.function_name = fn;
  perform analytics_invoke.call_function_v1(fn, 'queued', fn_path, timeout_ms, false);
  return null;
end
$$;

-- The safety net pg_cron runs every minute per queue function: if messages are waiting (visible), invoke the
-- function once per batch_size waiting messages, at most max_calls times in parallel (the function's
-- max_instances). Catches messages queued while the function was throttled, failed calls and restarts.
-- Returns how many calls it made.
create or replace function analytics_invoke.drain_v1(
  function_name text, queue_name text, batch_size integer, max_calls integer, path text default '/',
  timeout_ms integer default 60000)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  waiting bigint;
  calls integer;
begin
  execute format('select count(*) from (select 1 from pgmq.%I where vt <= clock_timestamp() limit %s) w',
                 'q_' || queue_name, batch_size::bigint * max_calls)
     into waiting;
  if waiting = 0 then
    return 0;
  end if;
  calls := least(max_calls, ceil(waiting::numeric / batch_size))::integer;
  for i in 1..calls loop
    perform analytics_invoke.call_function_v1(function_name, 'safety-net', path, timeout_ms, true);
  end loop;
  return calls;
end
$$;

-- Removes wiring a previous wiring.sql made that the current deploy.yaml no longer lists: insert triggers named
-- wedsync_wake_* on pgmq tables and pg_cron jobs named wedsync-*. Returns how many it removed.
create or replace function analytics_invoke.prune_v1(keep_triggers text[], keep_jobs text[])
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  removed integer := 0;
  t record;
begin
  for t in
    select tg.tgname, c.relname from pg_trigger tg
      join pg_class c on c.oid = tg.tgrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'pgmq' and tg.tgname like 'wedsync\_wake\_%' and not tg.tgname = any(keep_triggers)
  loop
    execute format('drop trigger %I on pgmq.%I', t.tgname, t.relname);
    removed := removed + 1;
  end loop;
  if to_regclass('cron.job') is not null then
    for t in execute 'select jobname from cron.job where jobname like ''wedsync-%'' and not jobname = any($1)'
      using keep_jobs
    loop
      execute 'select cron.unschedule($1)' using t.jobname;
      removed := removed + 1;
    end loop;
  end if;
  return removed;
end
$$;

revoke all on function analytics_invoke.call_function_v1(text, text, text, integer, boolean) from public;
revoke all on function analytics_invoke.wake_on_insert_v1() from public;
revoke all on function analytics_invoke.drain_v1(text, text, integer, integer, text, integer) from public;
revoke all on function analytics_invoke.prune_v1(text[], text[]) from public;
