-- Partner API: organisations, their users, who follows whom (assignments), API tokens, and limitations of
-- processing. Role and organisation type lists mirror src/purposes/purpose.ts (ROLES, ORGANISATION_TYPES).

create table organisations (
  id bigserial primary key,
  public_id uuid not null default gen_random_uuid() unique,
  siret text not null unique check (siret ~ '^[0-9]{14}$'),
  name text not null check (length(name) between 1 and 200),
  type text not null check (type in ('departement', 'france-travail', 'ccas', 'cias', 'association', 'caf', 'msa', 'statistique', 'autre')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Agents of partner organisations. E-mails are stored lowercased.
create table users (
  id bigserial primary key,
  public_id uuid not null default gen_random_uuid() unique,
  email text not null unique check (email = lower(email) and length(email) between 3 and 254),
  display_name text not null check (length(display_name) between 1 and 200),
  role text not null check (role in ('referent', 'structure-manager', 'instructor', 'statistician', 'dpo', 'admin')),
  organisation_id bigint not null references organisations (id),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index users_organisation_idx on users (organisation_id);

-- Who follows whom, from when to when (dates inclusive). The structure is always set (a referent's own
-- organisation when only a referent is given). An assignment whose end precedes its start was cancelled before
-- it began and grants nothing.
create table assignments (
  id bigserial primary key,
  public_id uuid not null default gen_random_uuid() unique,
  person_id bigint not null references persons (id) on delete cascade,
  organisation_id bigint not null references organisations (id),
  referent_user_id bigint references users (id),
  starts_on date not null,
  ends_on date,
  source text not null check (source in ('orientations', 'admin')),
  file_id bigint references files (id),
  created_by_user_id bigint references users (id),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (source <> 'orientations' or file_id is not null)
);
create unique index assignments_natural_key on assignments (person_id, organisation_id, coalesce(referent_user_id, 0), starts_on);
create index assignments_referent_idx on assignments (referent_user_id, person_id) where referent_user_id is not null;
create index assignments_organisation_idx on assignments (organisation_id, person_id);
create index assignments_person_idx on assignments (person_id);

-- Bearer tokens: only the SHA-256 of the token is stored. Each is bound to one user, one organisation and one
-- purpose. Retention deletes rows past expires_at / revoked_at (flows/retention/api-tokens.yaml).
create table api_tokens (
  id bigserial primary key,
  token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  user_id bigint not null references users (id),
  organisation_id bigint not null references organisations (id),
  purpose text not null,
  label text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  last_used_at timestamptz
);
create index api_tokens_user_idx on api_tokens (user_id);

-- Limitation of processing (GDPR art. 18, issue 8): while a limitation holds, the person is never served.
create table limitations (
  id bigserial primary key,
  person_id bigint not null references persons (id) on delete cascade,
  since timestamptz not null default now(),
  lifted_at timestamptz,
  reason text,
  created_at timestamptz not null default now()
);
create index limitations_person_idx on limitations (person_id);

-- "Who accessed this person's file": list requests name every person served in details.subjects.
create index audit_events_subjects_idx on audit_events using gin ((details -> 'subjects'));
