import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log/logger.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import type { Purpose } from '../../src/purposes/purpose.ts'
import { ExtractRefusedError, runExtract, type AggregateManifest, type ExtractDeps, type MicrodataManifest } from '../../src/statistics/run-extract.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { directIdentifiers, IDENTIFIER_SHAPES, seedStatisticsPopulation, type Seeded } from '../helpers/statistics-seed.ts'

const shipped = loadPurposes(path.join(REPO_ROOT, 'mappings')).get('statistiques')!

/** The shipped purpose with a smaller lattice, so a few thousand persons reach k = 11. */
function statistiques(overrides: Record<string, unknown> = {}): Purpose {
  return {
    ...shipped,
    statistics: {
      ...(shipped.statistics as Record<string, unknown>),
      quasi_identifiers: [
        { column: 'anneeNaissance', hierarchy: 'date', levels: ['year', 'band-5', 'band-10'] },
        { column: 'sexe', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'departement', hierarchy: 'commune', levels: ['departement'] },
        { column: 'organisme', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'roleDossier', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'situationFamiliale', hierarchy: 'categorical', levels: ['keep', { name: 'seul-ou-couple', map: { MAR: 'couple', PAC: 'couple', VIM: 'couple' }, other: 'seul' }] },
        { column: 'nombrePersonnesFoyer', hierarchy: 'count', levels: ['cap-6', 'cap-4', 'cap-3'] },
        { column: 'nombreEnfants', hierarchy: 'count', levels: ['cap-4', 'cap-3', 'cap-2', '*'] },
        { column: 'anneeDemande', hierarchy: 'date', levels: ['year', 'band-5', 'band-10', '*'] },
      ],
      ...overrides,
    },
  }
}

function parseCsv(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => line.split(','))
}

