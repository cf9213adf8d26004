-- Remote files whose reading did not finish: the process died while reading (out of memory, killed) or an
-- unexpected error escaped. Counted per remote file (flow, name, size, mtime: known at listing, before any
-- download); after two unfinished attempts the file is quarantined and not fetched again until an operator
-- releases it (`passerelle files retry <id>`). A file that finishes (loaded or rejected) leaves no row.
-- The name is the producer's file name, as in files.name; no content of the file is kept here.
create table file_quarantine (
  id bigserial primary key,
  flow_id text not null,
  name text not null,
  size bigint not null,
  modified_at timestamptz not null,
  unfinished_attempts integer not null default 0 check (unfinished_attempts >= 0),
  status text not null default 'watching' check (status in ('watching', 'quarantined', 'released')),
  -- The class of the last unexpected error (e.g. RangeError), never its message.
  last_error text check (last_error ~ '^[A-Za-z ]{1,60}$'),
  first_attempt_at timestamptz not null default now(),
  last_attempt_at timestamptz not null default now(),
  quarantined_at timestamptz,
  released_at timestamptz
);
create unique index file_quarantine_file_key on file_quarantine (flow_id, name, size, modified_at);
