-- audit_append reads the chain's head under the lock (`order by seq desc limit 1`). PL/pgSQL plans that query once
-- per connection and keeps the plan: made while the statistics said the log was small (analysed then: a `vacuum
-- analyze` after an install or a restore, or bench:console's after its load), it is a sequential scan and a sort of
-- the whole log, kept as the log grows until another ANALYZE of audit_events invalidates it (autovacuum's, where it
-- runs: not in PGlite, not where it is turned off). bench:console measured 30 ms of PostgreSQL CPU per append on such
-- a connection at 100,000 events, under the lock every request waits for. With sequential scans off inside the
-- function, its plans read the head by the primary key whatever the statistics say.
alter function audit_append(bigint, text, bigint[], timestamptz[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], text[], text[])
  set enable_seqscan = off;
