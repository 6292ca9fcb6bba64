-- Aggregate-stage dead letters can be replayed (their event ids go back on the aggregate queue), so until they
-- are, their ids are as pending as the queue's: recovery leaves them out of a recomputation, because the replay
-- will add them. Without this, a rebuild would count them and the replay would count them again. A discarded
-- letter is no longer pending: rebuild counts its events.
create or replace function public.analytics_pending_event_ids_v1(p_org uuid, p_queue text default 'aggregate')
returns table (id bigint)
language plpgsql
stable
as $$
#variable_conflict use_column
begin
  return query execute format(
    'select distinct (jsonb_array_elements_text(message -> ''ids''))::bigint from pgmq.%I '
    'where message ->> ''organization_id'' = $1', 'q_' || p_queue)
  using p_org::text;
  return query
    select distinct i.value::bigint
    from public.analytics_dead_letters d
    cross join lateral jsonb_array_elements_text(
      case when jsonb_typeof(d.payload -> 'ids') = 'array' then d.payload -> 'ids' else '[]' end) i
    where d.organization_id = p_org and d.stage = 'aggregate' and d.replay_state in ('pending', 'failed')
      and i.value ~ '^[0-9]{1,18}$';  -- an id the database refused (out of range) names no stored event
end
$$;
