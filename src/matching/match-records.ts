import type { Queryable } from '../db/db.ts'
import { REGISTRATION_COLUMNS, REGISTRATION_DDL, type SupersededRow } from '../ingestion/canonical/staging.ts'

/**
 * Matching the France Travail records that come without a NIR, inside the file's transaction, set-based:
 *   1. a France Travail identifier already linked to a person (france_travail_links) → that person;
 *   2. else the identity index (normalised birth name, first name, birth date; keyed) when it designates exactly
 *      one person of the active base (persons.identity_index) and no other person of the file → that person;
 *   3. else the matching queue (matching_queue), for an operator to link or discard: never a guess, never a merge.
 * A matched record becomes an ordinary staged registration of its person (stage_registrations), so what follows
 * (one row per person, the latest state) is the same as for a record with a NIR.
 */
export interface UnmatchedRecord {
  recordIndex: number
  line: number
  identifierIndex: string | null
  identityIndex: string | null
  /** The identity as the file spelt it, sealed (queued-identity.ts): kept only if the record is queued. */
  identitySealed: Buffer | null
  /** The registration values, minimised (maskRegistration), in REGISTRATION_COLUMNS order. */
  registration: unknown[]
}

export interface MatchingCounts {
  /** Records matched by a linked France Travail identifier. */
  identifier: number
  /** Records matched by an identity designating exactly one person. */
  identity: number
  /** Records put in (or refreshed in) the matching queue. */
  queued: number
}

export interface MatchingContext {
  flowId: string
  fileId: number
  transmittedAt: Date
}

const cols = REGISTRATION_COLUMNS

export async function createMatchingStage(tx: Queryable): Promise<void> {
  await tx.exec(`
    create temp table if not exists stage_unmatched (
      record_index integer not null, line integer not null, identifier_index text, identity_index text, identity_sealed bytea,
      person_key text, matched_by text, candidates integer, ${REGISTRATION_DDL}
    ) on commit drop;
    create temp table if not exists stage_identifier_links (person_key text not null, identifier_index text not null) on commit drop;
  `)
}

export async function stageUnmatched(tx: Queryable, rows: readonly UnmatchedRecord[]): Promise<void> {
  if (rows.length === 0) return
  await tx.copyRows(
    'stage_unmatched',
    ['record_index', 'line', 'identifier_index', 'identity_index', 'identity_sealed', ...cols],
    rows.map((r) => [r.recordIndex, r.line, r.identifierIndex, r.identityIndex, r.identitySealed, ...r.registration]),
  )
}

/** Records with a NIR that carry a France Travail identifier: their person gets the link (source `file`). */
export async function stageIdentifierLinks(tx: Queryable, rows: readonly { personKey: string; identifierIndex: string }[]): Promise<void> {
  if (rows.length === 0) return
  await tx.copyRows('stage_identifier_links', ['person_key', 'identifier_index'], rows.map((r) => [r.personKey, r.identifierIndex]))
}

/**
 * Matches the staged records without a NIR, moves the matched ones into stage_registrations, queues the others.
 * Returns the counts, the records that cannot be matched nor queued (no identity), and the queued records of a
 * person the file names twice (the latest is queued; the others are duplicate_person rejections naming it).
 */
