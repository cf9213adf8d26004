-- Data-subject rights (issue 8, GDPR art. 12 and 15 to 21): requests with their legal deadline and every action
-- taken, contested fields (rectification), standing oppositions (opposition and erasure per purpose).
--
-- No clear personal value here: a person is named by keyed blind indexes (match_key, nir_index: what the DPO's
-- NIR and birth date give) and by the audit pseudonym (subject). After a full erasure the blind indexes of the
-- person's requests are cleared; only the pseudonym stays, as it does in the audit log.
create table rights_requests (
  id bigserial primary key,
  type text not null check (type in ('access', 'rectification', 'limitation', 'opposition', 'erasure')),
  -- The purpose the request names (opposition or erasure for one purpose); null for every purpose.
  purpose text,
  -- Rectification: the canonical field ids contested (src/model/fields.ts), never their values.
  fields text[] not null default '{}',
  match_key text,
  nir_index text,
  subject text not null,
  -- How the person was found when the request was opened.
  matched_by text not null check (matched_by in ('nir_and_birth_date', 'nir', 'none')),
  received_on date not null,
  -- One month from receipt (art. 12(3)); three when extended, with the reason given to the person.
  due_on date not null,
  extended_due_on date,
  extension_reason text check (length(extension_reason) between 10 and 1000),
  state text not null default 'open' check (state in ('open', 'closed')),
  outcome text check (outcome in ('granted', 'partially_granted', 'refused', 'no_data', 'withdrawn')),
  limitation_id bigint references limitations (id) on delete set null,
  opened_by text not null,
  opened_at timestamptz not null,
  closed_by text,
  closed_at timestamptz,
  check ((state = 'closed') = (closed_at is not null and outcome is not null)),
  check ((extended_due_on is null) = (extension_reason is null))
);
create index rights_requests_open_due_idx on rights_requests (coalesce(extended_due_on, due_on)) where state = 'open';
create index rights_requests_match_key_idx on rights_requests (match_key);
create index rights_requests_subject_idx on rights_requests (subject);

-- Every action taken on a request (opened, extended, exported, flagged, erased, refused, lifted, closed...):
-- ids, counts, field ids and reasons, never a personal value.
create table rights_request_actions (
  id bigserial primary key,
  request_id bigint not null references rights_requests (id),
  occurred_at timestamptz not null,
  actor text not null,
  action text not null,
  details jsonb not null default '{}'
);
create index rights_request_actions_request_idx on rights_request_actions (request_id, id);

-- A field the person contests (art. 16), on one row of the canonical tables: the person's row, one of their
-- dossiers or memberships, or their France Travail registration. The value itself is not copied: a keyed digest
-- of it tells a later flow that changed it (the source body corrected it) from one that sent it again.
create table rights_contested_fields (
  id bigserial primary key,
  request_id bigint not null references rights_requests (id),
  field_id text not null,
  person_id bigint references persons (id) on delete cascade,
  dossier_id bigint references dossiers (id) on delete cascade,
  registration_id bigint references france_travail_registrations (id) on delete cascade,
  value_digest text,
  flagged_at timestamptz not null,
  closed_at timestamptz,
  closed_by_file_id bigint,
  closed_reason text check (closed_reason in ('corrected_by_source', 'closed_with_request')),
  check (person_id is not null or dossier_id is not null or registration_id is not null),
  check ((closed_at is null) = (closed_reason is null))
);
create index rights_contested_open_person_idx on rights_contested_fields (person_id) where closed_at is null;
create index rights_contested_open_dossier_idx on rights_contested_fields (dossier_id) where closed_at is null;
create index rights_contested_open_registration_idx on rights_contested_fields (registration_id) where closed_at is null;
create index rights_contested_request_idx on rights_contested_fields (request_id);

-- Standing oppositions (art. 21, or consent withdrawn then erasure, art. 17(1)(b)) for a purpose whose legal
-- basis allows it: the purpose no longer processes the person. Keyed by the audit pseudonym so that it outlives
-- a full erasure and is applied again if a later flow brings the person back; person_id is the live row, if any.
create table rights_oppositions (
  id bigserial primary key,
  request_id bigint not null references rights_requests (id),
  purpose text not null,
  subject text not null,
  person_id bigint references persons (id) on delete set null,
  since timestamptz not null,
  unique (subject, purpose)
);
create index rights_oppositions_person_idx on rights_oppositions (person_id, purpose);
