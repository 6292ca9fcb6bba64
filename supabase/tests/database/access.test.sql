-- What Supabase's default privileges would open, closed: run by `supabase test db` (pgTAP) and by
-- tests/integration/test_pgtap.py. The exhaustive try of every privilege as anon and as another
-- organization's user is tests/integration/test_access.py; this file states the rules.
begin;
select plan(6);

-- A partition made now is secured like the ones the migrations made.
select public.analytics_ensure_event_partitions_v1('2035-01-01', 1);

select is_empty(
  $$ select c.oid::regclass::text
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and n.nspname = 'public' and not c.relrowsecurity
       and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id') $$,
  'every table holding organization data has row-level security, every event partition included'
);

select ok(
  to_regclass('public.analytics_events_y2035m01') is not null,
  'the partition made in this test exists (so the check above covered it)'
);

select is_empty(
  $$ select c.oid::regclass::text || ' ' || p.privilege
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     cross join unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) p (privilege)
     where c.relkind in ('r', 'p', 'v', 'm', 'f')
       and ((n.nspname = 'public' and (c.relname like 'analytics\_%' or c.relname in ('organizations', 'api_keys')))
            or n.nspname = 'analytics_invoke')
       and has_table_privilege('anon', c.oid, p.privilege) $$,
  'anon has no privilege on any table or view of ours'
);

select is_empty(
  $$ select p.oid::regprocedure::text
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where ((n.nspname = 'public' and p.proname like 'analytics\_%') or n.nspname = 'analytics_invoke')
       and has_function_privilege('anon', p.oid, 'execute') $$,
  'anon can execute none of our functions'
);

select set_eq(
  $$ select p.oid::regprocedure::text
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where ((n.nspname = 'public' and p.proname like 'analytics\_%') or n.nspname = 'analytics_invoke')
       and has_function_privilege('authenticated', p.oid, 'execute') $$,
  array['analytics_request_org()', 'analytics_materialized_views_v1()',
        'analytics_bucket_v1(timestamp with time zone)'],
  'a signed-in user can execute only what its policies, views and the dashboard''s queries call'
);

select is_empty(
  $$ select c.oid::regclass::text || ' ' || p.privilege
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     cross join unnest(array['insert', 'update', 'delete', 'truncate']) p (privilege)
     where c.relkind in ('r', 'p', 'v', 'm', 'f')
       and ((n.nspname = 'public' and (c.relname like 'analytics\_%' or c.relname in ('organizations', 'api_keys')))
            or n.nspname = 'analytics_invoke')
       and has_table_privilege('authenticated', c.oid, p.privilege) $$,
  'a signed-in user can write to nothing of ours'
);

select * from finish();
rollback;
