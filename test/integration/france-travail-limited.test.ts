import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { AccessTokenCache } from '../../src/exchange/france-travail-api/access-token.ts'
import { FranceTravailApiFlowSchema, type FranceTravailApiFlow } from '../../src/exchange/france-travail-api/api-flow.ts'
import { lookUpPersons, type ApiJobDeps } from '../../src/exchange/france-travail-api/look-up-persons.ts'
import { QuotaLimiter } from '../../src/exchange/france-travail-api/quota-limiter.ts'
import { readFranceTravailOrientations } from '../../src/exchange/france-travail-api/read-orientations.ts'
import { dueMessages } from '../../src/outbox/queries.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { storedFieldIds } from '../../src/purposes/stored-fields.ts'
import { startFranceTravailSimulator, type FranceTravailSimulator } from '../../src/simulators/france-travail/france-travail-simulator.ts'
import { seedFile, seedPerson, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * A limitation (RGPD art. 18) leaves the person out of every processing: their NIR and birth date are not sent to
 * France Travail (lookups, orientation reads) and the decisions about them are not sent either while it holds.
 */
describe.skipIf(postgresUnavailable())('France Travail exchanges and a person under a limitation', () => {
  let t: TestDatabase
  let sim: FranceTravailSimulator
  const keys = testKeys()
  let limited: SeededPerson
  let free: SeededPerson
  let flow: FranceTravailApiFlow
  let deps: ApiJobDeps
  const calls = () => sim.stats().calls['/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir'] ?? 0
  const limit = (personId: number) => t.db.query(`insert into limitations (person_id, since, reason) values ($1, now() - interval '1 day', 'test')`, [personId])
  const lift = (personId: number) => t.db.query(`update limitations set lifted_at = now() - interval '1 minute' where person_id = $1 and lifted_at is null`, [personId])

  beforeAll(async () => {
    t = await createTestDatabase()
    const fileId = await seedFile(t.db)
    limited = await seedPerson(t.db, keys, fileId, { n: 1 })
    free = await seedPerson(t.db, keys, fileId, { n: 2 })
    const orientation = { parcours: 'PSP', organisme: 'CD', statut: 'VALIDE', etat: 'ACTIF', origine: 'INSCRIPTION_AUTO_CAF', date_entree_parcours: '2026-01-10', structure: { libelle_structure: 'AGENCE' } }
    sim = await startFranceTravailSimulator({
      persons: [limited, free].map((p, i) => ({ nir: p.nir13, dateNaissance: p.dateNaissance, identifiant: `FT0000000${i + 1}`, orientation })),
    })
    flow = {
      id: 'france-travail-api',
      ...FranceTravailApiFlowSchema.parse({
        title: 'test',
        producer: 'France Travail',
        source: { type: 'francetravail-api', token_url: sim.tokenUrl, client_id: sim.clientId, client_secret_env: 'FT_API_CLIENT_SECRET', scopes: ['api_rechercher-usagerv2'], base_url: sim.url, quota_per_second: 50, timeout_ms: 2000, max_attempts: 2, backoff_ms: 10, concurrency: 2, batch_size: 10 },
        schedule: '0 5 * * *',
        retention: 'france-travail-api',
        outbound: { purpose: 'instruction', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { ccas: 'PSP' } },
        outbox_max_attempts: 3,
      }),
    }
    deps = { db: t.db, keys, log: pino({ level: 'silent' }), flow, client: { flowId: flow.id, source: flow.source, tokens: new AccessTokenCache(flow.source, sim.clientSecret), limiter: new QuotaLimiter(50) }, purpose: 'instruction' }
  })
  afterAll(async () => {
    await sim?.close()
    await t?.drop()
  })

  it('does not look a limited person up; once the limitation is lifted, the next run does', async () => {
    await limit(limited.personId)
    const first = await lookUpPersons(deps)
    expect([first.planned, first.called, calls()]).toEqual([1, 1, 1])
    const links = async () => (await t.db.query<{ person_id: number }>('select person_id from france_travail_links order by person_id')).rows.map((r) => Number(r.person_id))
    expect(await links()).toEqual([free.personId])
    await lift(limited.personId)
    expect(await lookUpPersons(deps)).toMatchObject({ planned: 1, called: 1 })
    expect(await links()).toEqual([limited.personId, free.personId].sort((a, b) => a - b))
  })

  it('takes out of a planned run a person limited before their batch is called', async () => {
    await t.db.query('delete from france_travail_links')
    // A run planned, then interrupted before any call (as a kill leaves it); the limitation comes meanwhile.
    const run = await t.db.query<{ id: number }>(`insert into france_travail_lookup_runs (flow_id) values ($1) returning id`, [flow.id])
    await t.db.query(`insert into france_travail_lookups (run_id, person_id) values ($1, $2), ($1, $3)`, [run.rows[0]!.id, limited.personId, free.personId])
    await limit(limited.personId)
    const before = calls()
    const resumed = await lookUpPersons(deps)
    expect(resumed).toMatchObject({ resumed: true, called: 1 })
    expect(calls() - before).toBe(1)
    expect((await t.db.query('select 1 from france_travail_links where person_id = $1', [limited.personId])).rows).toEqual([])
  })

  it('reads no orientation of a limited person, and holds the decisions about them in the outbox until it is lifted', async () => {
    await lift(limited.personId)
    await lookUpPersons(deps)
    await limit(limited.personId)
    const stored = storedFieldIds(loadPurposes(new URL('../../mappings', import.meta.url).pathname))
    const read = await readFranceTravailOrientations({ ...deps, stored })
    expect(read.due).toBe(1)
    const orientations = await t.db.query<{ person_id: number }>('select person_id from france_travail_orientations')
    expect(orientations.rows.map((r) => Number(r.person_id))).toEqual([free.personId])

    await t.db.query(
      `insert into outbox_messages (topic, person_id, payload, idempotency_key) values ('francetravail.orientation', $1, '{}', 'k-limited'), ('francetravail.orientation', $2, '{}', 'k-free')`,
      [limited.personId, free.personId],
    )
    expect((await dueMessages(t.db, 'francetravail.orientation', 10)).map((m) => m.idempotencyKey)).toEqual(['k-free'])
    await lift(limited.personId)
    expect((await dueMessages(t.db, 'francetravail.orientation', 10)).map((m) => m.idempotencyKey)).toEqual(['k-limited', 'k-free'])
  })
})
