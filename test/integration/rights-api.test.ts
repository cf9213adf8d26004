import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { seedOrganisation, seedToken, seedUser } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { adults, DPO_PURPOSE, loadPopulation, mappingsWith, type LoadedWorld, type Subject } from '../helpers/rights-world.ts'

const NOW = new Date('2026-04-10T10:00:00Z')

/** The DPO-only endpoints: every step of a request, role checks, errors that quote no value, the trail. */
describe.skipIf(postgresUnavailable())('rights: DPO API', () => {
  let t: TestDatabase
  let world: LoadedWorld
  let app: ApiApp
  let audit: AuditWriter
  const keys = testKeys()
  let x: Subject
  const tokens: Record<string, string> = {}
  const call = async (token: string, method: string, url: string, body?: unknown) => {
    const res = await app.request(url, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await res.text()
    return { status: res.status, text, json: (() => { try { return JSON.parse(text) as any } catch { return undefined } })() }
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await loadPopulation(t.db, keys, mappingsWith({ 'test-dpo': DPO_PURPOSE }), 6)
    x = adults(6)[0]!
    const dep = await seedOrganisation(t.db, 1, 'departement', 'Département de test')
    const ccas = await seedOrganisation(t.db, 2, 'ccas', 'CCAS')
    await seedUser(t.db, 'dpd@dep.example', 'dpo', dep.id)
    await seedUser(t.db, 'ref@ccas.example', 'referent', ccas.id)
    tokens.dpo = (await seedToken(t.db, world.declarations.purposes, 'dpd@dep.example', 'test-dpo', NOW)).token
    tokens.ref = (await seedToken(t.db, world.declarations.purposes, 'ref@ccas.example', 'accompagnement-rsa', NOW)).token
    audit = new AuditWriter(t.db)
    app = createApp({ db: t.db, keys, purposes: world.declarations.purposes, audit, now: () => NOW })
  })
  afterAll(() => t?.drop())

  it('takes a limitation from opening to lifting and closing', async () => {
    const opened = await call(tokens.dpo!, 'POST', '/v1/dpo/rights-requests', { type: 'limitation', nir: x.nir13, birthDate: x.birthDate, receivedOn: '2026-04-09' })
    expect(opened.status).toBe(201)
    expect(opened.json).toMatchObject({ type: 'limitation', receivedOn: '2026-04-09', dueOn: '2026-05-09', found: true, state: 'open' })
    expect(opened.json.limitation).toEqual(expect.any(Number))
    const id = opened.json.id as number
    expect((await call(tokens.dpo!, 'POST', `/v1/dpo/rights-requests/${id}/extension`, { reason: 'contestation en cours auprès de la CAF' })).json).toMatchObject({ extendedDueOn: '2026-07-09' })
    expect((await call(tokens.dpo!, 'POST', `/v1/dpo/rights-requests/${id}/lift`)).status).toBe(200)
    expect((await call(tokens.dpo!, 'POST', `/v1/dpo/rights-requests/${id}/lift`)).status).toBe(409)
    expect((await call(tokens.dpo!, 'POST', `/v1/dpo/rights-requests/${id}/close`, { outcome: 'granted' })).json).toMatchObject({ state: 'closed', outcome: 'granted' })
    const again = await call(tokens.dpo!, 'POST', `/v1/dpo/rights-requests/${id}/close`, { outcome: 'granted' })
    expect(again.status).toBe(409)
    expect(again.json.error.code).toBe('conflict')
    const shown = await call(tokens.dpo!, 'GET', `/v1/dpo/rights-requests/${id}`)
    expect(shown.json.actions.map((a: { action: string }) => a.action)).toEqual(['rights.open', 'rights.limit', 'rights.extend', 'rights.lift', 'rights.close'])
    expect(shown.json.actions.every((a: { actor: string }) => a.actor === 'dpd@dep.example')).toBe(true)
  })

  it('refuses an erasure under a public-interest purpose, with the reason, and issues a rectification notice without values', async () => {
    const erasure = await call(tokens.dpo!, 'POST', '/v1/dpo/rights-requests', { type: 'erasure', nir: x.nir13, birthDate: x.birthDate, purpose: 'instruction' })
    const result = await call(tokens.dpo!, 'POST', `/v1/dpo/rights-requests/${erasure.json.id}/erasure`, {})
    expect(result.json).toMatchObject({ dryRun: false, outcome: 'refused', scope: 'none', granted: [] })
    expect(result.json.refused[0].reason).toMatch(/17\.3\.b/)
    const rect = await call(tokens.dpo!, 'POST', '/v1/dpo/rights-requests', { type: 'rectification', nir: x.nir13, birthDate: x.birthDate, fields: ['personne.nom'] })
    expect(rect.status).toBe(201)
    const notice = await call(tokens.dpo!, 'GET', `/v1/dpo/rights-requests/${rect.json.id}/notice`)
    expect(notice.status).toBe(200)
    expect(notice.text).toContain(x.foyer.numdemrsa)
    expect(notice.text).not.toContain(x.person.nom)
    expect((await call(tokens.dpo!, 'GET', `/v1/dpo/rights-requests/${rect.json.id}/notice?format=html`)).text).toMatch(/^<!doctype html>/)
    // A notice is for rectification requests only.
    expect((await call(tokens.dpo!, 'GET', `/v1/dpo/rights-requests/${erasure.json.id}/notice`)).status).toBe(409)
  })

  it('answers 404 to anyone but the DPO and to unknown requests; 400 names the rule, never the value', async () => {
    expect((await call(tokens.ref!, 'GET', '/v1/dpo/rights-requests/1')).status).toBe(404)
    expect((await call(tokens.ref!, 'POST', '/v1/dpo/rights-requests', { type: 'access', nir: x.nir13, birthDate: x.birthDate })).status).toBe(404)
    expect((await call(tokens.dpo!, 'GET', '/v1/dpo/rights-requests/999')).status).toBe(404)
    const bad = await call(tokens.dpo!, 'POST', '/v1/dpo/rights-requests', { type: 'rectification', nir: x.nir13, birthDate: x.birthDate, fields: ['personne.nomm'] })
    expect(bad.status).toBe(400)
    expect(bad.json.error.message).toMatch(/unknown field "personne.nomm"/)
    const wrong = await call(tokens.dpo!, 'POST', '/v1/dpo/rights-requests', { type: 'access', nir: `${x.nir13}00`, birthDate: x.birthDate })
    expect(wrong.status).toBe(400)
    expect(wrong.text).not.toContain(x.nir13)
    const invalid = await call(tokens.dpo!, 'POST', '/v1/dpo/rights-requests', { type: 'access', nir: 'not a nir at all', birthDate: x.birthDate })
    expect(invalid.status).toBe(400)
    expect(invalid.text).not.toContain('not a nir')
  })

  it('refuses an extension reason holding a NIR with a 400 naming the field, quoting nothing, and writes nothing', async () => {
    const opened = await call(tokens.dpo!, 'POST', '/v1/dpo/rights-requests', { type: 'access', nir: x.nir13, birthDate: x.birthDate })
    const id = opened.json.id as number
    const trail = async () => (await t.db.query<{ line: string }>('select row_to_json(e)::text as line from audit_events e')).rows.map((r) => r.line)
    const reason = `Demande de SAINT-JUST Maëlle NIR ${x.nir13} complexe`
    const refused = await call(tokens.dpo!, 'POST', `/v1/dpo/rights-requests/${id}/extension`, { reason })
    expect(refused.status).toBe(400)
    expect(refused.json.error.message).toMatch(/reason: contains a number shaped like a NIR/)
    for (const part of [x.nir13, 'SAINT-JUST']) expect(refused.text).not.toContain(part)
    await audit.drain()
    for (const line of await trail()) for (const part of [x.nir13, 'SAINT-JUST']) expect(line).not.toContain(part)
    expect((await call(tokens.dpo!, 'GET', `/v1/dpo/rights-requests/${id}`)).json.extendedDueOn ?? null).toBeNull()
  })

  it('documents the routes in the OpenAPI document', async () => {
    const res = await app.request('/openapi.json')
    expect(res.status).toBe(200)
    const doc = (await res.json()) as { paths: Record<string, unknown> }
    expect(Object.keys(doc.paths).filter((p) => p.includes('rights-requests')).sort()).toEqual([
      '/v1/dpo/rights-requests',
      '/v1/dpo/rights-requests/{number}',
      '/v1/dpo/rights-requests/{number}/close',
      '/v1/dpo/rights-requests/{number}/erasure',
      '/v1/dpo/rights-requests/{number}/export',
      '/v1/dpo/rights-requests/{number}/extension',
      '/v1/dpo/rights-requests/{number}/lift',
      '/v1/dpo/rights-requests/{number}/notice',
    ])
  })

  it('leaves a trail event per call, under the person’s pseudonym, with no personal value', async () => {
    await audit.drain()
    const { rows } = await t.db.query<{ action: string; subject: string | null; outcome: string; actor: string }>(
      `select action, subject, outcome, actor from audit_events where action like 'api.dpo.rights.%' order by seq`,
    )
    expect(rows.length).toBeGreaterThan(10)
    const subject = auditSubject(keys.pseudonym, x.matchKey)
    expect(rows.filter((r) => r.action === 'api.dpo.rights.lift').map((r) => [r.subject, r.outcome])).toEqual([
      [subject, 'granted'],
      [subject, 'denied'],
    ])
    expect(rows.filter((r) => r.actor === 'ref@ccas.example').every((r) => r.outcome === 'denied')).toBe(true)
    const all = JSON.stringify((await t.db.query('select * from audit_events')).rows)
    for (const v of [x.nir13, x.birthDate, x.person.nom, x.person.prenom]) expect(all).not.toContain(v)
  })
})
