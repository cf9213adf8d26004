import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter, appendAuditEvents, writeWithCallEvents } from '../../src/audit/audit-log.ts'
import { eventHash, GENESIS_HASH, type AuditEventInput } from '../../src/audit/chain.ts'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import type { Db } from '../../src/db/db.ts'
import { openPostgres } from '../../src/db/postgres.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

const event = (i: number): AuditEventInput => ({
  occurredAt: new Date(Date.UTC(2026, 10, 1, 8, 0, i)),
  actor: 'user-1',
  organisation: '12345678900011',
  purpose: 'accompagnement-rsa',
  action: 'api.beneficiaire.read',
  subject: `p_subject${i % 3}`,
  outcome: i % 4 === 0 ? 'denied' : 'granted',
  requestId: `req-${i}`,
  clientAddress: '127.0.0.1',
  details: { status: i % 4 === 0 ? 404 : 200, nested: { b: 1, a: [1, 2] } },
})

describe.skipIf(postgresUnavailable())('audit hash chain', () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())

  it('groups concurrent appends and chains them without gaps', async () => {
    const writer = new AuditWriter(t.db)
    const written = await Promise.all(Array.from({ length: 120 }, (_, i) => writer.append(event(i))))
    expect(new Set(written.map((e) => e.seq)).size).toBe(120)
    await t.db.transaction((tx) => appendAuditEvents(tx, [event(200)]))
    const verdict = await verifyAuditChain(t.db, 50)
    expect(verdict).toMatchObject({ ok: true, events: 121, firstSeq: 1, lastSeq: 121 })
  })

  it('chains the appends of several writers and of transactions that hold the chain lock', async () => {
    // Two writers, as two instances of the gateway would have (their own pools on PostgreSQL), taking turns, then
    // both queueing appends behind a transaction that appended under the chain lock and still holds it (a
    // retention chunk and its receipt): no gap, no fork, every event exactly once.
    const other = t.url ? await openPostgres(t.url, { max: 3 }) : t.db
    try {
      const start = (await verifyAuditChain(t.db)).events
      const a = new AuditWriter(t.db)
      const b = new AuditWriter(other)
      for (let i = 0; i < 6; i++) {
        await a.append(event(300 + i))
        await b.append(event(400 + i))
      }
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      let appended!: () => void
      const appendedUnderLock = new Promise<void>((resolve) => (appended = resolve))
      const holder = t.db.transaction(async (tx) => {
        await appendAuditEvents(tx, [event(500)])
        appended()
        await released
      })
      await appendedUnderLock
      const queued = Promise.all([
        ...Array.from({ length: 15 }, (_, i) => a.append(event(600 + i))),
        ...Array.from({ length: 15 }, (_, i) => b.append(event(700 + i))),
      ])
      await new Promise((resolve) => setTimeout(resolve, 50))
      release()
      await holder
      const written = await queued
      expect(new Set(written.map((e) => e.seq)).size).toBe(30)
      const verdict = await verifyAuditChain(t.db)
      expect(verdict).toMatchObject({ ok: true, events: start + 12 + 1 + 30 })
      const seqs = written.map((e) => e.seq)
      expect(Math.min(...seqs)).toBeGreaterThan(start + 12 + 1)
    } finally {
      if (other !== t.db) await other.close()
    }
  })

  it('writes a batch in one statement once the writer knows the head, and still every event exactly once', async () => {
    let queries = 0
    let transactions = 0
    const counted: Db = {
      backend: t.db.backend,
      query: (...args: Parameters<Db['query']>) => {
        queries += 1
        return t.db.query(...args)
      },
      transaction: (fn) => {
        transactions += 1
        return t.db.transaction(fn)
      },
      session: (fn) => t.db.session(fn),
      copyRows: (...args) => t.db.copyRows(...args),
      copyEncoded: (copy) => t.db.copyEncoded(copy),
      exec: (script) => t.db.exec(script),
      close: () => t.db.close(),
    }
    const writer = new AuditWriter(counted)
    let batches = 0
    writer.onBatch = () => (batches += 1)
    const start = (await verifyAuditChain(t.db)).events
    await writer.append(event(800))
    queries = 0
    transactions = 0
    batches = 0
    const written = await Promise.all(Array.from({ length: 5 }, (_, i) => writer.append(event(801 + i))))
    await writer.append(event(806))
    // One statement per batch, no transaction of several statements.
    expect(batches).toBeGreaterThanOrEqual(2)
    expect({ queries, transactions }).toEqual({ queries: batches, transactions: 0 })
    expect(written.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6].map((i) => start + i))
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, events: start + 7 })
  })

  it('audit_append writes nothing after a head that is no longer the chain’s, and answers the real head', async () => {
    const { rows: before } = await t.db.query<{ seq: number; hash: string }>('select seq, hash from audit_events order by seq desc limit 1')
    const head = before[0]!
    const { rows: previous } = await t.db.query<{ hash: string }>('select hash from audit_events where seq = $1', [head.seq - 1])
    const stale = { seq: head.seq - 1, hash: previous[0]!.hash }
    const e = event(900)
    const { rows } = await t.db.query<{ head_seq: number; head_hash: string; appended: boolean }>(
      `select head_seq, head_hash, appended
       from audit_append($1, $2, $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::text[], $15::text[])`,
      [stale.seq, stale.hash, [head.seq], [e.occurredAt.toISOString()], [e.actor], [e.organisation], [e.purpose], [e.action], [e.subject], [e.outcome], [e.requestId], [e.clientAddress], [JSON.stringify(e.details)], [stale.hash], ['f'.repeat(64)]],
    )
    expect(rows[0]).toEqual({ head_seq: head.seq, head_hash: head.hash, appended: false })
    const { rows: after } = await t.db.query<{ n: number }>('select count(*)::int as n from audit_events where seq >= $1', [head.seq])
    expect(after[0]!.n).toBe(1)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  it('names the first tampered event', async () => {
    await t.db.query(`update audit_events set outcome = 'granted' where seq = 37`)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: 37, reason: 'hash_mismatch' })
  })

  it('detects a deleted event', async () => {
    await t.db.query(`delete from audit_events where seq = 37`)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: 37, reason: 'gap' })
  })
})

