-- Issue 13, points 7 and 11: free text out of the hash chain, and a versioned event hash.
--
-- Hash versions. Version 1 (every event written before this migration) is the unkeyed SHA-256 of the event's
-- canonical JSON, its instant to the millisecond. Version 2 is an HMAC-SHA256, with a key derived from the
-- pseudonym key (never in the database), of the same JSON plus `"v":2` and the instant to the microsecond as
-- stored: a database administrator can no longer compute a valid hash, and a shift below the millisecond is seen.
-- The version is itself committed to (a version-2 body differs from a version-1 body), and a version-1 event
-- after a version-2 one is refused by `audit verify`.
alter table audit_events add column hash_version smallint not null default 1 check (hash_version in (1, 2));
alter table retention_receipts add column hash_version smallint not null default 1 check (hash_version in (1, 2));

-- Free text an operator typed (a DPO's extension reason, a legal hold's reason or reference, the reason of a
-- break-glass archive read): kept here, outside the chain. The event's details commit to a keyed digest of each
-- text (details.texts.<field>), so a text that is present and was changed is detected, and a text can be erased
-- (body and digest row deleted) with the person or dossier it concerns, or with its event when the log is purged,
-- without breaking the chain. person_id / dossier_id are the internal ids of the row concerned (the same in the
-- active base and in the archive): a text whose person and dossier exist nowhere any more is swept.
create table audit_texts (
  seq bigint not null,
  field text not null,
  subject text,
  person_id bigint,
  dossier_id bigint,
  body text not null,
  created_at timestamptz not null,
  primary key (seq, field)
);
create index audit_texts_subject_idx on audit_texts (subject);
create index audit_texts_person_idx on audit_texts (person_id) where person_id is not null;
create index audit_texts_dossier_idx on audit_texts (dossier_id) where dossier_id is not null;
