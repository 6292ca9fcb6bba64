-- pg_partman manages the monthly partitions of analytics_events where the server has it (Supabase offers it);
-- our own functions (analytics_ensure_event_partitions_v1's loop, 20261129000200) stay the fallback where it is
-- missing or cannot be created by the migrating role. Both kinds of server run this file.
--
-- Under pg_partman: the same interval (1 month) and the same twelve months made ahead, native partitioning, the
-- existing partitions kept (renamed to partman's `analytics_events_pYYYY_MM` so its maintenance recognises
-- them; the default partition kept as it is, or, where partman makes its own, its rows put back). partman's automatic maintenance is
-- off for this table: our scheduled callers (the validator's daily analytics_ensure_event_partitions_v1, the
-- monitor's retention run) call `run_maintenance('public.analytics_events')` and then secure every new
-- partition (row-level security on, nothing granted to anon or authenticated) in the same transaction, before
-- a row can land in it. partman's retention is left unset: retention is per organization
-- (settings.retention_days), so shared/monitor/retention.py drops whole partitions only once every
-- organization's retention allows it (analytics_drop_event_partition_v1, which works on any partition by its
-- bounds), and deletes rows otherwise.
--
-- `set wedsync.partition_manager = 'own'` (per session, role or database) forces the fallback.

-- The schema pg_partman is installed in, or null where it is not installed in this database.
create or replace function public.analytics_partman_schema_v1()
returns name
language sql
stable
as $$
  select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_partman'
$$;

-- Who makes analytics_events's partitions: 'pg_partman' when it is registered there, otherwise 'own'.
create or replace function public.analytics_partition_manager_v1()
returns text
language plpgsql
stable
as $$
declare
  v_schema  name := public.analytics_partman_schema_v1();
  v_managed boolean := false;
begin
  if v_schema is not null and coalesce(current_setting('wedsync.partition_manager', true), '') <> 'own' then
    execute format('select exists (select 1 from %I.part_config where parent_table = %L)',
                   v_schema, 'public.analytics_events') into v_managed;
  end if;
  return case when v_managed then 'pg_partman' else 'own' end;
end
$$;

-- Row-level security on and no grants on every partition of analytics_events that lacks them (the ones pg_partman
-- just made); returns how many it secured.
create or replace function public.analytics_secure_event_partitions_v1()
returns integer
language plpgsql
as $$
declare
  part      regclass;
  v_secured integer := 0;
begin
  for part in
    select c.oid::regclass from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'public.analytics_events'::regclass
      and (not c.relrowsecurity or has_table_privilege('anon', c.oid, 'select')
           or has_table_privilege('authenticated', c.oid, 'select'))
  loop
    perform public.analytics_secure_partition_v1(part);
    v_secured := v_secured + 1;
  end loop;
  return v_secured;
end
$$;

-- Registers analytics_events with pg_partman: creates the extension (schema partman) where it is available and
-- the role may, then create_parent over the existing partitions. Returns the manager in effect afterwards.
-- Idempotent; run again after enabling pg_partman on a project (e.g. from the dashboard) to switch over.
create or replace function public.analytics_adopt_partman_v1()
returns text
language plpgsql
as $$
declare
  v_schema name;
  v_first  timestamptz;
  part     record;
  v_name   text;
begin
  perform pg_advisory_xact_lock(hashtext('analytics_ensure_event_partitions'));
  if coalesce(current_setting('wedsync.partition_manager', true), '') = 'own' then
    return 'own';
  end if;
  v_schema := public.analytics_partman_schema_v1();
  if v_schema is null then
    if not exists (select 1 from pg_available_extensions where name = 'pg_partman') then
      return 'own';
    end if;
    begin
      create schema if not exists partman;
      create extension pg_partman schema partman;
    exception when insufficient_privilege or feature_not_supported or undefined_file then
      -- Not creatable by this role (a non-superuser without Supabase's supautils): stay on the fallback.
      return 'own';
    end;
    v_schema := 'partman';
  end if;
  if public.analytics_partition_manager_v1() = 'pg_partman' then
    return 'pg_partman';
  end if;
  for part in select p.name, p.range_from from public.analytics_event_partitions_v1() p loop
    v_name := format('analytics_events_p%s', to_char(part.range_from, 'YYYY_MM'));
    if part.name <> v_name then
      execute format('alter table public.%I rename to %I', part.name, v_name);
    end if;
  end loop;
  select min(p.range_from) into v_first from public.analytics_event_partitions_v1() p;
  -- partman makes its own default partition; ours is set aside and its rows put back through the parent.
  if to_regclass('public.analytics_events_default') is not null then
    alter table public.analytics_events detach partition public.analytics_events_default;
    alter table public.analytics_events_default rename to analytics_events_default_before_partman;
  end if;
  execute format(
    'select %I.create_parent(p_parent_table := %L, p_control := %L, p_type := %L, p_interval := %L,
                             p_premake := 12, p_automatic_maintenance := %L, p_start_partition := %L,
                             p_jobmon := false)',
    v_schema, 'public.analytics_events', 'occurred_at', 'native', '1 month', 'off',
    to_char(coalesce(v_first, date_trunc('month', now())), 'YYYY-MM-DD HH24:MI:SSOF'));
  -- Keep making partitions ahead of the clock, not of the newest row; no partman retention (see above).
  execute format('update %I.part_config set infinite_time_partitions = true, retention = null
                  where parent_table = %L', v_schema, 'public.analytics_events');
  -- create_parent makes a default partition only when it made a partition; otherwise ours goes back as it was.
  if to_regclass('public.analytics_events_default_before_partman') is null then
    null;
  elsif to_regclass('public.analytics_events_default') is null then
    alter table public.analytics_events_default_before_partman rename to analytics_events_default;
    alter table public.analytics_events attach partition public.analytics_events_default default;
  else
    insert into public.analytics_events select * from public.analytics_events_default_before_partman;
    drop table public.analytics_events_default_before_partman;
  end if;
  perform public.analytics_secure_event_partitions_v1();
  return 'pg_partman';
end
$$;

-- Same signature and result as before (partitions created). Under pg_partman: rows waiting in the default
-- partition are moved by partman.partition_data_time, partman's maintenance makes the partitions ahead, any month
-- of the requested range still missing is made by partman.create_partition_time, and every new partition is
-- secured. Otherwise our own monthly partitions, as before.
create or replace function public.analytics_ensure_event_partitions_v1(p_from date, p_months integer)
returns integer
language plpgsql
as $$
declare
  v_schema  name;
  v_start   date := date_trunc('month', p_from)::date;
  v_end     date;
  v_name    text;
  v_created integer := 0;
  v_before  integer;
  v_missing timestamptz[];
begin
  perform pg_advisory_xact_lock(hashtext('analytics_ensure_event_partitions'));
  if public.analytics_partition_manager_v1() = 'pg_partman' then
    v_schema := public.analytics_partman_schema_v1();
    select count(*) into v_before from pg_inherits where inhparent = 'public.analytics_events'::regclass;
    if exists (select 1 from public.analytics_events_default) then
      execute format('select %I.partition_data_time(p_parent_table := %L, p_batch_count := 1000000)',
                     v_schema, 'public.analytics_events');
    end if;
    execute format('select %I.run_maintenance(p_parent_table := %L, p_analyze := false, p_jobmon := false)',
                   v_schema, 'public.analytics_events');
    select array_agg(m.m) into v_missing
    from generate_series(v_start::timestamptz, v_start + (greatest(p_months, 1) - 1) * interval '1 month',
                         interval '1 month') m(m)
    where not exists (select 1 from public.analytics_event_partitions_v1() p
                      where p.range_from <= m.m and p.range_to > m.m);
    if v_missing is not null then
      execute format('select %I.create_partition_time(p_parent_table := %L, p_partition_times := %L::timestamptz[],
                                                      p_analyze := false)',
                     v_schema, 'public.analytics_events', v_missing);
    end if;
    perform public.analytics_secure_event_partitions_v1();
    return (select count(*) from pg_inherits where inhparent = 'public.analytics_events'::regclass) - v_before;
  end if;
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

revoke all on function public.analytics_partman_schema_v1(), public.analytics_partition_manager_v1(),
  public.analytics_secure_event_partitions_v1(), public.analytics_adopt_partman_v1(),
  public.analytics_ensure_event_partitions_v1(date, integer) from public, anon, authenticated;

select public.analytics_adopt_partman_v1();
