import { parse as parseCsv } from 'csv-parse/sync'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { foyer } from '../../src/fixtures/population.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { CANONICAL_FIELDS } from '../../src/model/fields.ts'
import { checkDeclarations, formatProblem } from '../../src/declarations/check-declarations.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { canonicalSchemaColumns, countStoredValues } from '../../src/purposes/queries.ts'
import { readApiFlows } from '../../src/exchange/france-travail-api/api-flow.ts'
import { CANONICAL_TABLES, storedFieldIds, unstoredFields } from '../../src/purposes/stored-fields.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const FOYERS = 120
const SEED = 'minimisation'
const CONTROL_SEED = 'minimisation-control'

/**
 * A field no purpose declares never reaches any table: after importing generated CAF and France Travail files
 * (every optional element the generators write) under the shipped purposes, the columns of the undeclared fields
 * are NULL in every row, no table outside the canonical ones holds any of their values, and the database has no
 * column the catalogue does not describe. A control import of another population, with every field declared,
 * shows those columns do get filled when a purpose asks for them.
 */
describe.skipIf(postgresUnavailable())('minimisation at ingestion', () => {
  let t: TestDatabase
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-minimisation-'))
  const flows = loadFlows(path.join(ROOT, 'flows'))
  const purposes = loadPurposes(path.join(ROOT, 'mappings'))
  const unstored = unstoredFields(purposes)
  const deps = (stored: ReadonlySet<string>): IngestDeps => ({ db: t.db, keys: testKeys(), log: createLogger({ level: 'silent' }), stored, purposes })
  const fileIds: Record<string, number> = {}
  // The partner-API flow feeds France Travail's orientation, which shipped purposes name as a source flow.
  const apiFlowIds = new Set(readApiFlows(path.resolve('flows')).entries.keys())
  let forbidden: string[] = []

  async function importFiles(seed: string, stored: ReadonlySet<string>, label: string) {
    const dir = mkdtempSync(path.join(work, `${label}-`))
    const cafName = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-10-02' })
    const cafPath = path.join(dir, cafName)
    await writeCnafFile(cafPath, { flow: 'caf', seed, typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-10-02' })
    const caf = await ingestFile(deps(stored), flows.get('caf-beneficiaires')!, { path: cafPath, name: cafName, source: 'local', modifiedAt: new Date('2026-10-02T03:00:00Z') })
    expect(caf).toMatchObject({ status: 'loaded', accepted: FOYERS })
    const ft = await writeFranceTravailFile({ kind: 'stock', seed, foyers: FOYERS, date: '2026-10-03', layout: 'extended' }, dir)
    const ftOutcome = await ingestFile(deps(stored), flows.get('france-travail')!, { path: ft.path!, name: ft.fileName, source: 'local', modifiedAt: new Date('2026-10-03T03:00:00Z') })
    expect(ftOutcome).toMatchObject({ status: 'loaded', rejected: 0 })
    expect(ftOutcome.accepted).toBeGreaterThan(0)
    fileIds[`${label}:caf`] = caf.fileId!
    fileIds[`${label}:ft`] = ftOutcome.fileId!
    return { ftPath: ft.path! }
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    const { ftPath } = await importFiles(SEED, storedFieldIds(purposes), 'shipped')

    // The values of the undeclared fields, as the files carry them: from the population and the France Travail file.
    const values = new Set<string>()
    for (let i = 0; i < FOYERS; i++) for (const p of foyer(SEED, i).personnes) if (p.prenom3) values.add(p.prenom3)
    const rows = parseCsv(readFileSync(ftPath).toString('latin1'), { delimiter: ';', columns: true, relax_quotes: true, trim: true }) as Record<string, string>[]
    for (const row of rows) for (const column of ['codeinsee', 'localite', 'adresse']) if (row[column]) values.add(row[column]!)
    forbidden = [...values].filter((v) => v.length >= 4)
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('declares fewer fields than the files carry (the test has something to show)', () => {
    expect(unstored.map((f) => f.id)).toEqual(expect.arrayContaining(['personne.prenom3', 'franceTravail.codeInsee', 'franceTravail.localite', 'franceTravail.adresse']))
    expect(forbidden.length).toBeGreaterThan(20)
  })

  it('leaves NULL, in every row, the column of every field no purpose declares', async () => {
    const counts = await countStoredValues(t.db, unstored)
    expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(unstored.map((f) => [f.id, 0])))
    // And the declarations, the schema and the stored values agree, as `passerelle check --database` says.
    const problems = checkDeclarations({ purposes, flows, apiFlowIds, schemaColumns: await canonicalSchemaColumns(t.db), storedValueCounts: await countStoredValues(t.db) })
    expect(problems.map(formatProblem)).toEqual([])
  })

  it('stores the declared fields (the import did load the data)', async () => {
    const counts = await countStoredValues(t.db)
    for (const id of ['personne.nom', 'personne.prenom2', 'adresse.nomVoie', 'dossier.montantDroitTotal', 'franceTravail.identifiant', 'franceTravail.agence']) {
      expect(counts.get(id), id).toBeGreaterThan(0)
    }
  })

  it('lets no value of an undeclared field reach any other table, in any schema', async () => {
    const { rows: columns } = await t.db.query<{ table_schema: string; table_name: string; column_name: string }>(
      `select c.table_schema, c.table_name, c.column_name
       from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
       where c.table_schema not in ('pg_catalog', 'information_schema')
         and c.table_schema not like 'pg_%'
         and t.table_type = 'BASE TABLE'`,
    )
    const others = columns.filter((c) => !(c.table_schema === 'public' && (CANONICAL_TABLES as string[]).includes(c.table_name)))
    expect(others.length).toBeGreaterThan(10)
    const hits: string[] = []
    for (const c of others) {
      const { rows } = await t.db.query<{ n: number }>(
        `select count(*)::int as n
         from "${c.table_schema}"."${c.table_name}" x
         where exists (select 1 from unnest($1::text[]) v where x."${c.column_name}"::text like '%' || v || '%')`,
        [forbidden],
      )
      if (rows[0]!.n > 0) hits.push(`${c.table_schema}.${c.table_name}.${c.column_name}: ${rows[0]!.n} row(s)`)
    }
    expect(hits).toEqual([])
    // The same query does find such values where they may legitimately be: first names are stored (persons.prenom).
    const { rows } = await t.db.query<{ n: number }>(
      `select count(*)::int as n
       from persons x
       where exists (select 1 from unnest($1::text[]) v where x.prenom::text like '%' || v || '%')`,
      [forbidden],
    )
    expect(rows[0]!.n).toBeGreaterThan(0)
  })

  it('describes every column of the canonical tables in the catalogue or as bookkeeping', async () => {
    const schema = await canonicalSchemaColumns(t.db)
    expect([...schema.keys()].sort()).toEqual([...CANONICAL_TABLES].sort())
    const problems = checkDeclarations({ purposes, flows, schemaColumns: schema }).filter((p) => p.kind.startsWith('schema-'))
    expect(problems.map(formatProblem)).toEqual([])
  })

  it('fills those columns once a purpose declares them (control import of another population)', async () => {
    await importFiles(CONTROL_SEED, new Set(CANONICAL_FIELDS.map((f) => f.id)), 'control')
    for (const field of unstored) {
      if (field.id === 'adresse.horsFrance') continue // the generator writes no AdresseHorsFrance block
      // France Travail's orientation comes through the partner API, not a file (france-travail-orientation-field.test.ts).
      if (field.table === 'france_travail_orientations') continue
      // SPIE's health flag comes only from the encrypted SPIE extract (france-travail-spie.test.ts fills it under a purpose declaring it).
      if (field.id === 'franceTravail.difficulteSante') continue
      const { rows } = await t.db.query<{ shipped: number; control: number }>(
        `select count(*) filter (where file_id = any($1::bigint[]))::int as shipped,
                count(*) filter (where file_id = any($2::bigint[]))::int as control
         from ${field.table}
         where ${field.column} is not null`,
        [
          [fileIds['shipped:caf'], fileIds['shipped:ft']],
          [fileIds['control:caf'], fileIds['control:ft']],
        ],
      )
      expect(rows[0], field.id).toMatchObject({ shipped: 0 })
      expect(rows[0]!.control, field.id).toBeGreaterThan(0)
    }
  })
})
