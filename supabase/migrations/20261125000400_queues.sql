-- The queues between the stages. ingest -> validate reads "ingest"; validate -> aggregate reads "aggregate".
-- What wakes their consumers is in 20261129000100_queue_wakeups.sql (docs/triggering.md).

select pgmq.create('ingest');
select pgmq.create('aggregate');