export async function matchStaged(
  tx: Queryable,
  ctx: MatchingContext,
): Promise<{ counts: MatchingCounts; incomplete: { recordIndex: number; line: number }[]; superseded: SupersededRow[] }> {
  await tx.exec('analyze stage_unmatched')
  // 1. A France Travail identifier already linked to a person of the active base.
  const byIdentifier = await tx.query(
    `update stage_unmatched s
     set person_key = p.match_key, matched_by = 'identifier'
     from france_travail_links l
     join persons p on p.id = l.person_id
     where s.identifier_index is not null
       and l.identifier_index = s.identifier_index`,
  )
  // 2. The identity: exactly one person of the active base bears it, and the file names one person with it (two
  // records with it and different France Travail identifiers are two people: neither is linked).
  const byIdentity = await tx.query(
    `with file_people as (
       select identity_index, count(distinct identifier_index) as people
       from stage_unmatched
       where person_key is null
         and identity_index is not null
       group by identity_index
     ),
     base as (
       select identity_index, count(*)::int as n, min(match_key) as match_key
       from persons
       where identity_index in (select identity_index from file_people)
       group by identity_index
     )
     update stage_unmatched s
     set candidates = coalesce(b.n, 0),
         person_key = case when b.n = 1 and f.people <= 1 then b.match_key end,
         matched_by = case when b.n = 1 and f.people <= 1 then 'identity' end
     from file_people f
     left join base b on b.identity_index = f.identity_index
     where s.person_key is null
       and s.identity_index = f.identity_index
       and s.matched_by is null
     returning s.matched_by`,
  )
  // A record with a France Travail identifier is not given to a person linked to another one: that person is
  // someone else's homonym as far as France Travail knows (reason identifier_conflict).
  const conflicts = await tx.query(
    `update stage_unmatched s
     set person_key = null, matched_by = 'identifier_conflict'
     from persons p
     join france_travail_links l on l.person_id = p.id
     where s.matched_by = 'identity'
       and s.identifier_index is not null
       and p.match_key = s.person_key
       and l.identifier_index <> s.identifier_index`,
  )
  const identity = byIdentity.rows.filter((r) => (r as { matched_by: string | null }).matched_by === 'identity').length - conflicts.rowCount
  await tx.query(
    `insert into stage_registrations (record_index, line, person_key, ${cols.join(', ')})
     select record_index, line, person_key, ${cols.join(', ')}
     from stage_unmatched
     where person_key is not null`,
  )
  const { rows: incomplete } = await tx.query<{ record_index: number; line: number }>(
    `select record_index, line
     from stage_unmatched
     where person_key is null
       and identity_index is null
     order by record_index`,
  )
  // 3. The queue: one row per person as the file names them (identifier and identity), the latest state kept.
  await tx.exec(`
    create temp table queue_kept on commit drop as
    select distinct on (queue_key) *
    from (
      select *, coalesce(identifier_index, '') || '|' || identity_index as queue_key
      from stage_unmatched
      where person_key is null
        and identity_index is not null
    ) q
    order by queue_key, date_etat desc nulls last, record_index asc;
  `)
  const { rows: superseded } = await tx.query<{ record_index: number; line: number; kept_record_index: number; kept_line: number }>(
    `select s.record_index, s.line, k.record_index as kept_record_index, k.line as kept_line
     from stage_unmatched s
     join queue_kept k on k.queue_key = coalesce(s.identifier_index, '') || '|' || s.identity_index
     where s.person_key is null
       and s.record_index <> k.record_index
     order by s.record_index`,
  )
  const registration = `jsonb_strip_nulls(jsonb_build_object(${cols.map((c) => `'${c}', k.${c}`).join(', ')}))`
  // A record already pending (the same person in an earlier file, or the same file under another name) updates its
  // row when it says something new, and only then: the same file loaded again changes nothing.
  const queued = await tx.query(
    `insert into matching_queue (flow_id, queue_key, identifier_index, identity_index, reason, candidates, identity_sealed, registration, file_id, record_index, line, transmitted_at)
     select $1, k.queue_key, k.identifier_index, k.identity_index, case when k.matched_by = 'identifier_conflict' then 'identifier_conflict' when k.candidates = 0 then 'not_found' else 'ambiguous' end,
            coalesce(k.candidates, 0), k.identity_sealed, ${registration}, $2, k.record_index, k.line, $3
     from queue_kept k
     on conflict (flow_id, queue_key) where state = 'pending' do update set
       reason = excluded.reason,
       candidates = excluded.candidates,
       identity_sealed = excluded.identity_sealed,
       registration = excluded.registration,
       file_id = excluded.file_id,
       record_index = excluded.record_index,
       line = excluded.line,
       transmitted_at = excluded.transmitted_at,
       updated_at = now()
     where matching_queue.transmitted_at <= excluded.transmitted_at
       and (matching_queue.registration is distinct from excluded.registration
         or matching_queue.reason is distinct from excluded.reason
         or matching_queue.candidates is distinct from excluded.candidates)`,
    [ctx.flowId, ctx.fileId, ctx.transmittedAt],
  )
  void queued
  const { rows: kept } = await tx.query<{ n: number }>('select count(*)::int as n from queue_kept')
  return {
    counts: { identifier: byIdentifier.rowCount, identity, queued: kept[0]!.n },
    incomplete: incomplete.map((r) => ({ recordIndex: r.record_index, line: r.line })),
    superseded: superseded.map((r) => ({ recordIndex: r.record_index, line: r.line, keptRecordIndex: r.kept_record_index, keptLine: r.kept_line })),
  }
}

/**
 * Links the persons of the file's records that had a NIR to the France Travail identifier the record carried
 * (source `file`), so that a later file without a NIR matches them by identifier. A person or an identifier
 * already linked keeps its link.
 */
export async function recordIdentifierLinks(tx: Queryable, fileId: number): Promise<number> {
  const { rowCount } = await tx.query(
    `insert into france_travail_links (person_id, identifier_index, source, call_id)
     select distinct on (p.id) p.id, s.identifier_index, 'file', 'file:' || $1::text
     from stage_identifier_links s
     join persons p on p.match_key = s.person_key
     order by p.id, s.identifier_index
     on conflict do nothing`,
    [fileId],
  )
  return rowCount
}
