import type { Queryable } from '../db/db.ts'
import { eventHash, GENESIS_HASH, type AuditEventInput } from './chain.ts'

export type ChainVerdict =
  | { ok: true; events: number; firstSeq: number | null; lastSeq: number | null }
  | { ok: false; events: number; brokenAt: number; reason: 'hash_mismatch' | 'link_mismatch' | 'gap' | 'bad_start' }

interface Row {
  seq: number
  occurred_at: Date | string
  actor: string | null
  organisation: string | null
  purpose: string | null
  action: string
  subject: string | null
  outcome: AuditEventInput['outcome']
  request_id: string | null
  client_address: string | null
  details: Record<string, unknown> | string
  prev_hash: string
  hash: string
}

function eventOf(row: Row): AuditEventInput {
  return {
    occurredAt: new Date(row.occurred_at),
    actor: row.actor,
    organisation: row.organisation,
    purpose: row.purpose,
    action: row.action,
    subject: row.subject,
    outcome: row.outcome,
    requestId: row.request_id,
    clientAddress: row.client_address,
    details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
  }
}

/** The rows of an event table (audit_events or retention_receipts) in seq order, a page at a time. */
async function* eventRows(db: Queryable, table: 'audit_events' | 'retention_receipts', pageSize: number): AsyncGenerator<Row> {
  let after = 0
  for (;;) {
    const { rows } = await db.query<Row>(
      `select seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash
       from ${table}
       where seq > $1
       order by seq
       limit $2`,
      [after, pageSize],
    )
    if (rows.length === 0) return
    yield* rows
    after = rows.at(-1)!.seq
  }
}

export type ReceiptsVerdict = { ok: true; receipts: number } | { ok: false; receipts: number; brokenAt: number }

/**
 * Receipts kept after the audit log was purged (retention_receipts): each must still match the hash it had in the
 * chain. Their links cannot be followed any more (the events between them are gone), but a changed receipt is
 * caught, and its hash can be compared with any earlier export of the chain.
 */
export async function verifyRetentionReceipts(db: Queryable, pageSize = 5000): Promise<ReceiptsVerdict> {
  let count = 0
  for await (const row of eventRows(db, 'retention_receipts', pageSize)) {
    if (eventHash(row.seq, row.prev_hash, eventOf(row)) !== row.hash) return { ok: false, receipts: count, brokenAt: row.seq }
    count += 1
  }
  return { ok: true, receipts: count }
}

/** Recomputes the whole chain in pages and names the first broken link. */
export async function verifyAuditChain(db: Queryable, pageSize = 5000): Promise<ChainVerdict> {
  const t = await db.query<{ upto_seq: number; last_hash: string }>(
    'select upto_seq, last_hash from audit_truncations order by upto_seq desc limit 1',
  )
  let expectedSeq = (t.rows[0]?.upto_seq ?? 0) + 1
  let expectedPrev = t.rows[0]?.last_hash ?? GENESIS_HASH
  let count = 0
  let firstSeq: number | null = null
  let lastSeq: number | null = null
  for await (const row of eventRows(db, 'audit_events', pageSize)) {
    firstSeq ??= row.seq
    if (row.seq !== expectedSeq) return { ok: false, events: count, brokenAt: expectedSeq, reason: count === 0 ? 'bad_start' : 'gap' }
    if (row.prev_hash !== expectedPrev) return { ok: false, events: count, brokenAt: row.seq, reason: 'link_mismatch' }
    if (eventHash(row.seq, row.prev_hash, eventOf(row)) !== row.hash) return { ok: false, events: count, brokenAt: row.seq, reason: 'hash_mismatch' }
    expectedPrev = row.hash
    expectedSeq = row.seq + 1
    count += 1
    lastSeq = row.seq
  }
  return { ok: true, events: count, firstSeq, lastSeq }
}
