-- The queues between the stages. ingest -> validate reads "ingest"; validate -> aggregate reads "aggregate".
-- Insert notifications wake the local runner at once; production wires the same queues to HTTP calls
-- (see docs/triggering.md).

select pgmq.create('ingest');
select pgmq.create('aggregate');

-- Throttled: with 0, every insert updates one shared throttle row, which serialises all concurrent senders.
-- At most one wake-up per 10 ms per queue (at most 100 updates of that row a second) is plenty: one drain
-- call takes everything queued so far.
select pgmq.enable_notify_insert('ingest', 10);
select pgmq.enable_notify_insert('aggregate', 10);
