import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations, type Declarations } from '../../src/declarations/load-declarations.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { ingestFile } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { runRetention } from '../../src/retention/run-retention.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'

const FOYERS = 30
const FIELD_LINE = '  - { field: personne.communeNaissance, as: communeNaissance }\n'

/**
 * The bug this guards against: under `serve`, ingestion stored by the declarations loaded at start while retention
 * re-read mappings/ from disk each night, so a field removed from a mapping was cleared every night and stored
 * again by the next file. Now both decide from the one Declarations object the process loaded.
 */
describe.skipIf(postgresUnavailable())('ingestion and retention decide from the same declarations', () => {
  let t: TestDatabase
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-declarations-'))
  const flowsDir = path.join(REPO_ROOT, 'flows')
  const mappingsDir = path.join(work, 'mappings')
  const log = createLogger({ level: 'silent' })
  const keys = testKeys()
  const holding = async (where = 'true', params: unknown[] = []) =>
    (await t.db.query<{ n: number }>(`select count(*)::int as n from persons where commune_naissance is not null and ${where}`, params)).rows[0]!.n

  async function load(declarations: Declarations, seed: string, date: string): Promise<number> {
    const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: date })
    const file = path.join(work, name)
    await writeCnafFile(file, { flow: 'caf', seed, typeflux: 'M', foyers: FOYERS, dtcreaflux: date })
    const outcome = await ingestFile(
      { db: t.db, keys, log, stored: declarations.stored, purposes: declarations.purposes },
      declarations.flows.get('caf-beneficiaires')!,
      { path: file, name, source: 'local', modifiedAt: new Date(`${date}T03:00:00Z`) },
    )
    expect(outcome).toMatchObject({ status: 'loaded', accepted: FOYERS })
    return outcome.fileId!
  }
  const retention = (declarations: Declarations, date: string, dryRun: boolean) =>
    runRetention({ db: t.db, keys, log, declarations }, { now: new Date(`${date}T12:00:00Z`), dryRun })

  beforeAll(async () => {
    t = await createTestDatabase()
    cpSync(path.join(REPO_ROOT, 'mappings'), mappingsDir, { recursive: true })
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('stores a field removed from a mapping until restart, never clears it meanwhile, and after restart neither stores nor keeps it', async () => {
    const atStart = loadDeclarations({ flowsDir, mappingsDir })
    expect(atStart.stored.has('personne.communeNaissance')).toBe(true)
    await load(atStart, 'agree-first', '2026-10-02')
    const stored = await holding()
    expect(stored).toBeGreaterThan(0)

    // The operator removes the field from its only mapping while the process runs.
    const file = path.join(mappingsDir, 'instruction.yaml')
    const text = readFileSync(file, 'utf8')
    expect(text).toContain(FIELD_LINE)
    writeFileSync(file, text.replace(FIELD_LINE, ''))

    // The running process keeps the declarations it loaded: retention clears nothing ingestion still stores.
    const night = await retention(atStart, '2026-10-03', true)
    expect(night.minimisation.cleared).toEqual({})

    // After a restart, the next file no longer stores the field, and retention clears what earlier files left.
    const restarted = loadDeclarations({ flowsDir, mappingsDir })
    expect(restarted.stored.has('personne.communeNaissance')).toBe(false)
    const next = await load(restarted, 'agree-next', '2026-10-04')
    expect(await holding('file_id = $1', [next])).toBe(0)
    const forecast = await retention(restarted, '2026-10-05', true)
    expect(forecast.minimisation.cleared.persons).toBeGreaterThanOrEqual(1)
    const run = await retention(restarted, '2026-10-05', false)
    expect(run.errors).toEqual([])
    expect(await holding()).toBe(0)
    // And the next night has nothing left to clear: ingestion and retention agree.
    expect((await retention(restarted, '2026-10-06', true)).minimisation.cleared).toEqual({})
  })
})
