-- audit_append reads the chain's head under the lock (`order by seq desc limit 1`). PL/pgSQL plans that query once
-- per connection and keeps the plan: planned while the log was small (a fresh install, a connection's first append),
-- it was a sequential scan and a sort of the whole log, kept as the log grew until an ANALYZE of audit_events (done by
-- autovacuum when it runs; never where it is off) invalidated it. bench:console measured 30 ms of PostgreSQL CPU per
-- append on such a connection at 100,000 events. With sequential scans off inside the function, its plans read the
-- head by the primary key whatever the statistics say.
alter function audit_append(bigint, text, bigint[], timestamptz[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], text[], text[])
  set enable_seqscan = off;
