-- Access on a Supabase project: nothing of ours is reachable through the public anon key, and a signed-in user
-- reads only what the dashboard reads, through row-level security.
--
-- Supabase's `public` schema has default privileges that grant every new table, view, sequence and function
-- that `postgres` creates to anon, authenticated and service_role. Our earlier migrations granted what they
-- meant to, but the defaults had already granted everything else (insert, update, delete, truncate, every
-- sequence, every helper function), and the event partitions had row-level security off. Here: revoke what the
-- defaults gave on every object of ours, then grant deliberately. A test (tests/integration/test_access.py)
-- tries every privilege on every relation and function as anon and as another organization's user.

-- Event partitions, the default one included, have row-level security like their parent. Queried through the
-- parent, the parent's policies apply; queried directly, a partition without a policy shows nobody anything.
create or replace function public.analytics_secure_partition_v1(p_partition regclass)
returns void
language plpgsql
as $$
begin
  execute format('alter table %s enable row level security', p_partition);
  execute format('revoke all on %s from public, anon, authenticated', p_partition);
end
$$;

do $$
declare
  part regclass;
begin
  for part in select inhrelid::regclass from pg_inherits where inhparent = 'public.analytics_events'::regclass loop
    perform public.analytics_secure_partition_v1(part);
  end loop;
end
$$;

-- Same signature and result as before; a partition it creates is now secured in the same transaction, before
-- any row can land in it.
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
      perform public.analytics_secure_partition_v1(format('public.%I', v_name)::regclass);
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

-- Revoke what the default privileges gave: every relation and function of ours, from everyone but the owner.
do $$
declare
  obj record;
begin
  for obj in
    select c.oid::regclass as rel, c.relkind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      and ((n.nspname = 'public' and (c.relname like 'analytics\_%' or c.relname in ('organizations', 'api_keys')))
           or n.nspname = 'analytics_invoke')
  loop
    execute format('revoke all on %s from public, anon, authenticated', obj.rel);
  end loop;
  for obj in
    select p.oid::regprocedure as fn
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where (n.nspname = 'public' and p.proname like 'analytics\_%') or n.nspname = 'analytics_invoke'
  loop
    execute format('revoke all on function %s from public, anon, authenticated', obj.fn);
  end loop;
end
$$;

-- What a signed-in user of an organization may read: the dashboard runs as `authenticated` with the user's
-- claims, and every table here has a policy limiting rows to the caller's organization. Read only: writes are
-- the pipeline's, as the owner.
grant select on
  public.organizations, public.api_keys,
  public.analytics_events, public.analytics_event_keys, public.analytics_dead_letters, public.analytics_source_stats,
  public.analytics_rollups, public.analytics_rollups_daily, public.analytics_active_clients,
  public.analytics_client_days, public.analytics_client_day_firsts,
  public.analytics_view_refreshes, public.analytics_view_changes, public.analytics_view_freshness,
  public.analytics_booking_facts, public.analytics_client_funnel, public.analytics_cohorts, public.analytics_lead_times,
  public.analytics_quality_checks, public.analytics_quality_latest, public.analytics_quality_incidents,
  public.analytics_schema_catalog, public.analytics_rollup_rebuilds, public.analytics_erasure_audit,
  public.analytics_reports
to authenticated;
-- Sources without their (encrypted) secrets.
grant select (id, organization_id, provider, name, previous_secret_expires_at, settings, created_at, rotated_at)
  on public.analytics_webhook_sources to authenticated;
-- Called by the policies and the filtered views a user reads (a view checks EXECUTE as the querying user), and
-- the 15-minute bucket of a time (pure arithmetic) that the dashboard's rollup queries use.
grant execute on function
  public.analytics_request_org(), public.analytics_materialized_views_v1(), public.analytics_bucket_v1(timestamptz)
to authenticated;

-- The service role (the project's secret key) keeps full use, as Supabase gives it; it bypasses RLS anyway.
do $$
declare
  obj record;
begin
  for obj in
    select p.oid::regprocedure as fn
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname like 'analytics\_%'
      and p.prorettype <> 'trigger'::regtype
  loop
    execute format('grant execute on function %s to service_role', obj.fn);
  end loop;
end
$$;
