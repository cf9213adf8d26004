import type { Queryable } from '../db/db.ts'
import { auditKeys } from './audit-keys.ts'
import { auditTextDigest, eventHash, eventHashV2, GENESIS_HASH, type AuditEventInput } from './chain.ts'
import { eventOfRow, type StoredEventRow } from './event-row.ts'
import { hashIds } from '../retention/receipt.ts'

export type BreakReason = 'hash_mismatch' | 'link_mismatch' | 'gap' | 'bad_start' | 'version_downgrade' | 'text_mismatch'

/** What the walk saw, for the comparison with the signed checkpoints (src/audit/checkpoints.ts). */
export interface ChainFacts {
  /** Where the log restarts after the last purge (audit_truncations), if it was ever purged. */
  base: { seq: number; hash: string } | null
  /** The last event verified (or the base, or the genesis, when there is none). */
  head: { seq: number; hash: string }
  /** The hash found at each sequence number the caller asked to watch (checkpoint heads). */
  hashesAt: Map<number, string>
  /** uptoSeq of each `retention.destroy` receipt of the audit log's own purge seen in the chain. */
  purgeReceipts: Set<number>
}

export type ChainVerdict =
  | ({ ok: true; events: number; firstSeq: number | null; lastSeq: number | null } & ChainFacts)
  | ({ ok: false; events: number; brokenAt: number; reason: BreakReason; field?: string } & ChainFacts)

/** The hash a stored row should have, by its version (1: unkeyed, to the millisecond; 2: keyed, to the microsecond). */
function expectedHash(row: StoredEventRow, event: AuditEventInput, chainKey: () => Buffer): string | undefined {
  if (row.hash_version === 1) return eventHash(row.seq, row.prev_hash, event)
  if (row.hash_version === 2) return eventHashV2(chainKey(), row.seq, row.prev_hash, event, row.instant)
  return undefined
}

const EVENT_COLUMNS = `seq, seq::text as seq_text, occurred_at, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as instant,
  actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version`

/**
 * The rows of an event table (audit_events or retention_receipts) in seq order, a page at a time, from the lowest
 * seq whatever it is (a row a DBA slipped in below the chain is seen) up to `upto` when given. Pages follow the seq
 * as the database writes it, so a seq beyond JavaScript's exact integers cannot make the walk repeat a page for ever;
 * such a row keeps an inexact `seq` here, which never equals the expected one.
 */
async function* eventRows(db: Queryable, table: 'audit_events' | 'retention_receipts', pageSize: number, upto?: number): AsyncGenerator<StoredEventRow[]> {
  let after: string | null = null
  for (;;) {
    const result: { rows: (StoredEventRow & { seq_text: string })[] } = await db.query<StoredEventRow & { seq_text: string }>(
      `select ${EVENT_COLUMNS}
       from ${table}
       where ($1::bigint is null or seq > $1::bigint)
         and ($3::bigint is null or seq <= $3::bigint)
       order by seq
       limit $2`,
      [after, pageSize, upto ?? null],
    )
    const rows = result.rows
    if (rows.length === 0) return
    for (const row of rows) row.seq = Number(row.seq_text)
    yield rows
    after = rows.at(-1)!.seq_text
  }
}

/** A stored `details` must be a JSON object: a string holding the same text would hash alike and hide from searches. */
const detailsIsObject = (row: StoredEventRow) => typeof row.details === 'object' && row.details !== null && !Array.isArray(row.details)

export type ReceiptsVerdict = { ok: true; receipts: number } | { ok: false; receipts: number; brokenAt: number }

/**
 * Receipts kept after the audit log was purged (retention_receipts): each must still match the hash it had in the
 * chain. Their links cannot be followed any more (the events between them are gone), but a changed receipt is
 * caught, and its hash can be compared with any earlier export of the chain.
 */
