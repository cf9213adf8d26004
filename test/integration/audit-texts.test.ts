import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eraseOrphanAuditTexts } from '../../src/retention/erase-orphan-audit-texts.ts'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { addLegalHold, releaseLegalHold } from '../../src/retention/legal-holds.ts'
import { showArchivedDossier } from '../../src/retention/read-archive.ts'
import { eraseForRequest } from '../../src/rights/erasure.ts'
import { extendRequest, openRequest, showRequest } from '../../src/rights/requests.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { adults, CONSENT_PURPOSE, dumpEveryTable, loadPopulation, rightsContext, type LoadedWorld, type Subject } from '../helpers/rights-world.ts'

/**
 * Free text an operator types (issue 13, point 7): it never enters the hash chain, the event keeps a keyed digest,
 * the text goes with the person, and a NIR-shaped text is refused without being quoted.
 */
const NOW = new Date('2026-03-10T10:00:00Z')
const keys = testKeys()
const SENTINEL = 'ZORGLUB-SENTINELLE'
/** The reason of the issue, NIR included. */
const WITH_NIR = 'Demande de SAINT-JUST Maëlle NIR 294089378997978 complexe'

describe.skipIf(postgresUnavailable())('free text of audit events', () => {
  let t: TestDatabase
  let world: LoadedWorld
  let x: Subject
  const ctx = () => rightsContext(t.db, world.declarations, NOW, keys)
  const auditRows = async () => (await t.db.query<{ line: string }>('select row_to_json(e)::text as line from audit_events e order by seq')).rows.map((r) => r.line)
  const texts = async () => (await t.db.query<{ seq: number; field: string; body: string }>('select seq, field, body from audit_texts order by seq, field')).rows

  beforeAll(async () => {
    t = await createTestDatabase()
    const mappings = mkdtempSync(path.join(tmpdir(), 'passerelle-audit-texts-'))
    writeFileSync(path.join(mappings, 'test-consentement.yaml'), CONSENT_PURPOSE)
    world = await loadPopulation(t.db, keys, mappings, 20)
    x = adults(20).find((p) => p.foyer.personnes.length === 1)!
  })
  afterAll(() => t?.drop())

  it('refuses a NIR-shaped extension reason, naming the field and never quoting it, and writes nothing', async () => {
    const opened = await openRequest(ctx(), { type: 'erasure', nir: x.nir13, birthDate: x.birthDate })
    const before = (await auditRows()).length
    for (const reason of [WITH_NIR, 'dossier 2 94 08 93 789 997 complexe à instruire', 'assuré 1.85.02.2A.123.456 demande complexe']) {
      const error = await extendRequest(ctx(), opened.request.id, reason).then(() => undefined, (e: Error) => e)
      expect(error?.message).toMatch(/reason: contains a number shaped like a NIR/)
      for (const part of ['294089378997978', '2940893789979', 'SAINT-JUST', '2A.123']) expect(error?.message).not.toContain(part)
    }
    expect(await auditRows()).toHaveLength(before)
    expect((await showRequest(ctx(), opened.request.id)).request.extendedDueOn).toBeNull()
  })

  it('keeps an extension reason out of the chain, erases it with the person, and the chain still verifies', async () => {
    const opened = await openRequest(ctx(), { type: 'erasure', nir: x.nir13, birthDate: x.birthDate })
    await extendRequest(ctx(), opened.request.id, `Demande de ${SENTINEL}, recherche en archive`)
    const lines = await auditRows()
    expect(lines.some((l) => l.includes(SENTINEL))).toBe(false)
    const extend = lines.map((l) => JSON.parse(l) as { action: string; details: { texts?: { reason?: string } } }).find((e) => e.action === 'rights.extend')!
    expect(extend.details.texts?.reason).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await texts()).map((r) => r.body)).toContain(`Demande de ${SENTINEL}, recherche en archive`)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })

    const done = await eraseForRequest(ctx(), opened.request.id)
    expect(done.decision.scope).toBe('full')
    expect(done.counts).toMatchObject({ audit_texts: 1 })
    expect((await texts()).some((r) => r.body.includes(SENTINEL))).toBe(false)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    // No table keeps the reason once the person is erased... except the request itself, which is the DPO's file.
    const left = (await dumpEveryTable(t.db)).filter((l) => l.includes(SENTINEL))
    expect(left.every((l) => l.startsWith('public.rights_requests') || l.startsWith('public.rights_request_actions'))).toBe(true)
  })

  it('detects a text changed while it is present', async () => {
    const y = adults(20).find((p) => p.foyer.personnes.length === 1 && p.matchKey !== x.matchKey)!
    const opened = await openRequest(ctx(), { type: 'access', nir: y.nir13, birthDate: y.birthDate })
    await extendRequest(ctx(), opened.request.id, 'demandes simultanées nombreuses, recherche en archive')
    const row = (await texts()).at(-1)!
    await t.db.query(`update audit_texts set body = 'autre motif, réécrit après coup' where seq = $1 and field = 'reason'`, [row.seq])
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: Number(row.seq), reason: 'text_mismatch', field: 'reason' })
    // A text moved to another event does not match there either (the digest is bound to the event).
    await t.db.query(`update audit_texts set body = $2, seq = 1 where seq = $1 and field = 'reason'`, [row.seq, row.body])
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: 1, reason: 'text_mismatch' })
    await t.db.query('update audit_texts set seq = $1 where seq = 1', [row.seq])
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  it('keeps legal hold reasons and references out of the chain, and refuses NIR-shaped ones', async () => {
    const numdemrsa = x.foyer.numdemrsa
    const other = adults(20).find((p) => p.foyer.personnes.length === 1 && p.matchKey !== x.matchKey)!
    const error = await addLegalHold(t.db, keys, { numdemrsa: other.foyer.numdemrsa, reason: 'contentieux en cours', reference: `TA 1 85 02 75 123 456`, actor: 'dpo', now: NOW }).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(error?.message).toMatch(/^reference: contains a number shaped like a NIR/)
    expect(error?.message).not.toContain('123 456')
    const hold = await addLegalHold(t.db, keys, { numdemrsa: other.foyer.numdemrsa, reason: `contentieux ${SENTINEL}`, reference: 'TA-2026-001', actor: 'dpo', now: NOW })
    await expect(releaseLegalHold(t.db, { id: hold.id, actor: 'dpo', reason: WITH_NIR, now: NOW })).rejects.toThrow(/^reason: contains a number shaped like a NIR/)
    await releaseLegalHold(t.db, { id: hold.id, actor: 'dpo', reason: 'jugement définitif rendu', now: NOW })
    const lines = await auditRows()
    for (const needle of [SENTINEL, 'TA-2026-001', 'jugement', '294089378997978']) expect(lines.some((l) => l.includes(needle))).toBe(false)
    const held = (await texts()).filter((r) => [SENTINEL, 'TA-2026-001', 'jugement'].some((n) => r.body.includes(n)))
    expect(held.map((r) => r.field).sort()).toEqual(['reason', 'reason', 'reference', 'reference'])
    expect(numdemrsa).not.toBe(other.foyer.numdemrsa)
    await expect(showArchivedDossier(t.db, keys, { numdemrsa: other.foyer.numdemrsa, reason: WITH_NIR, actor: 'dpo', now: NOW })).rejects.toThrow(/^reason: contains a number shaped like a NIR/)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  it('sweeps the texts whose person and dossier exist nowhere any more, and only those', async () => {
    const person = (await t.db.query<{ id: number }>('select id from persons order by id limit 1')).rows[0]!.id
    await t.db.query(
      `insert into audit_texts (seq, field, subject, person_id, dossier_id, body, created_at)
       values (900001, 'reason', null, $1, null, 'kept', now()), (900002, 'reason', null, 987654321, null, 'gone', now()),
              (900003, 'reason', null, null, 987654321, 'gone too', now()), (900004, 'reason', null, null, null, 'no owner', now())`,
      [person],
    )
    expect(await eraseOrphanAuditTexts(t.db)).toBe(2)
    expect((await texts()).filter((r) => Number(r.seq) > 900000).map((r) => r.body)).toEqual(['kept', 'no owner'])
    await t.db.query('delete from audit_texts where seq > 900000')
  })
})
