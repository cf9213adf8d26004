-- France Travail partner APIs (issue 16): the person ↔ France Travail identifier link, the lookup runs (resumable),
-- the orientations read from France Travail, and the transactional outbox of the département's orientation decisions.

-- A person linked to France Travail. The identifier is never stored in clear: a keyed blind index (HMAC with the
-- index key, like persons.nir_index) so that a file or an API answer naming the identifier finds the person, and
-- nothing else. Issue 15 (files matched without a NIR) reuses this table with source 'file' or 'operator'.
create table france_travail_links (
  person_id bigint primary key references persons (id) on delete cascade,
  identifier_index text not null unique,
  source text not null check (source in ('api', 'file', 'operator')),
  -- Provenance: the API call (or file) that established the link.
  call_id text,
  linked_at timestamptz not null default now()
);

-- One lookup run of an API flow: the persons it planned, so an interrupted run resumes where it stopped.
create table france_travail_lookup_runs (
  id bigserial primary key,
  flow_id text not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  planned integer not null default 0
);
create index france_travail_lookup_runs_open_idx on france_travail_lookup_runs (flow_id) where finished_at is null;

-- Per person and run: pending → calling → found / several / not_recognised / failed; a row left `calling` by a
-- killed process becomes `interrupted` (never called twice in one run; the next run takes the person again).
create table france_travail_lookups (
  run_id bigint not null references france_travail_lookup_runs (id) on delete cascade,
  person_id bigint not null references persons (id) on delete cascade,
  outcome text not null default 'pending'
    check (outcome in ('pending', 'calling', 'found', 'several', 'not_recognised', 'failed', 'interrupted')),
  -- France Travail's return code (S001, S003, ID_NON_RECONNU...) or the HTTP status class; never a value.
  code text,
  call_id text,
  decided_at timestamptz,
  primary key (run_id, person_id)
);
create index france_travail_lookups_pending_idx on france_travail_lookups (run_id, person_id) where outcome = 'pending';
create index france_travail_lookups_person_idx on france_travail_lookups (person_id, decided_at desc);

-- France Travail's orientation of a linked person (lectureOrientation), minimised, with its provenance.
create table france_travail_orientations (
  person_id bigint primary key references persons (id) on delete cascade,
  parcours text,
  organisme text,
  statut text,
  etat text,
  origine text,
  date_entree_parcours date,
  date_modification date,
  call_id text not null,
  read_at timestamptz not null
);
create index france_travail_orientations_read_idx on france_travail_orientations (read_at);

-- A read answer that did not validate: which call and which rule, never the value.
create table france_travail_api_rejections (
  id bigserial primary key,
  flow_id text not null,
  call_id text not null,
  endpoint text not null,
  field text not null,
  rule text not null,
  created_at timestamptz not null default now()
);

-- The transactional outbox: written in the same transaction as the orientation change it announces, delivered
-- at least once by the sender, in order per person, with an idempotency key the receiver deduplicates on.
create table outbox_messages (
  id bigserial primary key,
  topic text not null,
  person_id bigint not null references persons (id) on delete cascade,
  -- The fields the outbound purpose lets leave (codes only: parcours, origine, organisme), never an identity.
  payload jsonb not null,
  idempotency_key text not null unique,
  state text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index outbox_messages_pending_idx on outbox_messages (topic, person_id, id) where state <> 'delivered';
create index outbox_messages_created_idx on outbox_messages (created_at);