describe.skipIf(postgresUnavailable())('statistical extracts', () => {
  let t: TestDatabase
  let seeded: Seeded
  let keysDir: string
  let outDir: string
  let deps: ExtractDeps
  let first: Awaited<ReturnType<typeof runExtract>>

  beforeAll(async () => {
    t = await createTestDatabase()
    seeded = await seedStatisticsPopulation(t.db, { foyers: 4_000, seed: 42 })
    keysDir = mkdtempSync(path.join(tmpdir(), 'passerelle-extract-keys-'))
    outDir = mkdtempSync(path.join(tmpdir(), 'passerelle-extracts-'))
    writeFileSync(path.join(keysDir, 'drees.v1.key'), Buffer.alloc(32, 11).toString('base64'), { mode: 0o600 })
    writeFileSync(path.join(keysDir, 'observatoire.v1.key'), Buffer.alloc(32, 12).toString('base64'), { mode: 0o600 })
    let clock = Date.parse('2026-05-01T06:00:00Z')
    deps = {
      db: t.db,
      log: createLogger({ level: 'silent' }),
      env: { PASSERELLE_EXTRACT_KEYS_DIR: keysDir },
      now: () => new Date((clock += 1000)),
    }
    first = await runExtract(deps, { purpose: statistiques(), recipientId: 'drees', asOf: '2026-05-01', outDir, push: false })
  })
  afterAll(() => t?.drop())

  it('writes a CSV and a manifest that name no person', async () => {
    const data = readFileSync(first.dataPath, 'utf8')
    const manifest = readFileSync(first.manifestPath, 'utf8')
    const { words, numbers } = directIdentifiers(seeded)
    expect(words.length).toBeGreaterThan(100)
    expect(numbers.length).toBeGreaterThan(20_000)
    expect(words.filter((w) => data.includes(w) || manifest.includes(w))).toEqual([])
    expect(numbers.filter((n) => manifest.includes(n))).toEqual([])
    // No NIR, full date or internal key anywhere in the data file: not these persons', not anyone's.
    expect(data).not.toMatch(IDENTIFIER_SHAPES)
    // The scan does find them where they are: in the seeded database.
    const stored = await t.db.query<{ nom: string }>('select nom from persons order by id limit 1')
    expect(words).toContain(stored.rows[0]!.nom)
  })

  it('holds k for every combination of quasi-identifiers, within the maximum suppression rate', () => {
    const m = first.manifest as MicrodataManifest
    const [header, ...rows] = parseCsv(first.dataPath)
    expect(header).toEqual(['pseudonyme', ...statistiquesColumns()])
    const qi = m.columns.map((c, i) => (c.role === 'quasi-identifier' ? i : -1)).filter((i) => i >= 0)
    const sizes = new Map<string, number>()
    for (const row of rows) {
      const key = qi.map((i) => row[i]).join('|')
      sizes.set(key, (sizes.get(key) ?? 0) + 1)
    }
    expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(11)
    expect(m.disclosure.kReached).toBe(Math.min(...sizes.values()))
    const adults = seeded.persons.filter((p) => p.role !== 'ENF').length
    expect(m.disclosure.population).toBe(adults)
    expect(rows.length).toBe(adults - m.disclosure.suppressed)
    expect(m.disclosure.suppressionRate).toBeLessThanOrEqual(0.05)
    expect(Object.keys(m.disclosure.generalisation)).toHaveLength(9)
  })

  it('records the digest, rows and key version of what it wrote, and audits the delivery', async () => {
    const m = first.manifest as MicrodataManifest
    const bytes = readFileSync(first.dataPath)
    expect(m.file.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(m.file.rows).toBe(parseCsv(first.dataPath).length - 1)
    expect(m.pseudonyms.keyVersion).toBe(1)
    const { rows } = await t.db.query<{ sha256: string; rows: number; key_version: number; k: number }>(
      'select sha256, rows, key_version, k from extracts where public_id = $1',
      [m.id],
    )
    expect(rows[0]).toEqual({ sha256: m.file.sha256, rows: m.file.rows, key_version: 1, k: 11 })
    const audit = await t.db.query<{ action: string; outcome: string; subject: string | null; details: Record<string, unknown> }>(
      `select action, outcome, subject, details from audit_events where details ->> 'extractId' = $1`,
      [m.id],
    )
    expect(audit.rows).toEqual([expect.objectContaining({ action: 'extract.deliver', outcome: 'done', subject: null })])
    expect(audit.rows[0]!.details).toMatchObject({ channel: 'file', sha256: m.file.sha256, keyVersion: 1 })
  })

  it('keeps pseudonyms for one recipient from one extract to the next, and never shares them with another', async () => {
    const again = await runExtract(deps, { purpose: statistiques(), recipientId: 'drees', asOf: '2026-06-01', outDir, push: false })
    const other = await runExtract(deps, { purpose: statistiques(), recipientId: 'observatoire', asOf: '2026-05-01', outDir, push: false })
    const pseudonyms = (file: string) => new Set(parseCsv(file).slice(1).map((r) => r[0]!))
    const a = pseudonyms(first.dataPath)
    const b = pseudonyms(again.dataPath)
    const c = pseudonyms(other.dataPath)
    expect(a.size).toBeGreaterThan(1000)
    expect(b).toEqual(a)
    expect([...c].filter((p) => a.has(p))).toEqual([])
    // The next extract is never less generalised than the last one the recipient holds.
    const levels = (m: MicrodataManifest) => m.disclosure.generalisation
    const firstLevels = levels(first.manifest as MicrodataManifest)
    for (const [column, level] of Object.entries(levels(again.manifest as MicrodataManifest))) {
      const qi = (statistiques().statistics as { quasi_identifiers: { column: string; levels: (string | { name: string })[] }[] }).quasi_identifiers.find((q) => q.column === column)!
      const names = qi.levels.map((l) => (typeof l === 'string' ? l : l.name))
      expect(names.indexOf(level)).toBeGreaterThanOrEqual(names.indexOf(firstLevels[column]!))
    }
  })

  it('changes every pseudonym when the key rotates, and the manifest names the new version', async () => {
    const before = new Set(parseCsv(first.dataPath).slice(1).map((r) => r[0]!))
    writeFileSync(path.join(keysDir, 'drees.v2.key'), Buffer.alloc(32, 21).toString('base64'), { mode: 0o600 })
    try {
      const rotated = await runExtract(deps, { purpose: statistiques(), recipientId: 'drees', asOf: '2026-07-01', outDir, push: false })
      const m = rotated.manifest as MicrodataManifest
      expect(m.pseudonyms.keyVersion).toBe(2)
      expect(rotated.extract.keyVersion).toBe(2)
      const after = parseCsv(rotated.dataPath).slice(1).map((r) => r[0]!)
      expect(after.length).toBeGreaterThan(1000)
      expect(after.filter((p) => before.has(p))).toEqual([])
    } finally {
      rmSync(path.join(keysDir, 'drees.v2.key'))
    }
  })

  it('refuses an extract that would suppress more than the maximum, writes nothing and says why', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-refused-'))
    const strict = statistiques({ k: 2_000, max_suppression_rate: 0.01 })
    const attempt = runExtract(deps, { purpose: strict, recipientId: 'observatoire', asOf: '2026-05-01', outDir: dir, push: false })
    await expect(attempt).rejects.toBeInstanceOf(ExtractRefusedError)
    await expect(attempt).rejects.toThrow(/extract refused: purpose "statistiques", recipient "observatoire": even at the most general levels .* above the maximum of 1\.00 %/)
    expect(readdirSync(dir)).toEqual([])
    const { rows } = await t.db.query<{ n: number }>(
      `select count(*)::int as n from audit_events where action = 'extract.deliver' and outcome = 'denied' and details ->> 'reason' = 'suppression_above_max'`,
    )
    expect(rows[0]!.n).toBe(1)
  })

  it('leaves out a person under a limitation of processing, or opposed to the purpose', async () => {
    const before = (first.manifest as MicrodataManifest).disclosure.population
    const demandeurs = seeded.persons.filter((p) => p.role === 'DEM')
    const limited = demandeurs.slice(0, 7)
    const opposed = demandeurs.slice(7, 10)
    await t.db.query(`insert into limitations (person_id, since, reason) select unnest($1::bigint[]), '2026-01-01', 'test'`, [limited.map((p) => p.id)])
    const { rows } = await t.db.query<{ id: number }>(
      `insert into rights_requests (type, purpose, subject, matched_by, received_on, due_on, opened_by, opened_at)
       values ('opposition', 'statistiques', 'p_test', 'nir_and_birth_date', '2026-01-01', '2026-02-01', 'dpo', '2026-01-01')
       returning id`,
    )
    await t.db.query(
      `insert into rights_oppositions (request_id, purpose, subject, person_id, since)
       select $1, purpose, 'p_' || person_id, person_id, '2026-01-02'
       from unnest($2::bigint[], $3::text[]) as o (person_id, purpose)`,
      [rows[0]!.id, [...opposed.map((p) => p.id), demandeurs[10]!.id], ['statistiques', 'statistiques', 'statistiques', 'accompagnement-rsa']],
    )
    try {
      const result = await runExtract(deps, { purpose: statistiques(), recipientId: 'observatoire', asOf: '2026-05-02', outDir, push: false })
      // The opposition to another purpose does not count.
      expect((result.manifest as MicrodataManifest).disclosure.population).toBe(before - 7 - 3)
    } finally {
      await t.db.query('delete from limitations')
      await t.db.query('delete from rights_oppositions')
    }
  })

  it('publishes an aggregate table with no count under the threshold', async () => {
    const result = await runExtract(deps, { purpose: statistiques(), recipientId: 'observatoire', asOf: '2026-05-01', outDir, aggregate: 'etat-droit-par-age', push: false })
    const m = result.manifest as AggregateManifest
    const [header, ...rows] = parseCsv(result.dataPath)
    expect(header).toEqual(['anneeNaissance', 'etatDroit', 'effectif', 'secret'])
    expect(rows.length).toBe(m.table.cells)
    for (const row of rows) {
      if (row[3] === '1') expect(row[2]).toBe('')
      else expect(Number(row[2]) === 0 || Number(row[2]) >= 11).toBe(true)
    }
    expect(rows.find((r) => r[0] === 'Total' && r[1] === 'Total')?.[2]).toBe(String(m.table.population))
    expect(rows.filter((r) => r[3] === '1').length).toBe(m.table.suppressedCells)
    expect(readFileSync(result.dataPath, 'utf8')).not.toMatch(/\d{4}-\d{2}-\d{2}/)
  })
})

function statistiquesColumns(): string[] {
  const s = statistiques().statistics as { quasi_identifiers: { column: string }[]; sensitive: string[]; measures: string[] }
  return [...s.quasi_identifiers.map((q) => q.column), ...s.sensitive, ...s.measures]
}
