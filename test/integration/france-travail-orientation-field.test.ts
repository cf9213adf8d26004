import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { AccessTokenCache } from '../../src/exchange/france-travail-api/access-token.ts'
import { FranceTravailApiFlowSchema, type FranceTravailApiFlow } from '../../src/exchange/france-travail-api/api-flow.ts'
import { ENDPOINT_PATHS } from '../../src/exchange/france-travail-api/api-client.ts'
import { linkFranceTravailIdentifier } from '../../src/exchange/france-travail-api/look-up-persons.ts'
import { QuotaLimiter } from '../../src/exchange/france-travail-api/quota-limiter.ts'
import { readFranceTravailOrientations } from '../../src/exchange/france-travail-api/read-orientations.ts'
import { CANONICAL_FIELDS } from '../../src/model/fields.ts'
import { buildAccessExport } from '../../src/rights/access-export.ts'
import type { RightsRequest } from '../../src/rights/rights-request.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import type { Purpose } from '../../src/purposes/purpose.ts'
import { storedFieldIds } from '../../src/purposes/stored-fields.ts'
import { startFranceTravailSimulator, type FranceTravailSimulator } from '../../src/simulators/france-travail/france-travail-simulator.ts'
import { seedAssignment, seedFile, seedOrganisation, seedPerson, seedToken, seedUser, WORLD_NOW, worldApp, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * France Travail's orientation, read through the partner API (lectureOrientation), as a catalogue field: validated,
 * minimised through the shipped purposes (mappings/), stored with its provenance, projected by the partner API to
 * the purposes that declare it (accompagnement-rsa) and to no other (instruction). Sentinel values planted in the
 * simulator's answers (in fields no purpose declares, and in an answer that does not validate) appear nowhere.
 */
describe.skipIf(postgresUnavailable())('France Travail orientation as a catalogue field', () => {
  let t: TestDatabase
  let sim: FranceTravailSimulator
  const keys = testKeys()
  const logLines: string[] = []
  const log = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done() } }))
  const purposes: Map<string, Purpose> = loadPurposes(new URL('../../mappings', import.meta.url).pathname)
  const stored = storedFieldIds(purposes)
  const SENTINELS = ['SENTINELETAT', 'SENTINEL_ORIGINE', 'SENTINEL_PARCOURS', 'sentinel-structure']
  const persons: SeededPerson[] = []
  const tokens: Record<string, string> = {}
  const responses: string[] = []

  const flow: () => FranceTravailApiFlow = () => ({
    id: 'france-travail-api',
    ...FranceTravailApiFlowSchema.parse({
      title: 'test',
      producer: 'France Travail',
      source: {
        type: 'francetravail-api',
        token_url: sim.tokenUrl,
        client_id: sim.clientId,
        client_secret_env: 'FT_API_CLIENT_SECRET',
        scopes: ['api_rechercher-usagerv2'],
        base_url: sim.url,
        quota_per_second: 100,
        concurrency: 4,
        batch_size: 10,
      },
      schedule: '0 5 * * *',
      retention: 'france-travail-api',
      outbound: { purpose: 'instruction', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { ccas: 'PSP' } },
    }),
  })
  const read = (storedFields: ReadonlySet<string>) => {
    const f = flow()
    return readFranceTravailOrientations({
      db: t.db,
      keys,
      log,
      flow: f,
      client: { flowId: f.id, source: f.source, tokens: new AccessTokenCache(f.source, sim.clientSecret), limiter: new QuotaLimiter(f.source.quota_per_second) },
      purpose: 'instruction',
      stored: storedFields,
    })
  }
  const readCalls = () => sim.stats().calls[ENDPOINT_PATHS['lecture-orientation']] ?? 0
  const get = async (token: string, publicId: string) => {
    const app = worldApp(t.db, keys, purposes)
    const res = await app.request(`/v1/beneficiaires/${publicId}`, { headers: { Authorization: `Bearer ${token}` } })
    const text = await res.text()
    responses.push(text)
    expect(res.status).toBe(200)
    return JSON.parse(text) as unknown
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    const fileId = await seedFile(t.db)
    for (let n = 1; n <= 3; n++) persons.push(await seedPerson(t.db, keys, fileId, { n }))
    const ccas = await seedOrganisation(t.db, 1, 'ccas')
    const dep = await seedOrganisation(t.db, 2, 'departement')
    const referent = await seedUser(t.db, 'referent@test.example', 'referent', ccas.id)
    const instructor = await seedUser(t.db, 'instructeur@test.example', 'instructor', dep.id)
    for (const p of persons) await seedAssignment(t.db, { personId: p.personId, organisationId: ccas.id, referentUserId: referent.id, startsOn: '2026-01-01' })
    tokens.referent = (await seedToken(t.db, purposes, referent.email, 'accompagnement-rsa', WORLD_NOW)).token
    tokens.instructor = (await seedToken(t.db, purposes, instructor.email, 'instruction', WORLD_NOW)).token
    // Persons linked to France Travail (as a lookup would have done).
    await linkFranceTravailIdentifier(t.db, keys.index, persons.map((p, i) => ({ personId: p.personId, identifier: `FT${i + 1}`, callId: null })), 'api')
    sim = await startFranceTravailSimulator({
      quotaPerSecond: 100,
      persons: [
        // Valid; état and origine are declared by no purpose: never stored.
        {
          nir: persons[0]!.nir13,
          dateNaissance: persons[0]!.dateNaissance,
          identifiant: 'FT1',
          orientation: { parcours: 'PSO', organisme: 'FT', statut: 'VALIDE', etat: 'SENTINELETAT', origine: 'SENTINEL_ORIGINE', date_entree_parcours: '2026-03-02', date_modification: '2026-04-01T08:00:00', structure: { libelle_structure: 'sentinel-structure' } },
        },
        // Does not validate: a parcours outside PED / PSP / PSO.
        { nir: persons[1]!.nir13, dateNaissance: persons[1]!.dateNaissance, identifiant: 'FT2', orientation: { parcours: 'SENTINEL_PARCOURS', organisme: 'FT' } },
        // No orientation at France Travail (204).
        { nir: persons[2]!.nir13, dateNaissance: persons[2]!.dateNaissance, identifiant: 'FT3' },
      ],
    })
  })
  afterAll(async () => {
    await sim?.close()
    await t?.drop()
  })

  it('reads nothing and stores nothing when no purpose declares a field of it', async () => {
    const withoutOrientation = new Set([...stored].filter((id) => !id.startsWith('franceTravail.orientation')))
    const counts = await read(withoutOrientation)
    expect(counts).toEqual({ due: 0, read: 0, none: 0, rejected: 0, failed: 0 })
    expect(readCalls()).toBe(0)
    expect(sim.stats().calls[ENDPOINT_PATHS['rechercher-usager']] ?? 0).toBe(0)
    expect((await t.db.query('select 1 from france_travail_orientations')).rows).toHaveLength(0)
  })

  it('stores the declared fields only, with the provenance of the call (call id, read time)', async () => {
    // The shipped purposes declare parcours, organisme, statut and the two dates; état and origine nobody.
    expect(stored.has('franceTravail.orientationParcours')).toBe(true)
    expect(stored.has('franceTravail.orientationEtat')).toBe(false)
    expect(stored.has('franceTravail.orientationOrigine')).toBe(false)
    const before = new Date(Date.now() - 1000)
    const counts = await read(stored)
    expect(counts).toMatchObject({ due: 3, read: 1, none: 1, rejected: 1, failed: 0 })
    expect(readCalls()).toBe(3)
    const { rows } = await t.db.query<Record<string, unknown>>(
      `select person_id, parcours, organisme, statut, etat, origine, date_entree_parcours::text as entree, date_modification::text as modification, call_id, read_at
       from france_travail_orientations`,
    )
    expect(rows).toHaveLength(1)
    const row = rows[0]!
    expect(Number(row.person_id)).toBe(persons[0]!.personId)
    expect(row).toMatchObject({ parcours: 'PSO', organisme: 'FT', statut: 'VALIDE', etat: null, origine: null, entree: '2026-03-02', modification: '2026-04-01' })
    expect(row.call_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(row.read_at as string).getTime()).toBeGreaterThanOrEqual(before.getTime())
    // Every catalogue column of the table is a declared field or provenance: nothing else can be stored.
    const columns = CANONICAL_FIELDS.filter((f) => f.table === 'france_travail_orientations').map((f) => f.column)
    expect(columns.sort()).toEqual(['date_entree_parcours', 'date_modification', 'etat', 'organisme', 'origine', 'parcours', 'statut'])
  })

  it('turns an answer that does not validate into a rejection row naming the field and rule, never the value', async () => {
    const { rows } = await t.db.query<{ endpoint: string; field: string; rule: string; call_id: string }>('select endpoint, field, rule, call_id from france_travail_api_rejections')
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ endpoint: 'lecture-orientation', field: 'parcours' })
    expect(rows[0]!.call_id).toMatch(/^[0-9a-f-]{36}$/)
    const none = await t.db.query('select 1 from france_travail_orientations where person_id = $1', [persons[1]!.personId])
    expect(none.rows).toHaveLength(0)
  })

  it('is projected by the partner API to the purpose that declares it (accompagnement-rsa), as declared', async () => {
    const body = JSON.stringify(await get(tokens.referent!, persons[0]!.publicId))
    expect(body).toContain('"parcoursFranceTravail":"PSO"')
    expect(body).toContain('"organismeOrientationFranceTravail":"FT"')
    expect(body).toContain('"statutOrientationFranceTravail":"VALIDE"')
    expect(body).toContain('"dateEntreeParcoursFranceTravail":"2026-03-02"')
    expect(body).toContain('"dateModificationOrientationFranceTravail":"2026-04-01"')
    // A person without an orientation read: the fields are there, empty.
    const other = JSON.stringify(await get(tokens.referent!, persons[2]!.publicId))
    expect(other).toContain('"parcoursFranceTravail":null')
  })

  it('is invisible to a purpose that does not declare it (instruction)', async () => {
    const body = JSON.stringify(await get(tokens.instructor!, persons[0]!.publicId))
    for (const name of ['parcoursFranceTravail', 'organismeOrientationFranceTravail', 'statutOrientationFranceTravail', 'dateEntreeParcoursFranceTravail', 'dateModificationOrientationFranceTravail']) {
      expect(body).not.toContain(name)
    }
    expect(purposes.get('instruction')!.fields.some((f) => f.field.startsWith('franceTravail.orientation'))).toBe(false)
    expect(body).not.toContain('PSO')
    expect(body).not.toContain('VALIDE')
  })

  it("is in the person's access export with its source (the API flow, the read time), and in the declaring purpose's view only", async () => {
    const request = { id: 1, type: 'access', purpose: null, fields: [], matchKey: persons[0]!.matchKey, nirIndex: null, subject: 'p_test', matchedBy: 'nir', receivedOn: '2026-06-15', dueOn: '2026-07-15', extendedDueOn: null, extensionReason: null, state: 'open' } as unknown as RightsRequest
    const out = await buildAccessExport(t.db, keys, purposes, request, new Date())
    responses.push(JSON.stringify(out))
    const item = out.data.find((d) => d.kind === 'orientation-france-travail')
    expect(item?.fields.map((f) => f.id).sort()).toEqual([
      'franceTravail.orientationDateEntree',
      'franceTravail.orientationDateModification',
      'franceTravail.orientationOrganisme',
      'franceTravail.orientationParcours',
      'franceTravail.orientationStatut',
    ])
    expect(item?.source.flowId).toBe('france-travail-api')
    expect(item?.source.transmittedAt).not.toBeNull()
    const names = (purposeId: string) => out.purposes.find((p) => p.id === purposeId)?.records.flatMap((r) => r.fields.map((f) => f.name)) ?? []
    expect(names('accompagnement-rsa')).toContain('parcoursFranceTravail')
    expect(names('instruction')).not.toContain('parcoursFranceTravail')
  })

  it('leaves the sentinel values nowhere: stored rows, rejections, audit events, logs, API answers', async () => {
    const dump = async (sql: string) => JSON.stringify((await t.db.query(sql)).rows)
    const everywhere = [
      await dump('select * from france_travail_orientations'),
      await dump('select * from france_travail_api_rejections'),
      await dump('select * from audit_events'),
      await dump('select * from france_travail_links'),
      logLines.join('\n'),
      responses.join('\n'),
    ].join('\n')
    for (const s of SENTINELS) expect(everywhere).not.toContain(s)
    for (const p of persons) {
      expect(logLines.join('\n')).not.toContain(p.nir13)
      expect(logLines.join('\n')).not.toContain(p.dateNaissance)
    }
  })
})
