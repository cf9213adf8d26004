-- Provenance columns (file_id) of the canonical tables keep the id of the file that last wrote the row, but no
-- foreign key: files are never deleted, and checking the key on every row of every merge cost about a fifth of the
-- load time of a monthly stock. rejections keep theirs (their rows die with their file).
alter table dossiers drop constraint dossiers_file_id_fkey;
alter table persons drop constraint persons_file_id_fkey;
alter table dossier_members drop constraint dossier_members_file_id_fkey;
alter table france_travail_registrations drop constraint france_travail_registrations_file_id_fkey;
alter table state_changes drop constraint state_changes_file_id_fkey;
