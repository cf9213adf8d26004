import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { ingestFile } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { storedFieldIds } from '../../src/purposes/stored-fields.ts'
import { runExtract, type MicrodataManifest } from '../../src/statistics/run-extract.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { IDENTIFIER_SHAPES } from '../helpers/statistics-seed.ts'

const FOYERS = 2_500

/** Every identifying value of a generated CNAF file, read from its XML (names, NIRs, birth dates, streets, ids). */
function identitiesOf(file: string): string[] {
  const xml = new TextDecoder('windows-1252').decode(readFileSync(file))
  const values = new Set<string>()
  for (const tag of ['NOM', 'NOMNAI', 'PRENOM', 'PRENOM2', 'PRENOM3', 'NIR', 'DTNAI', 'NOMVOIE', 'COMPLADR', 'COMPLIDEADR', 'LIEUDIST', 'NUMDEMRSA', 'MATRICULE', 'IDASSEDIC', 'NOMCOMNAI']) {
    for (const match of xml.matchAll(new RegExp(`<${tag}>([^<]+)</${tag}>`, 'g'))) {
      const value = match[1]!.trim()
      if (value.length >= 3) values.add(value)
    }
  }
  return [...values]
}

/**
 * End to end through the real pipeline: a generated CAF stock is ingested by the loader (minimisation included),
 * then extracted through the shipped `statistiques` purpose. No identifying value of the file — name, NIR, birth
 * date, street, dossier number — comes out.
 */
describe.skipIf(postgresUnavailable())('statistical extract of an ingested CAF stock', () => {
  let t: TestDatabase
  let identities: string[]
  let data: string
  let manifest: string
  let parsed: MicrodataManifest

  beforeAll(async () => {
    t = await createTestDatabase()
    const work = mkdtempSync(path.join(tmpdir(), 'passerelle-stats-e2e-'))
    const purposes = loadPurposes(path.join(REPO_ROOT, 'mappings'))
    const flows = loadFlows(path.join(REPO_ROOT, 'flows'))
    const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-04-02' })
    const file = path.join(work, name)
    await writeCnafFile(file, { flow: 'caf', seed: 'statistics-e2e', typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-04-02' })
    const outcome = await ingestFile(
      { db: t.db, keys: testKeys(), log: createLogger({ level: 'silent' }), stored: storedFieldIds(purposes), purposes },
      flows.get('caf-beneficiaires')!,
      { path: file, name, source: 'local', modifiedAt: new Date('2026-04-02T03:00:00Z') },
    )
    expect(outcome).toMatchObject({ status: 'loaded' })
    identities = identitiesOf(file)
    const keys = mkdtempSync(path.join(tmpdir(), 'passerelle-stats-e2e-keys-'))
    writeFileSync(path.join(keys, 'observatoire.v1.key'), Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 })
    // The shipped declaration, with the suppression allowance a few thousand persons need.
    const shipped = purposes.get('statistiques')!
    const purpose = { ...shipped, statistics: { ...(shipped.statistics as Record<string, unknown>), max_suppression_rate: 0.3 } }
    const result = await runExtract(
      { db: t.db, log: createLogger({ level: 'silent' }), env: { PASSERELLE_EXTRACT_KEYS_DIR: keys } },
      { purpose, recipientId: 'observatoire', asOf: '2026-05-01', outDir: mkdtempSync(path.join(tmpdir(), 'passerelle-stats-e2e-out-')), push: false },
    )
    data = readFileSync(result.dataPath, 'utf8')
    manifest = readFileSync(result.manifestPath, 'utf8')
    parsed = result.manifest as MicrodataManifest
  })
  afterAll(() => t?.drop())

  it('lets no identifying value of the flow out', () => {
    expect(identities.length).toBeGreaterThan(2_000)
    expect(identities.filter((v) => data.includes(v) || manifest.includes(v))).toEqual([])
    expect(data).not.toMatch(IDENTIFIER_SHAPES)
  })

  it('publishes the demandeurs and conjoints of the stock, k-anonymous', () => {
    expect(parsed.disclosure.population).toBeGreaterThan(FOYERS)
    expect(parsed.file.rows).toBe(parsed.disclosure.population - parsed.disclosure.suppressed)
    const lines = data.trimEnd().split('\n').slice(1)
    const qi = parsed.columns.flatMap((c, i) => (c.role === 'quasi-identifier' ? [i] : []))
    const sizes = new Map<string, number>()
    for (const line of lines) {
      const key = qi.map((i) => line.split(',')[i]).join('|')
      sizes.set(key, (sizes.get(key) ?? 0) + 1)
    }
    expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(11)
  })
})
