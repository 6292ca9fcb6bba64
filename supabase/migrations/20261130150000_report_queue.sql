-- Reports fanned out per organization (issue 18): the hourly `report` cron only plans, one message per due
-- (organization, kind, period) on the `reports` queue; the queue-triggered `report-worker` instances generate,
-- store and delete each message in one transaction (docs/scaling.md, "Reports").

select pgmq.create('reports');

-- The plan: one row per report ever queued, keyed like the report itself. It is what makes planning idempotent
-- (a second planner run in the same hour finds the row and sends nothing) and it is the report queue's dead
-- letter: a message that cannot be turned into a report ends here as state 'dead' with its reasons. Report
-- messages are not events, so they do not go to analytics_dead_letters (whose letters replay into the event
-- pipeline).
create table public.analytics_report_plans (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  kind            text not null check (kind in ('weekly', 'monthly')),
  period_start    date not null,
  state           text not null default 'queued' check (state in ('queued', 'done', 'dead')),
  planned_at      timestamptz not null default now(),
  sends           integer not null default 1,
  finished_at     timestamptz,
  last_error      text,
  reasons         jsonb,
  payload         jsonb,
  primary key (organization_id, kind, period_start)
);

create index analytics_report_plans_dead_idx on public.analytics_report_plans (finished_at) where state = 'dead';

alter table public.analytics_report_plans enable row level security;
create policy analytics_report_plans_own on public.analytics_report_plans
  for select to authenticated using (organization_id = (select public.analytics_request_org()));
-- Supabase's default privileges grant every new table to anon and authenticated: take them back, then let the
-- organization's users read their own plans (the policy limits the rows).
revoke all on public.analytics_report_plans from public, anon, authenticated;
grant select on public.analytics_report_plans to authenticated;

-- Wake the local runner's report-worker dispatcher like the other queues (20261129000100_queue_wakeups.sql).
do $$
begin
  if to_regprocedure('pgmq.disable_notify_insert(text)') is not null then
    perform pgmq.disable_notify_insert('reports');
  end if;
end
$$;
create or replace trigger analytics_wake after insert on pgmq.q_reports
  for each statement execute function public.analytics_queue_wake_v1('reports');
