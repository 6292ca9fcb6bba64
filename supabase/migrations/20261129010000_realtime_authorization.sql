-- Who may receive the change notices on Supabase Realtime (docs/aggregation.md, "Live updates").
--
-- analytics_publish_change_v1 broadcasts each notice with realtime.send(payload, 'analytics_changes',
-- 'analytics:<organization id>', true): a private channel per organization. Realtime lets a client join a
-- private channel only if, as that client (role from its JWT, `request.jwt.claims` set, `realtime.topic` set to
-- the channel's topic), it can SELECT a broadcast row of that topic from realtime.messages. So the policy below
-- is the whole authorisation: a signed-in user receives the topic of their own organization
-- (analytics_request_org(): the `organization_id` claim, top-level or in app_metadata) and nothing else.
-- Users get no INSERT policy: only the pipeline publishes (realtime.send runs as the pipeline's role), and a
-- client's own broadcast or presence on these topics is refused.
--
-- realtime.messages is created by the Realtime server's own migrations, not by the database image: a plain
-- PostgreSQL (CI, the embedded server) has no realtime schema, and there the notices go to pg_notify instead.
-- The policy is therefore created only where the table exists.

do $$
begin
  if to_regclass('realtime.messages') is null then
    raise notice 'no realtime.messages: the Realtime policy for analytics notices is not created';
    return;
  end if;
  -- `(select ...)`: evaluated once per query, not per row. The topic is compared twice on purpose: Realtime asks
  -- about the channel it is joining (realtime.topic()), and a direct read of the table sees only that topic's
  -- rows, never another organization's notices.
  create policy analytics_changes_receive on realtime.messages
    as permissive
    for select
    to authenticated
    using (
      extension = 'broadcast'
      and topic = (select realtime.topic())
      and (select realtime.topic()) = 'analytics:' || (select public.analytics_request_org())::text
    );
end
$$;
