-- Issue 15: France Travail records without a NIR (SPIE extracts, files that omit it) are matched to a person by a
-- linked France Travail identifier (france_travail_links, migration 0270), else by an exact identity, else queued
-- for an operator (src/matching/).

-- The person's identity index: a keyed HMAC of the normalised birth name, first name and birth date
-- (src/crypto/blind-index.ts identityIndex), computed at ingestion of the CAF/MSA beneficiary flows. Not unique:
-- homonyms born the same day share it, and a record naming such an identity is queued, never linked. Rows loaded
-- before this migration have none until the next stock of their flow. Like nir_index, it is never archived.
alter table persons add column identity_index text;
create index persons_identity_index_idx on persons (identity_index);

-- The matching queue: one row per record a file named that matched nobody, or several persons. The identity the
-- operator needs to decide (birth name, first name, birth date, France Travail identifier) is sealed with AES-GCM
-- (the NIR key) and opened only in the DPO/admin view; it is wiped once the row is resolved. The registration
-- the record carries is kept, minimised as france_travail_registrations would store it, to be applied on a link.
create table matching_queue (
  id bigserial primary key,
  flow_id text not null,
  -- One pending row per person as the flow names them: the identifier index and the identity index (keyed).
  queue_key text not null,
  identifier_index text,
  identity_index text not null,
  -- ambiguous: several persons bear the identity (or the file names several with it); not_found: none does;
  -- identifier_conflict: the one person bearing it is linked to another France Travail identifier.
  reason text not null check (reason in ('ambiguous', 'not_found', 'identifier_conflict')),
  -- How many persons of the active base bore the identity when the record was queued.
  candidates integer not null,
  identity_sealed bytea,
  registration jsonb,
  file_id bigint not null references files (id) on delete cascade,
  record_index integer not null,
  line integer,
  transmitted_at timestamptz not null,
  state text not null default 'pending' check (state in ('pending', 'linked', 'discarded')),
  person_id bigint references persons (id) on delete set null,
  resolved_by text,
  resolved_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index matching_queue_pending_key on matching_queue (flow_id, queue_key) where state = 'pending';
create index matching_queue_file_idx on matching_queue (file_id);
create index matching_queue_person_idx on matching_queue (person_id);

-- Each file's summary: records matched by France Travail identifier, by identity, queued.
alter table files add column records_matched_identifier integer not null default 0;
alter table files add column records_matched_identity integer not null default 0;
alter table files add column records_queued integer not null default 0;
