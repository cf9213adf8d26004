import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { issueApiToken } from '../../src/auth/issue-api-token.ts'
import { completeSiret } from '../../src/auth/siret.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { buildWorld, testPurposes, WORLD_NOW, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/** An admin sets up a new structure, its referent and an assignment through the API; the referent then sees it. */
describe.skipIf(postgresUnavailable())('administration endpoints', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  const keys = testKeys()
  const purposes = testPurposes()
  const call = async (method: string, path: string, body?: unknown, token = world.tokens.admin) => {
    const res = await app.request(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
    return { status: res.status, body: (await res.json()) as any }
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => WORLD_NOW })
  })
  afterAll(() => t?.drop())

  it('creates an organisation, a referent and an assignment that the referent then sees', async () => {
    const siret = completeSiret('2175000000999')
    const org = await call('POST', '/v1/admin/organisations', { siret, name: 'Mission locale', type: 'association' })
    expect(org.status).toBe(201)
    expect(org.body).toMatchObject({ siret, type: 'association' })
    expect((await call('POST', '/v1/admin/organisations', { siret, name: 'Twice', type: 'association' })).status).toBe(409)
    expect((await call('POST', '/v1/admin/organisations', { siret: '21750000099998', name: 'Bad', type: 'ccas' })).body.error.code).toBe('invalid_siret')

    const user = await call('POST', '/v1/admin/users', { email: 'New.Ref@Test.example', displayName: 'Nouvelle référente', role: 'referent', organisationSiret: siret })
    expect(user.status).toBe(201)
    expect(user.body).toMatchObject({ email: 'new.ref@test.example', role: 'referent', active: true, organisation: { siret } })
    const { token } = await issueApiToken(t.db, purposes, { email: 'new.ref@test.example', purposeId: 'test-accompagnement', lifetime: '30d' }, WORLD_NOW)

    const p9 = world.persons.p9!
    expect((await call('GET', `/v1/beneficiaires/${p9.publicId}`, undefined, token)).status).toBe(404)
    const assignment = await call('POST', '/v1/admin/assignments', { beneficiaireId: p9.publicId, organisationSiret: siret, referentEmail: 'new.ref@test.example', startsOn: '2026-06-01' })
    expect(assignment.status).toBe(201)
    expect(assignment.body).toMatchObject({ beneficiaireId: p9.publicId, source: 'admin', startsOn: '2026-06-01', endsOn: null, referent: { email: 'new.ref@test.example' } })
    expect((await call('GET', `/v1/beneficiaires/${p9.publicId}`, undefined, token)).status).toBe(200)

    const listed = await call('GET', `/v1/admin/assignments?beneficiaireId=${p9.publicId}`)
    expect(listed.body.items.map((a: any) => a.id)).toEqual([assignment.body.id])

    // Ended long ago: past the grace period, the referent no longer sees the person.
    const ended = await call('PATCH', `/v1/admin/assignments/${assignment.body.id}`, { endsOn: '2026-06-02' })
    expect(ended.body.endsOn).toBe('2026-06-02')
    expect((await call('GET', `/v1/beneficiaires/${p9.publicId}`, undefined, token)).body.access.mode).toBe('grace')
    expect((await call('PATCH', `/v1/admin/assignments/${assignment.body.id}`, { endsOn: '2025-01-01' })).body.error.code).toBe('end_before_start')
  })

  it('refuses a referent who does not belong to the structure', async () => {
    const res = await call('POST', '/v1/admin/assignments', {
      beneficiaireId: world.persons.p9!.publicId,
      organisationSiret: world.orgs.B.siret,
      referentEmail: 'refa1@test.example',
      startsOn: '2026-06-01',
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('referent_not_in_structure')
  })

  it('deactivating a user stops their tokens at once', async () => {
    expect((await call('GET', '/v1/me', undefined, world.tokens.refA2)).status).toBe(200)
    const res = await call('PATCH', `/v1/admin/users/${world.users.refA2!.publicId}`, { active: false })
    expect(res.body.active).toBe(false)
    expect((await call('GET', '/v1/me', undefined, world.tokens.refA2)).status).toBe(401)
  })

  it('pages users and organisations', async () => {
    const first = await call('GET', '/v1/admin/users?limit=4')
    expect(first.body.items).toHaveLength(4)
    const second = await call('GET', `/v1/admin/users?limit=4&cursor=${first.body.nextCursor}`)
    const ids = [...first.body.items, ...second.body.items].map((u: any) => u.id)
    expect(new Set(ids).size).toBe(8)
    expect((await call('GET', `/v1/admin/users?organisationSiret=${world.orgs.D.siret}`)).body.items.map((u: any) => u.role).sort()).toEqual(['admin', 'dpo', 'instructor', 'statistician'])
  })
})
