-- The queues between the stages. ingest -> validate reads "ingest"; validate -> aggregate reads "aggregate".
-- Insert notifications wake the local runner at once; production wires the same queues to HTTP calls
-- (see docs/triggering.md).

select pgmq.create('ingest');
select pgmq.create('aggregate');

select pgmq.enable_notify_insert('ingest', 0);
select pgmq.enable_notify_insert('aggregate', 0);
