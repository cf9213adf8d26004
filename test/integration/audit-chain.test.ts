import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter, appendAuditEvents } from '../../src/audit/audit-log.ts'
import type { AuditEventInput } from '../../src/audit/chain.ts'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
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

  it('names the first tampered event', async () => {
    await t.db.query(`update audit_events set outcome = 'granted' where seq = 37`)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: 37, reason: 'hash_mismatch' })
  })

  it('detects a deleted event', async () => {
    await t.db.query(`delete from audit_events where seq = 37`)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: 37, reason: 'gap' })
  })
})
