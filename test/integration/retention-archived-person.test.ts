import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { encryptNir } from '../../src/crypto/nir-cipher.ts'
import type { ApiApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { FIELDS_BY_ID } from '../../src/model/fields.ts'
import { catalogueColumns } from '../../src/retention/archive-columns.ts'
import { showArchivedDossier } from '../../src/retention/read-archive.ts'
import { runRetention } from '../../src/retention/run-retention.ts'
import { readPopulation } from '../../src/statistics/queries.ts'
import { buildWorld, seedAssignment, testPurposes, worldApp, WORLD_NOW, type World } from '../helpers/api-seed.ts'
import { flowDeclarations } from '../helpers/declarations.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { day, resetRetentionTables, retransmitRegistration, seedDossier, seedFile, seedRegistration } from '../helpers/retention-seed.ts'

/**
 * Issue 13, point 9: once a person leaves the active base, no route, list, history, assignment or extract reaches
 * them, and their identity exists in exactly one place, even while France Travail still sends a registration
 * about them. The person's name and birth date are the planted sentinels: every row of every table, active base,
 * archive and audit log alike, is searched for them.
 */
describe.skipIf(postgresUnavailable())('a person whose RSA dossier is archived while France Travail still refers to them', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  const keys = testKeys()
  const purposes = testPurposes()
  const log = createLogger({ level: 'silent' })
  const get = (token: string, p: string) => app.request(p, { headers: { Authorization: `Bearer ${token}` } })
  const SENTINEL_NAME = 'NOM-0001'
  const SENTINEL_BIRTH = '1981-01-15'
  let p1: World['persons'][string]
  const run = (now: Date) => runRetention({ db: t.db, keys, log, declarations: flowDeclarations() }, { now, dryRun: false })

  /** Rows of every table (public and archive schemas) whose text holds `needle`, as `schema.table` names. */
  async function rowsHolding(needle: string): Promise<string[]> {
    const { rows: tables } = await t.db.query<{ s: string; n: string }>(
      `select table_schema as s, table_name as n
       from information_schema.tables
       where table_schema in ('public', 'archive') and table_type = 'BASE TABLE'`,
    )
    const found: string[] = []
    for (const table of tables) {
      const { rows } = await t.db.query<{ n: number }>(`select count(*)::int as n from "${table.s}"."${table.n}" x where x::text like $1`, [`%${needle}%`])
      for (let i = 0; i < rows[0]!.n; i++) found.push(`${table.s}.${table.n}`)
    }
    return found.sort()
  }

  /** Places holding the person's identity: rows with their match key and a name or an encrypted NIR. */
  async function identityPlaces(matchKey: string): Promise<string[]> {
    const { rows } = await t.db.query<{ place: string }>(
      `select 'persons' as place from persons where match_key = $1 and (nom is not null or nir_cipher is not null or date_naissance is not null)
       union all
       select 'archive.persons' from archive.persons where match_key = $1 and (nom is not null or nir_cipher is not null or date_naissance is not null)`,
      [matchKey],
    )
    return rows.map((r) => r.place).sort()
  }

  /** Ids of the caller's list; once the person is archived, the page must not hold their name either. */
  async function servedTo(token: string, archived = true): Promise<string[]> {
    const res = await get(token, '/v1/beneficiaires?limit=100')
    expect(res.status).toBe(200)
    const body = await res.text()
    if (archived) expect(body).not.toContain(SENTINEL_NAME)
    return (JSON.parse(body) as { items: { id: string }[] }).items.map((i) => i.id)
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = worldApp(t.db, keys, purposes)
    p1 = world.persons.p1!
    // p1: the RSA right closed on 31 January 2022 (its 36 months ended in 2025); France Travail registered them on
    // 1 June 2026, two weeks before the run: that registration is in its five-month active phase.
    await t.db.query(`update dossiers set etat_droit = '5', date_cloture = '2022-01-31' where id = $1`, [p1.dossierId])
    const ftFile = await seedFile(t.db, 'france-travail', day('2026-06-01'))
    await t.db.query('update france_travail_registrations set file_id = $2, transmitted_at = $3 where person_key = $1', [p1.matchKey, ftFile, day('2026-06-01')])
    // A limitation that was lifted and one standing, and a contested field: they must follow the person.
    await t.db.query(`insert into limitations (person_id, since, lifted_at, reason) values ($1, '2026-01-01', '2026-02-01', 'test')`, [p1.personId])
    // An instructor's and a structure manager's assignment besides refA1's.
    await seedAssignment(t.db, { personId: p1.personId, organisationId: world.orgs.A.id, referentUserId: null, startsOn: '2026-02-01' })
  })
  afterAll(() => t?.drop())

  it('is served before the run (the probes below are not vacuous)', async () => {
    expect((await get(world.tokens.refA1!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(200)
    expect((await get(world.tokens.instr!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(200)
    expect((await get(world.tokens.refA1!, `/v1/beneficiaires/${p1.publicId}/historique`)).status).toBe(200)
    expect(await servedTo(world.tokens.refA1!, false)).toContain(p1.publicId)
    expect(await servedTo(world.tokens.mgrA!, false)).toContain(p1.publicId)
    expect(await servedTo(world.tokens.instr!, false)).toContain(p1.publicId)
    expect(await identityPlaces(p1.matchKey)).toEqual(['persons'])
    expect(await rowsHolding(SENTINEL_NAME)).toEqual(['public.persons'])
  })

  it('leaves the active base with the dossier: no route, list, history, assignment or extract reaches them', async () => {
    const report = await run(WORLD_NOW)
    expect(report.ok).toBe(true)

    for (const token of [world.tokens.refA1!, world.tokens.instr!, world.tokens.mgrA!, world.tokens.refFT!]) {
      for (const route of [`/v1/beneficiaires/${p1.publicId}`, `/v1/beneficiaires/${p1.publicId}/historique`]) {
        const res = await get(token, route)
        expect([route, res.status]).toEqual([route, 404])
        expect(await res.text()).not.toContain(SENTINEL_NAME)
      }
    }
    for (const token of [world.tokens.refA1!, world.tokens.mgrA!, world.tokens.instr!]) expect(await servedTo(token)).not.toContain(p1.publicId)
    // Others are still served (the lists are not empty by accident).
    expect(await servedTo(world.tokens.instr!)).toContain(world.persons.p2!.publicId)

    const rsa = report.policies.find((p) => p.id === 'rsa-beneficiaires')!
    expect(rsa.archived).toMatchObject({ dossiers: 1, persons: 1, assignments: 2 })
    // No assignment in the active base names them; the admin's assignment list does not either.
    expect((await t.db.query('select 1 from assignments where person_id = $1', [p1.personId])).rows).toHaveLength(0)
    const admin = await (await get(world.tokens.admin!, `/v1/admin/assignments?limit=500`)).text()
    expect(admin).not.toContain(p1.publicId)
    expect((await t.db.query('select 1 from archive.assignments where person_id = $1', [p1.personId])).rows).toHaveLength(2)

    // The statistical extract's population does not hold them.
    const population: string[] = []
    await readPopulation(t.db, { fields: [FIELDS_BY_ID.get('dossier.etatDroit')!], roles: undefined, now: WORLD_NOW, purpose: 'test-statistiques', batchSize: 100 }, (rows) => {
      population.push(...rows.map((r) => String((r as { match_key: string }).match_key)))
    })
    expect(population).not.toContain(p1.matchKey)
    expect(population.length).toBeGreaterThan(0)

    // Their France Travail registration stays in the active base under its own clock, served to no one.
    expect((await t.db.query('select 1 from france_travail_registrations where person_key = $1', [p1.matchKey])).rows).toHaveLength(1)
  })

  it('keeps their identity in exactly one place, the archive, where break-glass still reads it', async () => {
    expect(await identityPlaces(p1.matchKey)).toEqual(['archive.persons'])
    expect(await rowsHolding(SENTINEL_NAME)).toEqual(['archive.persons'])
    expect(await rowsHolding(SENTINEL_BIRTH)).toEqual(['archive.persons'])
    const shown = await showArchivedDossier(t.db, keys, { numdemrsa: p1.numdemrsa, reason: 'recours contentieux n° 2026-42', actor: 'dpo', now: WORLD_NOW })
    expect(shown.members).toHaveLength(1)
    expect(shown.members[0]!.fields).toMatchObject({ 'personne.nom': SENTINEL_NAME, 'personne.nir': p1.nir13 })
    // The limitations keep the person's id, for when they come back.
    expect((await t.db.query('select 1 from limitations where person_id = $1', [p1.personId])).rows).toHaveLength(1)
  })

  it('answers the DPO who accessed them, by their id, without any identity', async () => {
    const res = await get(world.tokens.dpo!, `/v1/dpo/beneficiaires/${p1.publicId}/acces?limit=100`)
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(body).not.toContain(SENTINEL_NAME)
    expect(body).not.toContain(SENTINEL_BIRTH)
    expect(body).not.toContain(p1.nir13)
    expect((JSON.parse(body) as { items: { action: string }[] }).items.map((i) => i.action)).toContain('api.beneficiaire.read')
    const search = await (await get(world.tokens.dpo!, `/v1/dpo/audit-events?beneficiaireId=${p1.publicId}&limit=100`)).text()
    expect(search).not.toContain(SENTINEL_NAME)
  })

  it('a new France Travail file does not bring them back; the registration then expires into the archive', async () => {
    await retransmitRegistration(t.db, p1.matchKey, day('2026-06-20'))
    await run(day('2026-06-21'))
    expect((await get(world.tokens.instr!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(404)
    expect(await identityPlaces(p1.matchKey)).toEqual(['archive.persons'])
    // Five months after its last transmission the registration leaves the active base too.
    await run(day('2026-11-21'))
    expect((await t.db.query('select 1 from france_travail_registrations where person_key = $1', [p1.matchKey])).rows).toHaveLength(0)
    expect((await t.db.query('select 1 from archive.france_travail_registrations where person_key = $1', [p1.matchKey])).rows).toHaveLength(1)
    const shown = await showArchivedDossier(t.db, keys, { numdemrsa: p1.numdemrsa, reason: 'recours contentieux n° 2026-42', actor: 'dpo', now: day('2026-11-21') })
    expect(shown.franceTravail).toHaveLength(1)
    expect(await rowsHolding(SENTINEL_NAME)).toEqual(['archive.persons'])
  })

  it('a CAF file that brings them back re-activates the same person: one identity, limitations again, no old assignment', async () => {
    // A limitation recorded while they were archived (it keeps their id).
    await t.db.query(`insert into limitations (person_id, since, reason) values ($1, '2026-06-01', 'test')`, [p1.personId])
    const fileId = await seedFile(t.db, 'caf-beneficiaires', day('2026-12-01'))
    // The loader's statement shape (src/ingestion/canonical/staging.ts): an upsert on the match key.
    const { rows } = await t.db.query<{ id: number; public_id: string }>(
      `insert into persons (match_key, nir_cipher, qualite, nom, prenom, date_naissance, sexe, file_id, transmitted_at)
       values ($1, $2, 'MME', $3, 'Prénom-0001', $4, '2', $5, $6)
       on conflict (match_key) do update set nom = excluded.nom, file_id = excluded.file_id, transmitted_at = excluded.transmitted_at
       returning id, public_id::text`,
      [p1.matchKey, encryptNir(keys.nir, p1.nir13), SENTINEL_NAME, SENTINEL_BIRTH, fileId, day('2026-12-01')],
    )
    expect(rows[0]).toEqual({ id: p1.personId, public_id: p1.publicId })
    const dossier = await t.db.query<{ id: number }>(
      `insert into dossiers (flow_id, organisme, numdemrsa, etat_droit, file_id, transmitted_at) values ('caf-beneficiaires', 'CAF', '09999999999', '2', $1, $2) returning id`,
      [fileId, day('2026-12-01')],
    )
    await t.db.query(`insert into dossier_members (dossier_id, person_id, role, file_id, transmitted_at) values ($1, $2, 'DEM', $3, $4)`, [dossier.rows[0]!.id, p1.personId, fileId, day('2026-12-01')])

    expect(await identityPlaces(p1.matchKey)).toEqual(['persons'])
    expect(await rowsHolding(SENTINEL_NAME)).toEqual(['public.persons'])
    // The archived row keeps only its keys: every catalogue column of persons is cleared.
    const stub = (await t.db.query<Record<string, unknown>>('select * from archive.persons where match_key = $1', [p1.matchKey])).rows[0]!
    expect(stub.identity_active).toBe(true)
    for (const column of catalogueColumns('persons')) expect([column, stub[column]]).toEqual([column, null])
    // The limitation holds again; once lifted, the instructor sees them again; their old referent does not
    // (archived assignments are not revived).
    expect((await get(world.tokens.instr!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(404)
    await t.db.query(`update limitations set lifted_at = '2026-06-02' where person_id = $1 and lifted_at is null`, [p1.personId])
    expect((await get(world.tokens.instr!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(200)
    expect((await get(world.tokens.refA1!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(404)
    expect((await t.db.query('select 1 from assignments where person_id = $1', [p1.personId])).rows).toHaveLength(0)
    // Break-glass on the old dossier reads the member's identity where it now is.
    const shown = await showArchivedDossier(t.db, keys, { numdemrsa: p1.numdemrsa, reason: 'recours contentieux n° 2026-42', actor: 'dpo', now: day('2026-12-02') })
    expect(shown.members[0]!.fields).toMatchObject({ 'personne.nom': SENTINEL_NAME })
    // The next run leaves them in the active base (their new dossier is open), with one identity.
    await run(day('2026-12-03'))
    expect((await get(world.tokens.instr!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(200)
    expect(await identityPlaces(p1.matchKey)).toEqual(['persons'])
  })
})

describe.skipIf(postgresUnavailable())('one identity while a person moves between dossiers and the archive', () => {
  let t: TestDatabase
  const keys = testKeys()
  const log = createLogger({ level: 'silent' })
  const run = (now: Date) => runRetention({ db: t.db, keys, log, declarations: flowDeclarations() }, { now, dryRun: false })
  const places = async (matchKey: string) =>
    (await t.db.query<{ place: string }>(
      `select 'persons' as place from persons where match_key = $1 and nom is not null
       union all
       select 'archive.persons' from archive.persons where match_key = $1 and nom is not null`,
      [matchKey],
    )).rows.map((r) => r.place).sort()

  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())
  beforeEach(() => resetRetentionTables(t.db))

  it('a person still in another active dossier keeps their identity in the active base only; it moves when the last dossier leaves', async () => {
    const person = { nir13: '2800175000021', birthDate: '1980-02-21', nom: 'SENTINELLE-DEUX-DOSSIERS', prenom: 'PX' }
    const old = await seedDossier(t.db, keys, { numdemrsa: 'OLD21', etatDroit: '5', dateCloture: '2021-01-31', transmittedAt: day('2021-02-05'), persons: [person] })
    await seedDossier(t.db, keys, { numdemrsa: 'NEW21', organisme: 'MSA', flowId: 'msa-beneficiaires', etatDroit: '5', dateCloture: '2023-06-30', transmittedAt: day('2023-07-05'), persons: [person] })
    const matchKey = old.persons[0]!.matchKey
    await run(day('2024-02-02'))
    expect((await t.db.query(`select 1 from archive.dossiers where numdemrsa = 'OLD21'`)).rows).toHaveLength(1)
    expect(await places(matchKey)).toEqual(['persons'])
    const shown = await showArchivedDossier(t.db, keys, { numdemrsa: 'OLD21', reason: 'recours contentieux n° 2024-01', actor: 'dpo', now: day('2024-02-02') })
    expect(shown.members[0]!.fields).toMatchObject({ 'personne.nom': person.nom })
    // The second dossier's 36 months end on 30 June 2026: the person leaves with it, identity and all.
    await run(day('2026-07-01'))
    expect(await places(matchKey)).toEqual(['archive.persons'])
    expect((await t.db.query('select 1 from persons where match_key = $1', [matchKey])).rows).toHaveLength(0)
    for (const numdemrsa of ['OLD21', 'NEW21']) {
      const again = await showArchivedDossier(t.db, keys, { numdemrsa, reason: 'recours contentieux n° 2024-01', actor: 'dpo', now: day('2026-07-01') })
      expect(again.members[0]!.fields).toMatchObject({ 'personne.nom': person.nom })
    }
  })

  it('destroys the archived assignments, limitations and contested flags with the archived person, with a receipt', async () => {
    const seeded = await seedDossier(t.db, keys, { numdemrsa: 'DES23', etatDroit: '5', dateCloture: '2015-01-31', transmittedAt: day('2015-02-05'), persons: [{ nir13: '2800175000023', birthDate: '1980-02-23', nom: 'SENTINELLE-DETRUITE', prenom: 'PZ' }] })
    const personId = seeded.persons[0]!.id
    const org = await t.db.query<{ id: number }>(`insert into organisations (siret, name, type) values ('21930001100029', 'CCAS Z', 'ccas') on conflict (siret) do update set name = excluded.name returning id`)
    await t.db.query(`insert into assignments (person_id, organisation_id, starts_on, source) values ($1, $2, '2014-01-01', 'admin')`, [personId, org.rows[0]!.id])
    await t.db.query(`insert into limitations (person_id, since, reason) values ($1, '2014-06-01', 'test')`, [personId])
    await run(day('2026-01-02'))
    for (const table of ['persons', 'archive.persons', 'assignments', 'archive.assignments', 'limitations']) {
      const column = table.endsWith('persons') ? 'id' : 'person_id'
      expect([table, (await t.db.query(`select 1 from ${table} where ${column} = $1`, [personId])).rows.length]).toEqual([table, 0])
    }
    const receipts = (await t.db.query<{ details: { counts: Record<string, number> } }>(`select details from audit_events where action = 'retention.destroy'`)).rows
    const counted = (table: string) => receipts.reduce((n, r) => n + (r.details.counts[table] ?? 0), 0)
    expect([counted('archive.persons'), counted('archive.assignments'), counted('limitations')]).toEqual([1, 1, 1])
  })

  it('moves out a person an earlier version kept active for a France Travail registration after their dossier left', async () => {
    const person = { nir13: '2800175000022', birthDate: '1980-02-22', nom: 'SENTINELLE-HERITEE', prenom: 'PY' }
    const seeded = await seedDossier(t.db, keys, { numdemrsa: 'LEG22', etatDroit: '5', dateCloture: '2020-01-31', transmittedAt: day('2026-01-05'), persons: [person] })
    const matchKey = seeded.persons[0]!.matchKey
    await seedRegistration(t.db, { personKey: matchKey, etat: 'inscription', dateEtat: '2026-01-01', transmittedAt: day('2026-01-05') })
    // The state the earlier archive step left: the dossier archived, the person copied to the archive with their
    // identity and left in the active base because of the registration.
    await t.db.query(
      `insert into archive.persons (id, public_id, policy_id, match_key, nir_index, nir_cipher, nom, prenom, date_naissance, file_id, transmitted_at, anchor_day, archived_at)
       select id, public_id, 'rsa-beneficiaires', match_key, nir_index, nir_cipher, nom, prenom, date_naissance, file_id, transmitted_at, '2020-01-31', now()
       from persons where match_key = $1`,
      [matchKey],
    )
    await t.db.query('delete from dossier_members where person_id = $1', [seeded.persons[0]!.id])
    expect(await places(matchKey)).toEqual(['archive.persons', 'persons'])
    await run(day('2026-02-01'))
    expect(await places(matchKey)).toEqual(['archive.persons'])
    expect((await t.db.query('select 1 from france_travail_registrations where person_key = $1', [matchKey])).rows).toHaveLength(1)
  })
})