describe.skipIf(postgresUnavailable())('audit hash versions', () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())

  it('verifies a log written with version-1 hashes before the upgrade and continued with keyed version-2 ones', async () => {
    // Rows as the code before migration 0100 wrote them: unkeyed SHA-256, the instant to the millisecond.
    let prev = GENESIS_HASH
    for (let seq = 1; seq <= 5; seq++) {
      const e = { ...event(seq), occurredAt: new Date(Date.UTC(2025, 0, 1, 8, 0, seq, 123)) }
      const hash = eventHash(seq, prev, e)
      await t.db.query(
        `insert into audit_events (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)`,
        [seq, e.occurredAt, e.actor, e.organisation, e.purpose, e.action, e.subject, e.outcome, e.requestId, e.clientAddress, JSON.stringify(e.details), prev, hash],
      )
      prev = hash
    }
    const appended = await t.db.transaction((tx) => appendAuditEvents(tx, [event(6), event(7), event(8)]))
    expect(appended.map((e) => [e.seq, e.hashVersion])).toEqual([[6, 2], [7, 2], [8, 2]])
    expect(appended[0]!.prevHash).toBe(prev)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, events: 8, firstSeq: 1, lastSeq: 8 })
    // A version-2 event moved by 0.4 ms is caught; a version-1 one cannot be (its hash has milliseconds only): the
    // signed checkpoints are what protects the events written before the upgrade.
    await t.db.query(`update audit_events set occurred_at = occurred_at + interval '400 microseconds' where seq = 2`)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    await t.db.query(`update audit_events set occurred_at = occurred_at + interval '400 microseconds' where seq = 7`)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: 7, reason: 'hash_mismatch' })
  })
})

describe.skipIf(postgresUnavailable())('calls to a partner are traced whatever happens to their bookkeeping', () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())

  it('traces calls already made even when the bookkeeping written with them fails: the events alone, then the error', async () => {
    const calls = [
      { ...event(900), action: 'francetravail.rechercher-usager', requestId: 'call-900' },
      { ...event(901), action: 'francetravail.rechercher-usager', requestId: 'call-901' },
    ]
    await t.db.exec('create table if not exists bookkeeping_probe (id int primary key)')
    const failed = await writeWithCallEvents(t.db, calls, async (tx) => {
      await tx.query('insert into bookkeeping_probe values (1)')
      await tx.query('insert into bookkeeping_probe values (1)') // duplicate key: the batch fails
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(failed?.name).toBe('DatabaseError')
    const traced = await t.db.query<{ request_id: string }>(`select request_id from audit_events where request_id in ('call-900', 'call-901') order by seq`)
    expect(traced.rows.map((r) => r.request_id)).toEqual(['call-900', 'call-901'])
    expect((await t.db.query<{ n: number }>('select count(*)::int as n from bookkeeping_probe')).rows[0]!.n).toBe(0)
    // When it succeeds, both are written, once.
    await writeWithCallEvents(t.db, [{ ...event(902), requestId: 'call-902' }], async (tx) => {
      await tx.query('insert into bookkeeping_probe values (2)')
    })
    expect((await t.db.query<{ n: number }>(`select count(*)::int as n from audit_events where request_id = 'call-902'`)).rows[0]!.n).toBe(1)
    expect((await verifyAuditChain(t.db)).ok).toBe(true)
  })
})
