-- The trigger design the seed sketched, for bench/peer.py only (applied to its throwaway database, never a
-- migration): the HTTP handler inserts checked events into public.analytics_events and this statement-level
-- trigger folds them into the same rollups, with the same fold our aggregate stage calls, in the same
-- transaction as the insert.

create or replace function public.peer_fold_v1()
returns trigger
language plpgsql
as $$
begin
  perform public.analytics_aggregate_events_v1(
    (select array_agg(id) from inserted), (select min(occurred_at) from inserted), (select max(occurred_at) from inserted));
  return null;
end;
$$;

create trigger peer_fold after insert on public.analytics_events
  referencing new table as inserted for each statement execute function public.peer_fold_v1();
