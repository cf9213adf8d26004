import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { TEST_AUDIT_SIGNING_KEY, testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { buildWorld, testPurposes, WORLD_NOW, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'

/** Every /v1 request leaves one audit event before its response; the DPO can search them; tampering is detected. */
describe.skipIf(postgresUnavailable())('partner API audit trail', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  const keys = testKeys()
  const purposes = testPurposes()
  const get = (token: string | undefined, path: string, headers: Record<string, string> = {}) =>
    app.request(path, { headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } })
  const events = async () =>
    (await t.db.query<{ seq: number; actor: string | null; organisation: string | null; purpose: string | null; action: string; subject: string | null; outcome: string; request_id: string; details: any }>(
      'select seq, actor, organisation, purpose, action, subject, outcome, request_id, details from audit_events order by seq',
    )).rows
  const count = async () => (await t.db.query<{ n: number }>('select count(*)::int as n from audit_events')).rows[0]!.n

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => WORLD_NOW })
  })
  afterAll(() => t?.drop())

  it('writes one event per request, granted or denied, with actor, organisation, purpose, subject and request id', async () => {
    const before = await count()
    const p1 = world.persons.p1!
    const p3 = world.persons.p3!
    const read = await get(world.tokens.refA1, `/v1/beneficiaires/${p1.publicId}`, { 'X-Request-Id': 'req-read-1' })
    const denied = await get(world.tokens.refA1, `/v1/beneficiaires/${p3.publicId}`, { 'X-Request-Id': 'req-denied-1' })
    const unknown = await get(world.tokens.refA1, '/v1/beneficiaires/00000000-0000-4000-8000-000000000000', { 'X-Request-Id': 'req-unknown-1' })
    const anonymous = await get(undefined, '/v1/beneficiaires', { 'X-Request-Id': 'req-anon-1' })
    const invalid = await get(world.tokens.refA1, '/v1/beneficiaires/not-a-uuid', { 'X-Request-Id': 'req-invalid-1' })
    const list = await get(world.tokens.refA1, '/v1/beneficiaires', { 'X-Request-Id': 'req-list-1' })
    expect([read.status, denied.status, unknown.status, anonymous.status, invalid.status, list.status]).toEqual([200, 404, 404, 401, 400, 200])
    expect(read.headers.get('x-request-id')).toBe('req-read-1')
    expect(await count()).toBe(before + 6)

    const byRequest = new Map((await events()).map((e) => [e.request_id, e]))
    expect(byRequest.get('req-read-1')).toMatchObject({
      actor: 'refa1@test.example',
      organisation: world.orgs.A.siret,
      purpose: 'test-accompagnement',
      action: 'api.beneficiaire.read',
      subject: auditSubject(keys.pseudonym, p1.matchKey),
      outcome: 'granted',
      details: { status: 200, route: '/v1/beneficiaires/:id', access: 'current' },
    })
    expect(byRequest.get('req-denied-1')).toMatchObject({
      action: 'api.beneficiaire.read',
      subject: auditSubject(keys.pseudonym, p3.matchKey),
      outcome: 'denied',
      details: { status: 404, reason: 'not_in_portfolio' },
    })
    expect(byRequest.get('req-unknown-1')).toMatchObject({ subject: null, outcome: 'denied', details: { reason: 'unknown_id' } })
    expect(byRequest.get('req-anon-1')).toMatchObject({ actor: null, action: 'api.authenticate', outcome: 'denied', details: { status: 401, reason: 'missing_credentials' } })
    expect(byRequest.get('req-invalid-1')).toMatchObject({ action: 'api.beneficiaire.read', outcome: 'denied', details: { status: 400, reason: 'invalid_parameters' } })
    expect(byRequest.get('req-list-1')!.details.subjects.sort()).toEqual(
      [auditSubject(keys.pseudonym, p1.matchKey), auditSubject(keys.pseudonym, world.persons.p4!.matchKey)].sort(),
    )
  })

  it('records who presented an expired or revoked token, with the reason', async () => {
    await get(world.tokens.revoked, '/v1/me', { 'X-Request-Id': 'req-revoked-1' })
    const e = (await events()).find((x) => x.request_id === 'req-revoked-1')!
    expect(e).toMatchObject({ actor: 'refa1@test.example', outcome: 'denied', details: { reason: 'revoked_token', status: 401 } })
    expect(typeof e.details.tokenId).toBe('number')
  })

  it('never stores a personal value in the audit log', async () => {
    const text = JSON.stringify(await events())
    for (const p of Object.values(world.persons)) {
      expect(text).not.toContain(p.nir13)
      expect(text).not.toContain(p.publicId)
      expect(text).not.toContain(p.dateNaissance)
    }
    expect(text).not.toMatch(/NOM-\d{4}|Prénom-\d{4}/)
  })

  it('answers the DPO: who accessed this person’s file', async () => {
    const p1 = world.persons.p1!
    await get(world.tokens.mgrA, `/v1/beneficiaires/${p1.publicId}`, { 'X-Request-Id': 'req-mgr-1' })
    await get(world.tokens.refB, `/v1/beneficiaires/${p1.publicId}`, { 'X-Request-Id': 'req-refb-1' })
    const res = await get(world.tokens.dpo, `/v1/dpo/beneficiaires/${p1.publicId}/acces?limit=100`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    const seen = body.items.map((e: any) => `${e.requestId}|${e.actor}|${e.outcome}`)
    expect(seen).toEqual(expect.arrayContaining([
      'req-read-1|refa1@test.example|granted',
      'req-list-1|refa1@test.example|granted',
      'req-mgr-1|mgra@test.example|granted',
      'req-refb-1|refb@test.example|denied',
    ]))
    expect(seen.some((s: string) => s.startsWith('req-denied-1'))).toBe(false)
    // Newest first.
    const seqs = body.items.map((e: any) => e.seq)
    expect([...seqs].sort((a: number, b: number) => b - a)).toEqual(seqs)

    const search = (await (await get(world.tokens.dpo, `/v1/dpo/audit-events?actor=refb@test.example&outcome=denied`)).json()) as any
    expect(search.items.length).toBeGreaterThan(0)
    expect(search.items.every((e: any) => e.actor === 'refb@test.example' && e.outcome === 'denied')).toBe(true)
    const one = (await (await get(world.tokens.dpo, `/v1/dpo/audit-events?requestId=req-mgr-1`)).json()) as any
    expect(one.items).toHaveLength(1)
  })

  it('pages the DPO search with a cursor', async () => {
    const first = (await (await get(world.tokens.dpo, '/v1/dpo/audit-events?limit=3')).json()) as any
    expect(first.items).toHaveLength(3)
    const second = (await (await get(world.tokens.dpo, `/v1/dpo/audit-events?limit=3&cursor=${first.nextCursor}`)).json()) as any
    expect(second.items[0].seq).toBe(first.items[2].seq - 1)
    expect((await get(world.tokens.dpo, `/v1/dpo/beneficiaires/${world.persons.p1!.publicId}/acces?cursor=${first.nextCursor}`)).status).toBe(400)
  })

  it('withholds the response when the audit event cannot be written', async () => {
    const failing = createApp({
      db: t.db,
      keys,
      purposes,
      audit: { append: () => Promise.reject(new Error('disk full')) },
      now: () => WORLD_NOW,
    })
    const res = await failing.request(`/v1/beneficiaires/${world.persons.p1!.publicId}`, { headers: { Authorization: `Bearer ${world.tokens.refA1}` } })
    expect(res.status).toBe(503)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({ error: { code: 'audit_unavailable', message: expect.any(String) } })
    expect(text).not.toContain('NOM-0001')
    expect(text).not.toContain('disk full')
  })

  it('keeps a verifiable chain, and `audit verify` names the first tampered event', async () => {
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    const target = (await events()).find((e) => e.request_id === 'req-refb-1')!
    await t.db.query(`update audit_events set outcome = 'granted' where seq = $1`, [target.seq])
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, brokenAt: target.seq, reason: 'hash_mismatch' })
    if (testBackend() === 'postgres') {
      const run = spawnSync(process.execPath, ['bin/passerelle.js', 'audit', 'verify'], {
        env: {
          ...process.env,
          DATABASE_URL: t.url,
          LOG_LEVEL: 'silent',
          PASSERELLE_NIR_KEY: keys.nir.toString('base64'),
          PASSERELLE_INDEX_KEY: keys.index.toString('base64'),
          PASSERELLE_PSEUDONYM_KEY: keys.pseudonym.toString('base64'),
          PASSERELLE_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
        },
        encoding: 'utf8',
      })
      expect(run.status).toBe(1)
      expect(run.stdout).toContain(`BROKEN at seq ${target.seq}`)
    }
  })
})
