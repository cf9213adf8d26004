-- The destroy steps walk due archived rows in (anchor_day, id) order, chunk after chunk (keyset): one index range
-- scan per chunk instead of sorting every remaining due row again (which made a 1,000,000-row destruction
-- quadratic).
drop index archive.archive_dossiers_due_idx;
drop index archive.archive_persons_due_idx;
drop index archive.archive_ft_due_idx;
create index archive_dossiers_due_idx on archive.dossiers (policy_id, anchor_day, id);
create index archive_persons_due_idx on archive.persons (policy_id, anchor_day, id);
create index archive_ft_due_idx on archive.france_travail_registrations (policy_id, anchor_day, id);
