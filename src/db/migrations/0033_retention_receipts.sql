-- Retention receipts (retention.archive, retention.destroy, retention.minimise) outlive the audit log's one-year
-- policy: when the log is purged they are copied here first, with their place in the chain (seq, prev_hash, hash),
-- so the DPO can still prove what was archived or destroyed, when and under which policy. A receipt holds counts,
-- a hash of internal ids and the policy, never a personal value or a subject.
create table retention_receipts (
  seq bigint primary key,
  occurred_at timestamptz not null,
  actor text,
  organisation text,
  purpose text,
  action text not null check (action like 'retention.%'),
  subject text,
  outcome text not null,
  request_id text,
  client_address text,
  details jsonb not null,
  prev_hash text not null,
  hash text not null,
  kept_at timestamptz not null default now()
);
create index retention_receipts_occurred_idx on retention_receipts (occurred_at);