export async function verifyRetentionReceipts(db: Queryable, pageSize = 5000): Promise<ReceiptsVerdict> {
  let count = 0
  let sawV2 = false
  const chainKey = () => auditKeys().chain
  for await (const page of eventRows(db, 'retention_receipts', pageSize)) {
    for (const row of page) {
      if (!Number.isSafeInteger(row.seq) || row.seq < 1 || !detailsIsObject(row)) return { ok: false, receipts: count, brokenAt: row.seq }
      if (row.hash_version === 2) sawV2 = true
      else if (sawV2) return { ok: false, receipts: count, brokenAt: row.seq }
      if (expectedHash(row, eventOfRow(row), chainKey) !== row.hash) return { ok: false, receipts: count, brokenAt: row.seq }
      count += 1
    }
  }
  return { ok: true, receipts: count }
}

type PurgeDetails = { uptoSeq: number; fromSeq?: unknown; keptReceipts?: { count?: unknown; sha256?: unknown } }

/**
 * The genuine receipts of the audit log's own purge in `table` (those of one cut when `uptoSeq` is given): keyed
 * (version 2: only the process holding the chain key can write one), matching their hash, written after the events
 * they purged (seq > uptoSeq > 0). A receipt a DBA could write (unkeyed, at a negative seq, before what it purged)
 * proves nothing.
 */
async function genuinePurgeReceipts(db: Queryable, table: 'audit_events' | 'retention_receipts', uptoSeq?: number): Promise<PurgeDetails[]> {
  const { rows } = await db.query<StoredEventRow & { seq_text: string }>(
    `select ${EVENT_COLUMNS}
     from ${table}
     where action = 'retention.destroy'
       and jsonb_typeof(details) = 'object'
       and details ? 'uptoSeq'
       and ($1::text is null or details ->> 'uptoSeq' = $1::text)
     order by seq`,
    [uptoSeq === undefined ? null : String(uptoSeq)],
  )
  const chainKey = () => auditKeys().chain
  const found: PurgeDetails[] = []
  for (const row of rows) {
    row.seq = Number(row.seq_text)
    const details = row.details as PurgeDetails
    const upto = details.uptoSeq
    if (row.hash_version !== 2 || typeof upto !== 'number' || !Number.isSafeInteger(row.seq) || !(upto > 0 && row.seq > upto)) continue
    if (expectedHash(row, eventOfRow(row), chainKey) === row.hash) found.push(details)
  }
  return found
}

/**
 * Each genuine receipt of the log's own purge (in the chain, or kept) names the receipts its chunk kept
 * (`keptReceipts`: count and SHA-256 of their seqs, from `fromSeq` to `uptoSeq`): the ones missing or added since
 * are named. Receipts written before this accounting carry no list and are not checked.
 */
export async function keptReceiptFindings(db: Queryable): Promise<string[]> {
  const findings: string[] = []
  for (const table of ['audit_events', 'retention_receipts'] as const) {
    for (const d of await genuinePurgeReceipts(db, table)) {
      if (typeof d.fromSeq !== 'number' || d.keptReceipts === undefined) continue
      const present = (await db.query<{ seq: string }>('select seq::text as seq from retention_receipts where seq between $1 and $2 order by seq', [d.fromSeq, d.uptoSeq])).rows.map((r) => r.seq)
      if (present.length !== d.keptReceipts.count || hashIds(present) !== d.keptReceipts.sha256) {
        findings.push(
          `the purge of the log up to seq ${d.uptoSeq.toLocaleString('en-US')} kept ${String(d.keptReceipts.count)} retention receipt(s) from seq ${d.fromSeq.toLocaleString('en-US')}; ${present.length} are there now, ${present.length === d.keptReceipts.count ? 'not the same ones' : 'some were deleted or added'}: receipts kept as proof of destructions were changed`,
        )
      }
    }
  }
  return findings
}

/** uptoSeq of the audit log's genuine purge receipts kept in retention_receipts. */
export async function keptPurgeReceipts(db: Queryable): Promise<Set<number>> {
  return new Set((await genuinePurgeReceipts(db, 'retention_receipts')).map((d) => d.uptoSeq))
}

