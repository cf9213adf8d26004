import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upsertAssignments } from '../../src/assignments/assignments.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { AccessTokenCache } from '../../src/exchange/france-travail-api/access-token.ts'
import { FranceTravailApiFlowSchema, type FranceTravailApiFlow } from '../../src/exchange/france-travail-api/api-flow.ts'
import type { ApiJobDeps } from '../../src/exchange/france-travail-api/look-up-persons.ts'
import { QuotaLimiter } from '../../src/exchange/france-travail-api/quota-limiter.ts'
import { deliverOrientations } from '../../src/outbox/deliver-orientations.ts'
import { listOutbox } from '../../src/outbox/queries.ts'
import { startFranceTravailSimulator, type FranceTravailSimulator } from '../../src/simulators/france-travail/france-travail-simulator.ts'
import { seedFile, seedOrganisation, seedPerson, seedUser, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * The outbox sends France Travail the département's decision as it stands when it is sent: a decision cancelled
 * since it was announced, or older than one already delivered, is withdrawn, never sent (the simulator stands for
 * France Travail and records every write it receives).
 */
describe.skipIf(postgresUnavailable())('orientation messages whose decision no longer holds are withdrawn', () => {
  let t: TestDatabase
  let sim: FranceTravailSimulator
  const keys = testKeys()
  const persons: SeededPerson[] = []
  let ccas: { id: number }
  let association: { id: number }
  let adminId: number
  let referentId: number
  const identifiantOf = (n: number) => `FT${String(n).padStart(8, '0')}`

  const flow = (): FranceTravailApiFlow => ({
    id: 'france-travail-api',
    ...FranceTravailApiFlowSchema.parse({
      title: 'test',
      producer: 'France Travail',
      source: { type: 'francetravail-api', token_url: sim.tokenUrl, client_id: sim.clientId, client_secret_env: 'FT_API_CLIENT_SECRET', scopes: ['api_rechercher-usagerv2'], base_url: sim.url, quota_per_second: 100, timeout_ms: 2000, max_attempts: 3, backoff_ms: 20, concurrency: 4, batch_size: 25 },
      schedule: '0 5 * * *',
      retention: 'france-travail-api',
      outbound: { purpose: 'instruction', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { 'france-travail': 'PED', ccas: 'PSP', association: 'PSO' } },
      outbox_max_attempts: 3,
    }),
  })
  const deps = (): ApiJobDeps => {
    const f = flow()
    return { db: t.db, keys, log: pino({ level: 'silent' }), flow: f, client: { flowId: f.id, source: f.source, tokens: new AccessTokenCache(f.source, sim.clientSecret), limiter: new QuotaLimiter(100) }, purpose: 'instruction' }
  }
  const assign = (person: SeededPerson, organisationId: number, startsOn: string, referentUserId: number | null = null) =>
    t.db.transaction((tx) => upsertAssignments(tx, [{ personId: person.personId, organisationId, referentUserId, startsOn, endsOn: null }], { source: 'admin', userId: adminId }))
  const messagesOf = async (person: SeededPerson) => (await listOutbox(t.db, { limit: 100 })).filter((m) => m.personId === person.personId).sort((a, b) => a.id - b.id)

  beforeAll(async () => {
    t = await createTestDatabase()
    const fileId = await seedFile(t.db)
    for (let n = 1; n <= 3; n++) persons.push(await seedPerson(t.db, keys, fileId, { n, numdemrsa: String(30_000_000 + n).padStart(11, '0') }))
    ccas = await seedOrganisation(t.db, 1, 'ccas')
    association = await seedOrganisation(t.db, 2, 'association')
    adminId = (await seedUser(t.db, 'admin@cd.example', 'admin', ccas.id)).id
    referentId = (await seedUser(t.db, 'referent@ccas.example', 'referent', ccas.id)).id
    sim = await startFranceTravailSimulator({ quotaPerSecond: 100, persons: persons.map((p, i) => ({ nir: p.nir13, dateNaissance: p.dateNaissance, identifiant: identifiantOf(i + 1) })) })
  })
  afterAll(async () => {
    await sim?.close()
    await t?.drop()
  })

  it('withdraws the message of an assignment cancelled before delivery (superseded on its start day): one write, the current one', async () => {
    const p = persons[0]!
    await assign(p, ccas.id, '2026-11-01')
    // The same day, the same CCAS names the referent: the first assignment is cancelled (ends before it starts).
    await assign(p, ccas.id, '2026-11-01', referentId)
    const counts = await deliverOrientations(deps())
    expect(sim.received(identifiantOf(1)).map((o) => o.parcours)).toEqual(['PSP'])
    const messages = await messagesOf(p)
    expect(messages.map((m) => [m.state, m.lastError])).toEqual([
      ['withdrawn', 'withdrawn_cancelled'],
      ['delivered', null],
    ])
    expect(counts).toMatchObject({ delivered: 1, withdrawn: 1, failed: 0 })
  })

  it('withdraws a back-dated decision recorded after a later one was delivered: France Travail keeps the current orientation', async () => {
    const p = persons[1]!
    await assign(p, ccas.id, '2026-11-10')
    expect((await deliverOrientations(deps())).delivered).toBe(1)
    // Recorded afterwards, starting earlier: it ends the day before the CCAS one starts; the CCAS one stays current.
    await assign(p, association.id, '2026-11-01')
    const counts = await deliverOrientations(deps())
    expect(counts).toMatchObject({ delivered: 0, withdrawn: 1 })
    expect(sim.received(identifiantOf(2)).map((o) => o.parcours)).toEqual(['PSP'])
    expect((await messagesOf(p)).map((m) => m.state)).toEqual(['delivered', 'withdrawn'])
  })

  it('still delivers successive decisions in order, and a withdrawn message holds nothing back', async () => {
    const p = persons[2]!
    await assign(p, ccas.id, '2026-11-01')
    await assign(p, ccas.id, '2026-11-01', referentId) // cancels the first
    await assign(p, association.id, '2026-12-01')
    for (let round = 0; round < 3; round++) await deliverOrientations(deps())
    expect(sim.received(identifiantOf(3)).map((o) => o.parcours)).toEqual(['PSP', 'PSO'])
    expect((await messagesOf(p)).map((m) => m.state)).toEqual(['withdrawn', 'delivered', 'delivered'])
  })
})
