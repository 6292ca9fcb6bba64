-- The retention fan-out's queries (shared/monitor/retention_jobs.py): the plan and the worker's queue steps.

-- name: retention_plan
-- Queues one message per organization (its cutoff) unless one waits already; returns how many were queued.
select public.analytics_plan_retention_v1(%(queue)s, %(orgs)s::uuid[], %(befores)s::timestamptz[],
                                          %(stored_before)s::timestamptz) as queued;

-- name: retention_queue_again
-- Makes a message visible again after `seconds` (0: at once, because its organization has more to delete).
select msg_id from pgmq.set_vt(%(queue)s, %(msg_id)s, %(seconds)s);

-- name: retention_queue_archive
-- Moves a message that cannot be processed to the queue's archive (pgmq.a_<queue>), where it stays for a look.
select pgmq.archive(%(queue)s, %(msg_id)s::bigint) as archived;
