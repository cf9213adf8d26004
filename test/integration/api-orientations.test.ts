import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import type { FailedRecord } from '../../src/assignments/load-orientations.ts'
import { loadOrientationsFile } from '../helpers/declared-flows.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import { seedFile, seedOrganisation, seedPerson, seedToken, seedUser, testPurposes, WORLD_NOW, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/** The orientations flow feeds the portfolios: a file is loaded, a later one reassigns, the API follows. */
describe.skipIf(postgresUnavailable())('orientations flow → assignments → API', () => {
  let t: TestDatabase
  let app: ApiApp
  let dir: string
  const keys = testKeys()
  const purposes = testPurposes()
  const persons: Record<string, SeededPerson> = {}
  let orgA: { id: number; siret: string }
  let orgB: { id: number; siret: string }
  const tokens: Record<string, string> = {}

  const HEADER = 'numdemrsa;rolepers;nir;date_naissance;siret_structure;email_referent;date_debut;date_fin'
  const fr = (iso: string) => iso.split('-').reverse().join('/')

  const load = async (name: string, lines: string[]) => {
    const file = path.join(dir, name)
    writeFileSync(file, `${lines.join('\n')}\n`)
    return t.db.transaction(async (tx) => {
      const fileId = (
        await tx.query<{ id: number }>(
          `insert into files (flow_id, name, size, sha256, status, source, started_at) values ('orientations', $1, 1, $2, 'loaded', 'local', now()) returning id`,
          [name, name.padEnd(64, '0').slice(0, 64).replace(/[^0-9a-f]/g, '0')],
        )
      ).rows[0]!.id
      return loadOrientationsFile(tx, { fileId, keys, transmittedAt: WORLD_NOW }, { path: file, encoding: 'utf-8', delimiter: ';', dateFormat: 'DD/MM/YYYY', fileLabel: name })
    })
  }
  const status = async (token: string, p: SeededPerson) =>
    (await app.request(`/v1/beneficiaires/${p.publicId}`, { headers: { Authorization: `Bearer ${token}` } })).status

  beforeAll(async () => {
    t = await createTestDatabase()
    dir = mkdtempSync(path.join(tmpdir(), 'psl-orientations-'))
    const fileId = await seedFile(t.db)
    for (let n = 1; n <= 4; n++) persons[`p${n}`] = await seedPerson(t.db, keys, fileId, { n })
    // p5 is the conjoint (CJT) in p1's dossier.
    persons.p5 = await seedPerson(t.db, keys, fileId, { n: 5, numdemrsa: persons.p1!.numdemrsa, role: 'CJT' })
    orgA = await seedOrganisation(t.db, 1, 'ccas')
    orgB = await seedOrganisation(t.db, 2, 'association')
    await seedUser(t.db, 'refa@test.example', 'referent', orgA.id)
    await seedUser(t.db, 'refb@test.example', 'referent', orgB.id)
    await seedUser(t.db, 'mgra@test.example', 'structure-manager', orgA.id)
    await seedUser(t.db, 'admin@test.example', 'admin', orgA.id)
    for (const [name, email] of [['refA', 'refa@test.example'], ['refB', 'refb@test.example'], ['mgrA', 'mgra@test.example']] as const) {
      tokens[name] = (await seedToken(t.db, purposes, email, 'test-accompagnement', WORLD_NOW, '1y')).token
    }
    app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => WORLD_NOW })
  })
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true })
    await t?.drop()
  })

  it('loads orientations by dossier and role or by NIR and birth date, and rejects what does not resolve', async () => {
    const { p1, p2, p3, p5 } = persons
    const result = await load('orientations-1.csv', [
      HEADER,
      `${p1!.numdemrsa};DEM;;;${orgA.siret};refa@test.example;01/01/2026;`,
      `;;${p2!.nir13};${fr(p2!.dateNaissance)};${orgA.siret};REFA@test.example;01/02/2026;`,
      `${p5!.numdemrsa};CJT;;;${orgA.siret};;01/03/2026;`,
      `${p3!.numdemrsa};DEM;;;${orgB.siret};refa@test.example;01/01/2026;`, // referent of another structure
      `99999999999;DEM;;;${orgA.siret};;01/01/2026;`, // unknown dossier
      `${p3!.numdemrsa};DEM;;;21750000099998;;01/01/2026;`, // bad SIRET checksum
      `${p3!.numdemrsa};DEM;;;${orgA.siret};nobody@test.example;01/01/2026;`, // unknown referent
      `${p3!.numdemrsa};DEM;;;${orgA.siret};;31/02/2026;`, // no such date
      `${p3!.numdemrsa};DEM;;;${orgA.siret};;01/03/2026;01/01/2026`, // end before start
    ])
    expect({ total: result.total, accepted: result.accepted, rejected: result.rejected }).toEqual({ total: 9, accepted: 3, rejected: 6 })
    const rules = (f: FailedRecord) => `${f.line}:${f.issues.map((i) => `${i.field}/${i.rule}`).join(',')}`
    expect(result.failed.map(rules).sort()).toEqual(
      ['5:email/referent_not_in_structure', '6:numdemrsa/person_not_found', '7:siret/siret_invalid', '8:email/referent_unknown', '9:debut/date_calendar', '10:fin/end_before_start'].sort(),
    )
    expect(JSON.stringify(result.failed)).not.toContain(p3!.numdemrsa)
    expect(await status(tokens.refA!, p1!)).toBe(200)
    expect(await status(tokens.refA!, p2!)).toBe(200)
    expect(await status(tokens.refA!, p5!)).toBe(404) // structure only
    expect(await status(tokens.mgrA!, p5!)).toBe(200)
    expect(await status(tokens.refB!, p1!)).toBe(404)
  })

  it('a later orientation reassigns: the former referent keeps read-only access for the grace period', async () => {
    const { p1 } = persons
    const result = await load('orientations-2.csv', [HEADER, `${p1!.numdemrsa};DEM;;;${orgB.siret};refb@test.example;01/06/2026;`])
    expect(result.accepted).toBe(1)
    const { rows } = await t.db.query<{ siret: string; starts_on: string; ends_on: string | null }>(
      `select o.siret, a.starts_on, a.ends_on from assignments a join organisations o on o.id = a.organisation_id where a.person_id = $1 order by a.starts_on`,
      [p1!.personId],
    )
    expect(rows).toEqual([
      { siret: orgA.siret, starts_on: '2026-01-01', ends_on: '2026-05-31' },
      { siret: orgB.siret, starts_on: '2026-06-01', ends_on: null },
    ])
    expect(await status(tokens.refB!, p1!)).toBe(200)
    const former = await app.request(`/v1/beneficiaires/${p1!.publicId}`, { headers: { Authorization: `Bearer ${tokens.refA}` } })
    expect(((await former.json()) as any).access).toEqual({ via: 'referent', mode: 'grace', readOnly: true, until: '2026-06-30' })
  })

  it('is idempotent: the same orientation again changes nothing, and an end date closes it', async () => {
    const { p2 } = persons
    const line = `;;${p2!.nir13};${fr(p2!.dateNaissance)};${orgA.siret};refa@test.example;01/02/2026`
    await load('orientations-3.csv', [HEADER, `${line};`])
    const count = async () => (await t.db.query<{ n: number }>('select count(*)::int as n from assignments where person_id = $1', [persons.p2!.personId])).rows[0]!.n
    expect(await count()).toBe(1)
    await load('orientations-4.csv', [HEADER, `${line};01/03/2026`])
    expect(await count()).toBe(1)
    expect(await status(tokens.refA!, p2!)).toBe(404) // ended 1 March: grace over by 15 June
  })

  it('stores the first of two rows for one person and start date, and rejects the later one naming it', async () => {
    const { p4 } = persons
    const result = await load('orientations-dup.csv', [
      HEADER,
      `${p4!.numdemrsa};DEM;;;${orgA.siret};refa@test.example;01/04/2026;`,
      `;;${p4!.nir13};${fr(p4!.dateNaissance)};${orgB.siret};refb@test.example;01/04/2026;`,
    ])
    expect({ total: result.total, accepted: result.accepted, rejected: result.rejected, written: result.written }).toEqual({ total: 2, accepted: 1, rejected: 1, written: 1 })
    expect(result.failed).toEqual([
      { ok: false, recordIndex: 1, line: 3, key: undefined, issues: [{ field: 'person', rule: 'duplicate_assignment', duplicateOf: { recordIndex: 0, line: 2 } }] },
    ])
    const { rows } = await t.db.query<{ siret: string }>(
      'select o.siret from assignments a join organisations o on o.id = a.organisation_id where a.person_id = $1',
      [p4!.personId],
    )
    expect(rows).toEqual([{ siret: orgA.siret }])
  })

  it('rejects a file whose header names no way to find the person, or no structure', async () => {
    await expect(load('orientations-5.csv', ['nom;prenom;siret_structure;date_debut', 'X;Y;1;01/01/2026'])).rejects.toBeInstanceOf(FileRejection)
    await expect(load('orientations-6.csv', ['numdemrsa;rolepers;date_debut', '1;DEM;01/01/2026'])).rejects.toMatchObject({ code: 'bad_header' })
  })
})
