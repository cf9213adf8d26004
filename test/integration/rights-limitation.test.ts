import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { purposeFields } from '../../src/model/canonical-records.ts'
import { liftLimitation } from '../../src/rights/limitation.ts'
import { openRequest, showRequest } from '../../src/rights/requests.ts'
import { readPopulation } from '../../src/statistics/queries.ts'
import { seedAssignment, seedOrganisation, seedToken, seedUser } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { adults, loadPopulation, mappingsWith, rightsContext, type LoadedWorld, type Subject } from '../helpers/rights-world.ts'

let clock = new Date('2026-04-10T10:00:00Z')

/** Limitation (art. 18) end to end: the person disappears from the API and the extracts, data kept, then comes back. */
describe.skipIf(postgresUnavailable())('rights: limitation', () => {
  let t: TestDatabase
  let world: LoadedWorld
  let app: ApiApp
  let audit: AuditWriter
  const keys = testKeys()
  let x: Subject
  let publicId: string
  let token: string
  let requestId: number

  const read = async () => (await app.request(`/v1/beneficiaires/${publicId}`, { headers: { Authorization: `Bearer ${token}` } })).status
  const listed = async () => {
    const res = await app.request('/v1/beneficiaires?limit=200', { headers: { Authorization: `Bearer ${token}` } })
    return ((await res.json()) as { items: { id: string }[] }).items.map((i) => i.id)
  }
  const inExtract = async () => {
    const stats = world.declarations.purposes.get('statistiques')!
    const ids: string[] = []
    await readPopulation(t.db, { fields: purposeFields(stats), roles: undefined, now: clock, purpose: stats.id, batchSize: 100 }, (batch) => {
      ids.push(...batch.map((r) => r.match_key))
    })
    return ids.includes(x.matchKey)
  }
  const personRow = async () => (await t.db.query('select * from persons where match_key = $1', [x.matchKey])).rows[0]

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await loadPopulation(t.db, keys, mappingsWith(), 10)
    x = adults(10)[0]!
    const person = (await t.db.query<{ id: number; public_id: string }>('select id, public_id::text as public_id from persons where match_key = $1', [x.matchKey])).rows[0]!
    publicId = person.public_id
    const ccas = await seedOrganisation(t.db, 1, 'ccas', 'CCAS de Testville')
    const ref = await seedUser(t.db, 'ref@ccas.example', 'referent', ccas.id)
    const others = (await t.db.query<{ id: number }>('select id from persons where match_key <> $1 order by id limit 3', [x.matchKey])).rows
    for (const p of [{ id: person.id }, ...others]) await seedAssignment(t.db, { personId: p.id, organisationId: ccas.id, referentUserId: ref.id, startsOn: '2026-01-01' })
    token = (await seedToken(t.db, world.declarations.purposes, ref.email, 'accompagnement-rsa', clock)).token
    audit = new AuditWriter(t.db)
    app = createApp({ db: t.db, keys, purposes: world.declarations.purposes, audit, now: () => clock })
  })
  afterAll(() => t?.drop())

  it('before: the person is served and extracted', async () => {
    expect(await read()).toBe(200)
    expect(await listed()).toContain(publicId)
    expect(await inExtract()).toBe(true)
  })

  it('a limitation hides the person from every API route and from the extracts, and keeps the data', async () => {
    const before = await personRow()
    clock = new Date('2026-04-11T09:00:00Z')
    const opened = await openRequest(rightsContext(t.db, world.declarations, clock, keys), { type: 'limitation', nir: x.nir13, birthDate: x.birthDate })
    requestId = opened.request.id
    expect(opened.request.limitationId).not.toBeNull()
    clock = new Date('2026-04-11T10:00:00Z')
    expect(await read()).toBe(404)
    expect((await app.request(`/v1/beneficiaires/${publicId}/historique`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404)
    const page = await listed()
    expect(page).not.toContain(publicId)
    expect(page.length).toBe(3)
    expect(await inExtract()).toBe(false)
    expect(await personRow()).toEqual(before)
  })

  it('the audit log shows the refused attempts, with the reason, under the person’s pseudonym', async () => {
    await audit.drain()
    const { rows } = await t.db.query<{ action: string; outcome: string; details: { reason?: string } }>(
      `select action, outcome, details from audit_events where subject = $1 and occurred_at >= $2 order by seq`,
      [auditSubject(keys.pseudonym, x.matchKey), new Date('2026-04-11T09:30:00Z')],
    )
    expect(rows.map((r) => [r.action, r.outcome, r.details.reason])).toEqual([
      ['api.beneficiaire.read', 'denied', 'limited'],
      ['api.beneficiaire.history', 'denied', 'limited'],
    ])
    const steps = (await t.db.query<{ action: string }>(`select action from audit_events where action like 'rights.%' order by seq`)).rows.map((r) => r.action)
    expect(steps).toEqual(['rights.open', 'rights.limit'])
  })

  it('lifting is recorded, and the person is served again', async () => {
    clock = new Date('2026-04-20T10:00:00Z')
    const lifted = await liftLimitation(rightsContext(t.db, world.declarations, clock, keys), requestId)
    expect(lifted.liftedAt).toEqual(clock)
    expect(await read()).toBe(200)
    expect(await listed()).toContain(publicId)
    expect(await inExtract()).toBe(true)
    await expect(liftLimitation(rightsContext(t.db, world.declarations, clock, keys), requestId)).rejects.toThrow(/already lifted/)
    const shown = await showRequest({ db: t.db, now: clock }, requestId)
    expect(shown.actions.map((a) => a.action)).toEqual(['rights.open', 'rights.limit', 'rights.lift'])
    const limitation = (await t.db.query<{ since: Date; lifted_at: Date }>('select since, lifted_at from limitations where id = $1', [shown.request.limitationId])).rows[0]!
    expect(new Date(limitation.since)).toEqual(new Date('2026-04-11T09:00:00Z'))
    expect(new Date(limitation.lifted_at)).toEqual(clock)
  })
})