/** Whether a genuine receipt (in the chain or kept) proves the log's purge up to `uptoSeq`. */
export async function hasGenuinePurgeReceipt(db: Queryable, uptoSeq: number): Promise<boolean> {
  return (await genuinePurgeReceipts(db, 'audit_events', uptoSeq)).length > 0 || (await genuinePurgeReceipts(db, 'retention_receipts', uptoSeq)).length > 0
}

/**
 * Recomputes the whole chain in pages and names the first broken link: a changed event, a missing or extra one,
 * a broken link, a version-1 event after a version-2 one (a downgrade to the unkeyed hash), or a free text that is
 * still present but no longer matches the digest its event committed to. `watch` lists the sequence numbers whose
 * hashes the caller wants back (checkpoint heads).
 */
export async function verifyAuditChain(db: Queryable, pageSize = 5000, watch: ReadonlySet<number> = new Set(), upto?: number): Promise<ChainVerdict> {
  const t = await db.query<{ upto_seq: number; last_hash: string }>(
    'select upto_seq, last_hash from audit_truncations order by upto_seq desc limit 1',
  )
  const base = t.rows[0] ? { seq: Number(t.rows[0].upto_seq), hash: t.rows[0].last_hash } : null
  const facts: ChainFacts = { base, head: base ?? { seq: 0, hash: GENESIS_HASH }, hashesAt: new Map(), purgeReceipts: new Set() }
  let expectedSeq = (base?.seq ?? 0) + 1
  let expectedPrev = base?.hash ?? GENESIS_HASH
  let count = 0
  let firstSeq: number | null = null
  let lastSeq: number | null = null
  let sawV2 = false
  const chainKey = () => auditKeys().chain
  const broken = (brokenAt: number, reason: BreakReason, field?: string): ChainVerdict => ({ ok: false, events: count, brokenAt, reason, ...(field ? { field } : {}), ...facts })
  for await (const page of eventRows(db, 'audit_events', pageSize, upto)) {
    const texts = await db.query<{ seq: number; field: string; body: string }>(
      `select seq, field, body
       from audit_texts
       where seq between $1 and $2`,
      [page[0]!.seq, page.at(-1)!.seq],
    )
    const textsBySeq = new Map<number, { field: string; body: string }[]>()
    for (const r of texts.rows) {
      const seq = Number(r.seq)
      textsBySeq.set(seq, [...(textsBySeq.get(seq) ?? []), r])
    }
    for (const row of page) {
      firstSeq ??= row.seq
      if (row.seq !== expectedSeq) return broken(expectedSeq, count === 0 ? 'bad_start' : 'gap')
      if (row.prev_hash !== expectedPrev) return broken(row.seq, 'link_mismatch')
      if (row.hash_version === 2) sawV2 = true
      else if (sawV2) return broken(row.seq, 'version_downgrade')
      if (!detailsIsObject(row)) return broken(row.seq, 'hash_mismatch', 'details')
      const event = eventOfRow(row)
      if (expectedHash(row, event, chainKey) !== row.hash) return broken(row.seq, 'hash_mismatch')
      const digests = (event.details.texts ?? {}) as Record<string, unknown>
      for (const text of textsBySeq.get(row.seq) ?? []) {
        // The field's name is read from a table anyone with database access can write: printed only if it is a name.
        if (digests[text.field] !== auditTextDigest(auditKeys().text, row.seq, text.field, text.body)) return broken(row.seq, 'text_mismatch', /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(text.field) ? text.field : '(not a field name)')
      }
      // Only a keyed receipt proves a purge: an unkeyed one is anyone's to write (at the start of a cut log, say).
      if (row.action === 'retention.destroy' && row.hash_version === 2 && typeof event.details.uptoSeq === 'number') facts.purgeReceipts.add(event.details.uptoSeq)
      if (watch.has(row.seq)) facts.hashesAt.set(row.seq, row.hash)
      expectedPrev = row.hash
      expectedSeq = row.seq + 1
      count += 1
      lastSeq = row.seq
      facts.head = { seq: row.seq, hash: row.hash }
    }
  }
  return { ok: true, events: count, firstSeq, lastSeq, ...facts }
}
