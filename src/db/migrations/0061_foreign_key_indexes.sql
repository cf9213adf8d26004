-- Every foreign key whose parent rows are deleted (on delete cascade / set null) is backed by a full index on its
-- columns: PostgreSQL checks such a key once per deleted parent row, and a partial index (`where closed_at is null`)
-- cannot serve that lookup, so each person or dossier the retention run or an erasure deleted cost one sequential
-- scan of the child table. test/integration/database.test.ts fails when a new key lacks its index.
drop index rights_contested_open_person_idx;
drop index rights_contested_open_dossier_idx;
drop index rights_contested_open_registration_idx;
create index rights_contested_person_idx on rights_contested_fields (person_id);
create index rights_contested_dossier_idx on rights_contested_fields (dossier_id);
create index rights_contested_registration_idx on rights_contested_fields (registration_id);
create index rights_requests_limitation_idx on rights_requests (limitation_id);
