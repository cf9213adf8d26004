-- Appending to the audit chain in one round trip (issue 18, console under load). The writer (src/audit/audit-log.ts,
-- AuditWriter) keeps the head of the chain it last wrote or read, chains a batch after it in the process (the hash
-- key never reaches the database), and calls this function in a statement of its own: under the chain lock, with a
-- snapshot taken after the lock (a volatile function takes one per statement), it appends the batch only if the head
-- is still the one the batch was chained after, and answers the head it found either way. On a mismatch (another
-- instance, or a transaction holding the lock, appended meanwhile) the writer chains again after that head. The
-- primary key on seq stays the last guard: a seq is never written twice.
create function audit_append(
  expected_seq bigint,
  expected_hash text,
  seqs bigint[],
  occurred timestamptz[],
  actors text[],
  organisations text[],
  purposes text[],
  actions text[],
  subjects text[],
  outcomes text[],
  request_ids text[],
  client_addresses text[],
  details jsonb[],
  prev_hashes text[],
  hashes text[]
) returns table (head_seq bigint, head_hash text, appended boolean)
language plpgsql
volatile
as $$
declare
  last_seq bigint;
  last_hash text;
begin
  perform pg_advisory_xact_lock(hashtextextended('passerelle:audit', 0));
  select e.seq, e.hash into last_seq, last_hash from audit_events e order by e.seq desc limit 1;
  if not found then
    select t.upto_seq, t.last_hash into last_seq, last_hash from audit_truncations t order by t.upto_seq desc limit 1;
    if not found then
      last_seq := 0;
      last_hash := repeat('0', 64);
    end if;
  end if;
  if last_seq <> expected_seq or last_hash <> expected_hash
     or seqs[1] <> expected_seq + 1 or prev_hashes[1] <> expected_hash then
    return query select last_seq, last_hash, false;
    return;
  end if;
  insert into audit_events (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
  select *, 2
  from unnest(seqs, occurred, actors, organisations, purposes, actions, subjects, outcomes, request_ids, client_addresses, details, prev_hashes, hashes);
  return query select seqs[cardinality(seqs)], hashes[cardinality(hashes)], true;
end
$$;
