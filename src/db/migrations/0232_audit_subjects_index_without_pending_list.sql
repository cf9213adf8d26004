-- "Who accessed this person's file" is answered through a GIN index on the persons each list request served
-- (details.subjects: 50 for a page of the portfolio). With GIN's default fast update, new entries pile up in a
-- pending list that the next insert finding it over 4 MB (gin_pending_list_limit) merges into the index, or
-- autovacuum when it runs. That insert is an audit append, under the chain's lock: every request in flight waited
-- for the merge. bench:console, after partner software listed portfolios at 50 connections: each console page then
-- took 24 ms one at a time (23 ms of PostgreSQL CPU) instead of 1.8. Without the pending list each append updates the
-- index itself, at a steady cost.
alter index audit_events_subjects_idx set (fastupdate = off);
