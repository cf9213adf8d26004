-- The tamper-evident audit log: every access to personal data (granted or denied), every purge receipt, every
-- break-glass read. Each event holds the hash of the previous one; the subject is a keyed pseudonym, never a
-- clear identity, so the log can be kept without becoming a second copy of the data.
create table audit_events (
  seq bigint primary key,
  occurred_at timestamptz not null,
  actor text,
  organisation text,
  purpose text,
  action text not null,
  subject text,
  outcome text not null,
  request_id text,
  client_address text,
  details jsonb not null default '{}',
  prev_hash text not null,
  hash text not null
);
create index audit_events_subject_idx on audit_events (subject, occurred_at);
create index audit_events_occurred_idx on audit_events (occurred_at);

-- When old events are purged (retention), the chain restarts from the last purged hash recorded here.
create table audit_truncations (
  id bigserial primary key,
  upto_seq bigint not null,
  last_hash text not null,
  truncated_at timestamptz not null default now()
);
