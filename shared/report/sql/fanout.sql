-- name: report_plan
-- Plans the due reports in one statement: a new (organization, kind, period) gets a plan row and one message; a
-- report owed a retry (`retry`) is queued again only if no message of it is outstanding. Returns the messages sent.
with due as (
  select d.organization_id, d.kind, d.period_start, d.retry
  from jsonb_to_recordset(%(due)s::jsonb) as d(organization_id uuid, kind text, period_start date, retry boolean)
),
fresh as (
  insert into public.analytics_report_plans (organization_id, kind, period_start)
  select organization_id, kind, period_start from due
  on conflict (organization_id, kind, period_start) do nothing
  returning organization_id, kind, period_start
),
again as (
  update public.analytics_report_plans p
  set state = 'queued', planned_at = now(), sends = p.sends + 1, finished_at = null, last_error = null,
      reasons = null, payload = null
  from due
  where due.retry and p.organization_id = due.organization_id and p.kind = due.kind
    and p.period_start = due.period_start and p.state = 'done'
  returning p.organization_id, p.kind, p.period_start
),
planned as (
  select * from fresh union all select * from again
)
-- Nothing planned sends nothing: newer pgmq refuses an empty batch (its SQL-only build, used with the embedded
-- server, checks; 1.4.4 does not), and CASE only evaluates the send when there is something to send.
select case when m.msgs is null then 0 else (select count(*) from pgmq.send_batch(%(queue)s, m.msgs)) end as count
from (
  select array_agg(jsonb_build_object('organization_id', organization_id, 'kind', kind, 'period_start', period_start)
                   order by period_start, organization_id, kind) as msgs
  from planned
) m;

-- name: report_plan_done
-- Marks a planned report as made (in the worker's transaction, with the queue delete).
update public.analytics_report_plans
set state = 'done', finished_at = now(), last_error = null
where organization_id = %(organization_id)s and kind = %(kind)s and period_start = %(period_start)s;

-- name: report_plan_failed
-- Records why an attempt failed; the message stays queued and comes back after its visibility timeout.
update public.analytics_report_plans
set last_error = %(error)s
where organization_id = %(organization_id)s and kind = %(kind)s and period_start = %(period_start)s;

-- name: report_plan_dead
-- The report queue's dead letter: the message, and every reason it could not be made into a report. A message
-- whose report has no plan row (queued by hand, or unreadable) gets one, under the unknown organization if need be.
insert into public.analytics_report_plans as p
  (organization_id, kind, period_start, state, finished_at, last_error, reasons, payload)
select o.id, %(kind)s, %(period_start)s, 'dead', now(), %(error)s, %(reasons)s, %(payload)s
from public.organizations o where o.id = %(organization_id)s
on conflict (organization_id, kind, period_start) do update
set state = 'dead', finished_at = now(), last_error = excluded.last_error, reasons = excluded.reasons,
    payload = excluded.payload;

-- name: report_plans_dead
-- The report queue's dead letters, newest first.
select organization_id, kind, period_start, last_error, reasons, payload, finished_at
from public.analytics_report_plans where state = 'dead' order by finished_at desc limit %(limit)s;

-- name: report_queue_later
-- Hides a message whose report failed for `seconds` before a worker reads it again.
select msg_id from pgmq.set_vt(%(queue)s, %(msg_id)s, %(seconds)s);

-- name: report_queue_archive
-- Moves an unreadable message to the queue's archive (pgmq.a_<queue>): kept, never processed again.
select pgmq.archive(%(queue)s, %(msg_id)s);
