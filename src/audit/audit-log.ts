import type { Db, Queryable } from '../db/db.ts'
import { auditKeys } from './audit-keys.ts'
import { chainEvents, GENESIS_HASH, type AuditEventInput, type ChainedEvent } from './chain.ts'
import { checkAuditText } from './free-text.ts'

const LOCK = 'passerelle:audit'

/**
 * Appends events in their own transaction, serialised across instances by a transaction-level advisory lock.
 * Use `appendAuditEvents(tx, ...)` to write events inside a transaction that also changes data (a purge and
 * its receipt commit together).
 */
export async function appendAuditEvents(tx: Queryable, events: readonly AuditEventInput[]): Promise<ChainedEvent[]> {
  if (events.length === 0) return []
  for (const event of events) for (const [field, text] of Object.entries(event.texts ?? {})) checkAuditText(field, text)
  const keys = auditKeys()
  await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [LOCK])
  const { rows } = await tx.query<{ seq: number; hash: string }>(
    `select seq, hash
     from audit_events
     order by seq desc
     limit 1`,
  )
  let last = rows[0]
  if (!last) {
    const t = await tx.query<{ upto_seq: number; last_hash: string }>(
      'select upto_seq, last_hash from audit_truncations order by upto_seq desc limit 1',
    )
    last = t.rows[0] ? { seq: t.rows[0].upto_seq, hash: t.rows[0].last_hash } : { seq: 0, hash: GENESIS_HASH }
  }
  const chained = chainEvents(last, events, keys)
  await tx.query(
    `insert into audit_events (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
     select *, 2
     from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::text[], $13::text[])`,
    eventColumns(chained),
  )
  const texts = chained.flatMap((e) => Object.entries(e.texts ?? {}).map(([field, body]) => ({ e, field, body })))
  if (texts.length > 0) {
    await tx.query(
      `insert into audit_texts (seq, field, subject, person_id, dossier_id, body, created_at)
       select *
       from unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::timestamptz[])`,
      [
        texts.map((t) => t.e.seq),
        texts.map((t) => t.field),
        texts.map((t) => t.e.subject),
        texts.map((t) => t.e.textOwner?.personId ?? null),
        texts.map((t) => t.e.textOwner?.dossierId ?? null),
        texts.map((t) => t.body),
        texts.map((t) => t.e.occurredAt.toISOString()),
      ],
    )
  }
  return chained
}

type Head = { seq: number; hash: string }

/** A head no chain has: asks `audit_append` for the real one without appending. */
const UNKNOWN_HEAD: Head = { seq: -1, hash: '' }

/**
 * Appends a batch without free texts in one statement (migration 0231, `audit_append`): chained in the process after
 * `head`, written only if the chain's head under the lock is still `head`. Returns the events, or the head found
 * when it was not (nothing written then).
 */
async function appendAfterHead(db: Queryable, head: Head, events: readonly AuditEventInput[]): Promise<{ chained: ChainedEvent[] } | { head: Head }> {
  const chained = head === UNKNOWN_HEAD ? [] : chainEvents(head, events, auditKeys())
  const { rows } = await db.query<{ head_seq: number; head_hash: string; appended: boolean }>(
    `select head_seq, head_hash, appended
     from audit_append($1, $2, $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::text[], $15::text[])`,
    [
      head.seq,
      head.hash,
      ...eventColumns(chained),
    ],
    { prepare: true },
  )
  const row = rows[0]!
  if (row.appended && chained.length > 0) return { chained }
  return { head: { seq: Number(row.head_seq), hash: row.head_hash } }
}

/**
 * Writes what calls to a partner brought (`write`) together with the calls' audit events, in one transaction. The
 * calls have already happened (a NIR was sent): when that transaction fails, the events are appended alone before
 * the error goes on, so that a disclosure is never left untraced because the bookkeeping around it failed.
 */
export async function writeWithCallEvents(db: Db, events: readonly AuditEventInput[], write: (tx: Queryable) => Promise<void>): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      await write(tx)
      await appendAuditEvents(tx, events)
    })
  } catch (error) {
    if (events.length > 0) await db.transaction((tx) => appendAuditEvents(tx, events)).catch(() => {})
    throw error
  }
}

/**
 * Group commit for request handlers: concurrent `append` calls are written together, in one statement; each
 * promise resolves once its event is committed (so a response is sent only after its trace is durable).
 *
 * The writer remembers the chain's head after each batch it commits, so a batch costs one round trip: the batch is
 * chained after that head in the process and `audit_append` writes it under the chain lock only if the head is
 * unchanged (another instance or a transaction holding the lock may have appended: the batch is then chained again
 * after the head it answers). A batch with free texts, or one that keeps losing that race, is written as before, in
 * a transaction holding the lock (appendAuditEvents).
 */
export class AuditWriter {
  private queue: { event: AuditEventInput; resolve: (e: ChainedEvent) => void; reject: (err: unknown) => void }[] = []
  private flushing: Promise<void> | undefined
  /** The chain's head as this writer last wrote or read it (unknown at first, and after any failure). */
  private head: Head = UNKNOWN_HEAD
  /** Optional observer of each batch's duration (metrics). */
  onBatch: ((events: number, seconds: number) => void) | undefined

  constructor(private readonly db: Db, private readonly maxBatch = 500) {}

  private async write(events: readonly AuditEventInput[]): Promise<ChainedEvent[]> {
    if (events.some((e) => e.texts && Object.keys(e.texts).length > 0)) return this.writeLocked(events)
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await appendAfterHead(this.db, this.head, events)
      if ('chained' in outcome) {
        const last = outcome.chained.at(-1)!
        this.head = { seq: last.seq, hash: last.hash }
        return outcome.chained
      }
      this.head = outcome.head
    }
    return this.writeLocked(events)
  }

  private async writeLocked(events: readonly AuditEventInput[]): Promise<ChainedEvent[]> {
    this.head = UNKNOWN_HEAD
    const chained = await this.db.transaction((tx) => appendAuditEvents(tx, events))
    const last = chained.at(-1)
    if (last) this.head = { seq: last.seq, hash: last.hash }
    return chained
  }

  append(event: AuditEventInput): Promise<ChainedEvent> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject })
      if (!this.flushing) this.flushing = this.flushLoop()
    })
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch)
        const started = process.hrtime.bigint()
        try {
          const chained = await this.write(batch.map((b) => b.event))
          batch.forEach((b, i) => b.resolve(chained[i]!))
          this.onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9)
        } catch (error) {
          // Whether the batch was written is unknown: the head is read again next time.
          this.head = UNKNOWN_HEAD
          for (const b of batch) b.reject(error)
        }
      }
    } finally {
      this.flushing = undefined
    }
  }

  /** Resolves when everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing
  }
}

/** The chained events as the column arrays both inserts unnest, in the table's column order. */
function eventColumns(chained: ReturnType<typeof chainEvents>): unknown[] {
  return [
    chained.map((e) => e.seq),
    chained.map((e) => e.occurredAt.toISOString()),
    chained.map((e) => e.actor),
    chained.map((e) => e.organisation),
    chained.map((e) => e.purpose),
    chained.map((e) => e.action),
    chained.map((e) => e.subject),
    chained.map((e) => e.outcome),
    chained.map((e) => e.requestId),
    chained.map((e) => e.clientAddress),
    chained.map((e) => JSON.stringify(e.details)),
    chained.map((e) => e.prevHash),
    chained.map((e) => e.hash),
  ]
}
