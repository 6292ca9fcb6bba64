-- Alert notifications fanned out per incident (issue 18): the monitor run opens and resolves incidents in one
-- transaction and, in the same transaction, queues one `alerts` message per incident whose opening or
-- resolution has not reached every channel; `alert-worker` instances deliver one incident per transaction, so a
-- slow webhook holds one incident, never the run (docs/scaling.md, "Fan-out").

select pgmq.create('alerts');

do $$
begin
  if to_regprocedure('pgmq.disable_notify_insert(text)') is not null then
    perform pgmq.disable_notify_insert('alerts');
  end if;
end
$$;
create or replace trigger analytics_wake after insert on pgmq.q_alerts
  for each statement execute function public.analytics_queue_wake_v1('alerts');

-- One message per incident still to notify that has no message waiting; returns how many were queued.
create or replace function public.analytics_queue_alerts_v1(p_queue text)
returns bigint
language plpgsql
as $$
declare
  v_sent bigint;
begin
  execute format(
    $q$
    with due as (
      select i.id from public.analytics_quality_incidents i
      where (i.opened_notified_at is null or (i.resolved_at is not null and i.resolved_notified_at is null))
        and not exists (select 1 from pgmq.%I q where (q.message ->> 'incident_id')::bigint = i.id)
      order by i.id
    )
    select count(*) from due, pgmq.send(%L, jsonb_build_object('incident_id', due.id))
    $q$, 'q_' || p_queue, p_queue)
  into v_sent;
  return v_sent;
end
$$;

revoke execute on function public.analytics_queue_alerts_v1(text) from public, anon, authenticated;
grant execute on function public.analytics_queue_alerts_v1(text) to service_role;
