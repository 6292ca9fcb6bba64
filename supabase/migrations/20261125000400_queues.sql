-- The queues between the stages. ingest -> validate reads "ingest"; validate -> aggregate reads "aggregate".
-- Insert notifications wake the local runner at once; production wires the same queues to HTTP calls
-- (see docs/triggering.md).

select pgmq.create('ingest');
select pgmq.create('aggregate');

-- Throttled: with 0, every insert updates one shared throttle row, which serialises all concurrent senders.
-- At most one wake-up per 50 ms per queue is plenty: one drain call takes everything queued so far.
select pgmq.enable_notify_insert('ingest', 50);
select pgmq.enable_notify_insert('aggregate', 50);
