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
    [
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
    ],
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

/**
 * Group commit for request handlers: concurrent `append` calls are written together in one transaction; each
 * promise resolves once its event is committed (so a response is sent only after its trace is durable).
 */
export class AuditWriter {
  private queue: { event: AuditEventInput; resolve: (e: ChainedEvent) => void; reject: (err: unknown) => void }[] = []
  private flushing: Promise<void> | undefined
  /** Optional observer of each batch's duration (metrics). */
  onBatch: ((events: number, seconds: number) => void) | undefined

  constructor(private readonly db: Db, private readonly maxBatch = 500) {}

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
          const chained = await this.db.transaction((tx) => appendAuditEvents(tx, batch.map((b) => b.event)))
          batch.forEach((b, i) => b.resolve(chained[i]!))
          this.onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9)
        } catch (error) {
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
