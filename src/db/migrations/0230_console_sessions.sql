-- Web console (issue 18). Sign-ins in progress: the OpenID Connect state (its SHA-256), nonce and PKCE verifier,
-- for a few minutes. Signed-in sessions: only the SHA-256 of the cookie's secret is stored, with the CSRF token of
-- the session's forms, the user, organisation and purpose it acts under, and what the provider said of the sign-in
-- (subject, acr, amr). The console deletes rows past expires_at at each sign-in and at sign-out.
create table console_sign_ins (
  id bigserial primary key,
  state_hash text not null unique check (state_hash ~ '^[0-9a-f]{64}$'),
  code_verifier text not null,
  nonce text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index console_sign_ins_expires_idx on console_sign_ins (expires_at);

create table console_sessions (
  id bigserial primary key,
  secret_hash text not null unique check (secret_hash ~ '^[0-9a-f]{64}$'),
  csrf_token text not null,
  user_id bigint not null references users (id) on delete cascade,
  organisation_id bigint not null references organisations (id),
  purpose text not null,
  oidc_subject text not null,
  acr text,
  amr text,
  id_token text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index console_sessions_expires_idx on console_sessions (expires_at);
create index console_sessions_user_idx on console_sessions (user_id);
