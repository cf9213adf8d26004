import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse as parseCsv } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { codeLabel, codeListOf, fieldCodes } from '../../src/labels/code-labels.ts'
import { createLogger } from '../../src/log/logger.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { exposedName, type Purpose } from '../../src/purposes/purpose.ts'
import { runRetention } from '../../src/retention/run-retention.ts'
import { CODEBOOK_HEADER } from '../../src/statistics/codebook.ts'
import { runExtract, type AggregateManifest, type ExtractDeps, type MicrodataManifest } from '../../src/statistics/run-extract.ts'
import { flowDeclarations } from '../helpers/declarations.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { day } from '../helpers/retention-seed.ts'
import { seedStatisticsPopulation } from '../helpers/statistics-seed.ts'

/**
 * What a statistician opens: the extract, its codebook (CSV beside it, and in the manifest) with each column's
 * French label, type, generalisation and code meanings from the label catalogue; `departement` declared as text
 * (`01`, `2A`); an optional UTF-8 BOM for Excel; the codebook swept with the extract by the retention.
 */
const shipped = loadPurposes(path.join(REPO_ROOT, 'mappings')).get('statistiques')!

/** The shipped purpose with a lattice two small départements reach k = 11 on. */
function statistiques(): Purpose {
  return {
    ...shipped,
    statistics: {
      ...(shipped.statistics as Record<string, unknown>),
      max_suppression_rate: 0.1,
      quasi_identifiers: [
        { column: 'anneeNaissance', hierarchy: 'date', levels: ['band-10', 'band-20'] },
        { column: 'sexe', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'departement', hierarchy: 'commune', levels: ['departement'] },
        { column: 'organisme', hierarchy: 'categorical', levels: ['keep', '*'] },
        { column: 'roleDossier', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'situationFamiliale', hierarchy: 'categorical', levels: [{ name: 'seul-ou-couple', map: { MAR: 'couple', PAC: 'couple', VIM: 'couple' }, other: 'seul' }] },
        { column: 'nombrePersonnesFoyer', hierarchy: 'count', levels: ['cap-6', 'cap-3'] },
        { column: 'nombreEnfants', hierarchy: 'count', levels: ['cap-2', '*'] },
        { column: 'anneeDemande', hierarchy: 'date', levels: ['band-10', '*'] },
      ],
    },
  }
}

type CodebookRow = Record<(typeof CODEBOOK_HEADER)[number], string>
const readCodebook = (file: string): CodebookRow[] => parseCsv(readFileSync(file), { columns: true, bom: true }) as CodebookRow[]

