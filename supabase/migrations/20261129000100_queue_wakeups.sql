-- Wake-ups for the queue consumers that work on every pgmq version a project may have: 1.4.4 as Supabase ships
-- it, 1.5.x, and the SQL-only build of the PyPI package. pgmq's own pgmq.enable_notify_insert only exists from
-- 1.7 on (and updates one shared throttle row per insert), so the earlier queue migrations no longer call it.
--
-- One notification per inserting statement, on channel analytics_wake_<queue>, delivered when the sending
-- transaction commits. No throttle: a listener that is draining when a message lands finds that message's
-- notification waiting once its drain ends, so no wake-up is lost. The local runner listens; in production the
-- database calls the functions over HTTP instead (the wiring from `deploy plan`), and the notification has no
-- listener.

create or replace function public.analytics_queue_wake_v1()
returns trigger
language plpgsql
as $$
begin
  perform pg_notify('analytics_wake_' || tg_argv[0], '');
  return null;
end
$$;

-- A trigger function: nobody calls it directly, and nobody but the owner needs to attach it.
revoke all on function public.analytics_queue_wake_v1() from public, anon, authenticated, service_role;

do $$
declare
  queue text;
begin
  foreach queue in array array['ingest', 'aggregate', 'refresh'] loop
    -- A database migrated before this file with a pgmq that has insert notifications: switch pgmq's off.
    if to_regprocedure('pgmq.disable_notify_insert(text)') is not null then
      perform pgmq.disable_notify_insert(queue);
    end if;
    execute format(
      'create or replace trigger analytics_wake after insert on pgmq.%I'
      ' for each statement execute function public.analytics_queue_wake_v1(%L)',
      'q_' || queue, queue);
  end loop;
end
$$;
