-- Bounded growth: what retention needs to prune the idempotency keys, the dead letters and the intake counters
-- without scanning them whole.

-- When a key was first stored, so a key is kept for at least the re-send window after its event arrived (a fast
-- default: existing keys count as stored now, which only keeps them longer).
alter table public.analytics_event_keys add column stored_at timestamptz not null default now();

-- The key table is not partitioned, and cannot usefully be: its primary key (organization_id, event_id) is the
-- idempotency guarantee and would have to include the partition key. Pruning is a batched delete per
-- organization along this index.
create index analytics_event_keys_org_occurred_idx on public.analytics_event_keys (organization_id, occurred_at);

create index analytics_dead_letters_last_seen_idx on public.analytics_dead_letters (last_seen_at);

create index analytics_source_stats_bucket_idx on public.analytics_source_stats (bucket);