const hasPandas = spawnSync('python3', ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0
if (!hasPandas) process.stdout.write('statistics-codebook: python3 with pandas not available: the pandas reading test is skipped\n')

describe.skipIf(postgresUnavailable())('the codebook of an extract', () => {
  let t: TestDatabase
  let outDir: string
  let deps: ExtractDeps
  let micro: Awaited<ReturnType<typeof runExtract>>
  let codebook: CodebookRow[]

  beforeAll(async () => {
    t = await createTestDatabase()
    await seedStatisticsPopulation(t.db, { foyers: 2_000, seed: 101, departement: '01' })
    await seedStatisticsPopulation(t.db, { foyers: 2_000, seed: 202, departement: '2A', offset: 100_000 })
    const keysDir = mkdtempSync(path.join(tmpdir(), 'passerelle-codebook-keys-'))
    outDir = mkdtempSync(path.join(tmpdir(), 'passerelle-codebook-'))
    writeFileSync(path.join(keysDir, 'drees.v1.key'), Buffer.alloc(32, 21).toString('base64'), { mode: 0o600 })
    let clock = Date.parse('2026-05-01T06:00:00Z')
    deps = { db: t.db, log: createLogger({ level: 'silent' }), env: { PASSERELLE_EXTRACT_KEYS_DIR: keysDir }, now: () => new Date((clock += 1000)) }
    micro = await runExtract(deps, { purpose: statistiques(), recipientId: 'drees', asOf: '2026-05-01', outDir, push: false })
    codebook = readCodebook(micro.codebookPath)
  }, 300_000)
  afterAll(() => t?.drop())

  it('is written beside the extract and lists every column of it, in order, as the manifest does', () => {
    expect(micro.codebookPath).toBe(micro.dataPath.replace(/\.csv$/, '.codebook.csv'))
    const header = readFileSync(micro.dataPath, 'utf8').split('\n')[0]!.split(',')
    expect(codebook.map((c) => c.colonne)).toEqual(header)
    expect(Object.keys(codebook[0]!)).toEqual([...CODEBOOK_HEADER])
    const m = micro.manifest as MicrodataManifest
    expect(m.codebook.columns.map((c) => c.name)).toEqual(header)
    expect(m.codebook.file.name).toBe(path.basename(micro.codebookPath))
    expect(m.codebook.pandas).toContain('dtype=dict(zip(cb.colonne, cb.dtype_pandas))')
    for (const c of m.columns) expect(m.codebook.columns.find((x) => x.name === c.name)!.label).toBe(c.label ?? m.codebook.columns.find((x) => x.name === c.name)!.label)
  })

  it('gives each column its French label, type and the generalisation the extract applied', () => {
    const m = micro.manifest as MicrodataManifest
    const col = (name: string) => codebook.find((c) => c.colonne === name)!
    expect(col('departement')).toMatchObject({ libelle: 'Département', type: 'string', dtype_pandas: 'string', generalisation: 'réduit au département', champ: 'adresse.codePostal' })
    expect(m.disclosure.generalisation.anneeNaissance).toMatch(/^band-(10|20)$/)
    const width = m.disclosure.generalisation.anneeNaissance!.slice('band-'.length)
    expect(col('anneeNaissance')).toMatchObject({ libelle: `Année de naissance, tranche de ${width} ans`, type: 'string', niveau: `band-${width}`, generalisation: `année seule ; tranche de ${width} ans` })
    expect(col('anneeNaissance').libelle).not.toContain('Date de naissance')
    expect(col('nombrePersonnesFoyer')).toMatchObject({ type: 'string', niveau: m.disclosure.generalisation.nombrePersonnesFoyer, codes: `${m.disclosure.generalisation.nombrePersonnesFoyer!.slice(4)}+ = ${m.disclosure.generalisation.nombrePersonnesFoyer!.slice(4)} ou plus` })
    expect(col('sexe')).toMatchObject({ libelle: 'Sexe', type: 'string', generalisation: 'aucune', codes: '1 = Homme | 2 = Femme' })
    expect(col('foyerSoumisDroitsDevoirs')).toMatchObject({ type: 'boolean', dtype_pandas: 'boolean', codes: 'true = oui | false = non' })
    expect(col('situationFamiliale').codes).toMatch(/^couple = regroupe MAR \(Mariage\), PAC \(PACS\), VIM \(Vie maritale\) \| seul = tout autre code$/)
    expect(col('pseudonyme')).toMatchObject({ type: 'string', champ: '' })
    // Every level the extract applied is the one the codebook states.
    for (const [column, level] of Object.entries(m.disclosure.generalisation)) expect(col(column).niveau, column).toBe(level)
  })

  it('gives the meaning of every code from the label catalogue', () => {
    const purpose = statistiques()
    const m = micro.manifest as MicrodataManifest
    for (const c of m.codebook.columns) {
      const declared = purpose.fields.find((f) => exposedName(f) === c.name)
      if (!declared || !codeListOf(declared.field) || c.level?.startsWith('seul')) continue
      expect(c.codes, c.name).toEqual(fieldCodes(declared.field))
      for (const { code, label } of c.codes) expect(codeLabel(codeListOf(declared.field)!, code)).toBe(label)
    }
    expect(m.codebook.columns.find((c) => c.name === 'etatDroit')!.codes).toContainEqual({ code: '2', label: 'Droit ouvert et versable' })
    expect(m.codebook.columns.find((c) => c.name === 'etatFranceTravail')!.codes.map((c) => c.code)).toEqual(['inscription', 'cessation', 'radiation'])
    // Every code that occurs in the data is explained.
    const rows = parseCsv(readFileSync(micro.dataPath), { columns: true }) as Record<string, string>[]
    // Counts capped at N list only their `N+`; every other coded column lists all its codes.
    for (const c of m.codebook.columns.filter((x) => x.codes.length > 0 && !x.level?.startsWith('cap-'))) {
      const known = new Set(c.codes.map((x) => x.code))
      const seen = new Set(rows.map((r) => r[c.name]!).filter((v) => v !== ''))
      expect([...seen].filter((v) => !known.has(v)), c.name).toEqual([])
    }
  })

  it('keeps départements 01 and 2A as text', () => {
    const rows = parseCsv(readFileSync(micro.dataPath), { columns: true }) as Record<string, string>[]
    const departements = new Set(rows.map((r) => r.departement))
    expect(departements).toContain('01')
    expect(departements).toContain('2A')
    for (const d of departements) expect(d).toMatch(/^(0[1-9]|[1-8]\d|9[0-5]|2A|2B)$/)
  })

  it.skipIf(!hasPandas)('reads in pandas with the codebook’s types: 01 and 2A survive', () => {
    const script = [
      'import sys, pandas as pd',
      "cb = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)",
      "df = pd.read_csv(sys.argv[2], dtype=dict(zip(cb.colonne, cb.dtype_pandas)), keep_default_na=False, na_values=[''])",
      "print(','.join(sorted(set(df['departement'].dropna()))), df['departement'].dtype, df['foyerSoumisDroitsDevoirs'].dtype)",
    ].join('\n')
    const out = execFileSync('python3', ['-c', script, micro.codebookPath, micro.dataPath], { encoding: 'utf8' }).trim()
    expect(out).toMatch(/^01,2A(,2B)? string boolean$/)
  })

  it('describes an aggregate table: dimensions as text with their Total, the count, the secret flag', async () => {
    const result = await runExtract(deps, { purpose: statistiques(), recipientId: 'drees', asOf: '2026-05-01', outDir, aggregate: 'etat-droit-par-sexe', push: false })
    const rows = readCodebook(result.codebookPath)
    expect(rows.map((r) => r.colonne)).toEqual(['sexe', 'etatDroit', 'effectif', 'secret'])
    expect(rows[0]).toMatchObject({ libelle: 'Sexe', type: 'string', codes: '1 = Homme | 2 = Femme | Total = total (marge du tableau)' })
    expect(rows[2]).toMatchObject({ type: 'integer', dtype_pandas: 'Int64' })
    expect(rows[3]!.codes).toBe('0 = effectif publié | 1 = effectif non publié (secret primaire ou secondaire)')
    expect((result.manifest as AggregateManifest).codebook.columns).toHaveLength(4)
  })

  it('starts the CSV files with a UTF-8 BOM on request, the rest of the bytes unchanged', async () => {
    const withBom = await runExtract(deps, { purpose: statistiques(), recipientId: 'drees', asOf: '2026-05-01', outDir, push: false, bom: true })
    const plain = readFileSync(micro.dataPath)
    const bom = readFileSync(withBom.dataPath)
    expect([...bom.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect([...plain.subarray(0, 3)]).not.toEqual([0xef, 0xbb, 0xbf])
    expect(bom.subarray(3).equals(plain)).toBe(true)
    const codebookBytes = readFileSync(withBom.codebookPath)
    expect([...codebookBytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(codebookBytes.subarray(3).equals(readFileSync(micro.codebookPath))).toBe(true)
    expect((withBom.manifest as MicrodataManifest).file.bom).toBe(true)
    expect((micro.manifest as MicrodataManifest).file.bom).toBe(false)
    // The declaration's csv_bom asks the same.
    const declared = statistiques()
    declared.statistics = { ...(declared.statistics as Record<string, unknown>), csv_bom: true }
    const byDeclaration = await runExtract(deps, { purpose: declared, recipientId: 'drees', asOf: '2026-05-01', outDir, aggregate: 'etat-droit-par-sexe', push: false })
    expect([...readFileSync(byDeclaration.dataPath).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
  })

  it('is swept with the extract by the extract-files retention', async () => {
    const codebooks = readdirSync(outDir).filter((f) => f.endsWith('.codebook.csv'))
    expect(codebooks.length).toBeGreaterThanOrEqual(3)
    for (const f of readdirSync(outDir)) utimesSync(path.join(outDir, f), day('2026-05-01'), day('2026-05-01'))
    const report = await runRetention(
      { db: t.db, keys: testKeys(), log: createLogger({ level: 'silent' }), declarations: flowDeclarations(), extractsDir: outDir },
      { now: day('2026-09-01'), dryRun: false },
    )
    expect(report.errors).toEqual([])
    expect(readdirSync(outDir)).toEqual([])
    expect(report.policies.find((p) => p.id === 'extract-files')!.destroyed).toMatchObject({ extract_files: codebooks.length * 3 })
  })
})
