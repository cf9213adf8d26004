-- The archive is written only by the retention run, set-based, one transaction per chunk: members are inserted
-- only by joining their archived dossier and person, and a person is destroyed only when no archived member
-- refers to it (checked in the query). Per-row foreign-key checks halved the archive and destroy rates
-- (bench/retention.bench.ts), so the archive tables keep their indexes but not these constraints.
alter table archive.dossier_members drop constraint dossier_members_dossier_id_fkey;
alter table archive.dossier_members drop constraint dossier_members_person_id_fkey;
alter table archive.state_changes drop constraint state_changes_dossier_id_fkey;
