-- Retention fanned out per organization (issue 18): the daily `retention` cron drops whole partitions and prunes
-- what is global, then queues one message per organization on the `retention` queue; `retention-worker`
-- instances delete each organization's expired raw events and idempotency keys in short batches, one
-- transaction per batch with the message's read and its delete or its return to the queue (docs/scaling.md).

select pgmq.create('retention');

do $$
begin
  if to_regprocedure('pgmq.disable_notify_insert(text)') is not null then
    perform pgmq.disable_notify_insert('retention');
  end if;
end
$$;
create or replace trigger analytics_wake after insert on pgmq.q_retention
  for each statement execute function public.analytics_queue_wake_v1('retention');

-- Queues one message per organization (its cutoff and the re-send window), leaving out organizations that still
-- have a message waiting, so a second plan before the workers are done queues nothing twice. Returns how many.
create or replace function public.analytics_plan_retention_v1(
  p_queue text, p_orgs uuid[], p_befores timestamptz[], p_stored_before timestamptz)
returns bigint
language plpgsql
as $$
declare
  v_sent bigint;
begin
  execute format(
    $q$
    with due as (
      select t.org, t.before
      from unnest($1, $2) as t (org, before)
      where not exists (select 1 from pgmq.%I q where q.message ->> 'organization_id' = t.org::text)
      order by t.org
    )
    select count(*) from due, pgmq.send(%L, jsonb_build_object(
      'organization_id', due.org, 'before', due.before, 'stored_before', $3::timestamptz))
    $q$, 'q_' || p_queue, p_queue)
  into v_sent
  using p_orgs, p_befores, p_stored_before;
  return v_sent;
end
$$;

revoke execute on function public.analytics_plan_retention_v1(text, uuid[], timestamptz[], timestamptz)
  from public, anon, authenticated;
grant execute on function public.analytics_plan_retention_v1(text, uuid[], timestamptz[], timestamptz)
  to service_role;
