-- Statistical extracts delivered to recipients (microdata or an aggregate table): where the file is, its digest,
-- what disclosure control gave, which key version made its pseudonyms. Never a key, never a personal value.
create table extracts (
  id bigserial primary key,
  public_id uuid not null default gen_random_uuid() unique,
  kind text not null check (kind in ('microdata', 'aggregate')),
  purpose text not null,
  recipient text not null,
  aggregate text,
  as_of date not null,
  file_path text not null,
  manifest_path text not null,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  bytes bigint not null,
  rows integer not null,
  k integer,
  k_reached integer,
  suppression_rate numeric(9, 8),
  generalisation jsonb not null default '{}',
  key_version integer,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  delivered_to text,
  check ((kind = 'aggregate') = (aggregate is not null))
);
create index extracts_recipient_idx on extracts (purpose, recipient, created_at desc);
