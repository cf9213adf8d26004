import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { foyer } from '../../src/fixtures/population.ts'
import { inspectCliDatabase, postgresUnavailable, seedCliTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { instanceEnv, REPO } from '../helpers/processes.ts'

/**
 * Issue 17, point 6: a replayable rejection per dossier. The operator lists the dossiers a CAF file rejected (rule
 * and NUMDEMRSA, never a value of the person) and loads a corrected single-dossier daily file with `ingest --file`,
 * without the whole stock again.
 */
describe.skipIf(postgresUnavailable())('rejected dossiers listed and replayed one by one', { timeout: 300_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-replay-'))
  const env: Record<string, string> = { PASSERELLE_DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'silent' }
  const SEED = 23
  let t: TestDatabase | undefined
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin/passerelle.js'), ...args], { cwd: REPO, env: instanceEnv(env), encoding: 'utf8', timeout: 120_000 })
    return { status: r.status, out: r.stdout, err: r.stderr }
  }

  beforeAll(async () => {
    t = await seedCliTestDatabase(env, async () => {})
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('lists the rejected dossiers of a stock, then applies a corrected single-dossier daily file', async () => {
    const stock = path.join(work, cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-11-02' }))
    const report = await writeCnafFile(stock, { flow: 'caf', seed: SEED, typeflux: 'M', foyers: 100, dtcreaflux: '2026-11-02', defects: { badNirKey: { every: 50 } } })
    const hits = report.defects.badNirKey!
    expect(hits).toHaveLength(2)

    const loaded = run(['ingest', '--flow', 'caf-beneficiaires', '--file', stock, '--json'])
    expect(loaded.status, loaded.err).toBe(0)
    const [file] = (JSON.parse(loaded.out) as { files: { fileId: number; status: string; accepted: number; rejected: number }[] }).files
    expect(file).toMatchObject({ status: 'loaded', accepted: 98, rejected: 2 })

    const listedJson = run(['rejections', 'dossiers', '--file', String(file!.fileId), '--json'])
    expect(listedJson.status, listedJson.err).toBe(0)
    const listed = JSON.parse(listedJson.out) as { file: { id: number; name: string }; dossiers: { recordIndex: number; numdemrsa: string; rules: { field: string; rule: string }[] }[] }
    expect(listed.file).toMatchObject({ id: file!.fileId, name: path.basename(stock) })
    expect(listed.dossiers.map((d) => [d.recordIndex, d.numdemrsa])).toEqual(hits.map((h) => [h.recordIndex, foyer(SEED, h.foyerIndex).numdemrsa]))
    for (const d of listed.dossiers) expect(d.rules.map((r) => r.rule)).toContain('nir_key')
    const listedText = run(['rejections', 'dossiers', '--file', String(file!.fileId)])
    expect(listedText.status, listedText.err).toBe(0)
    expect(listedText.out).toContain(foyer(SEED, hits[0]!.foyerIndex).numdemrsa)

    // Nothing of the rejected persons but the dossier number is printed: no name, birth date or NIR.
    const printed = listedJson.out + listedJson.err + listedText.out + listedText.err
    for (const h of hits) {
      for (const p of foyer(SEED, h.foyerIndex).personnes) {
        for (const value of [p.nom, p.nomnai, p.prenom, p.dtnai, p.nir13].filter((v): v is string => v !== undefined && v.length >= 4)) {
          expect(printed).not.toContain(value)
        }
      }
    }

    // The CAF sends a corrected daily file holding just the first rejected dossier.
    const fixed = hits[0]!
    const daily = path.join(work, cnafFileName({ flow: 'caf', typeflux: 'I', dtcreaflux: '2026-11-05' }))
    await writeCnafFile(daily, { flow: 'caf', seed: SEED, typeflux: 'I', indices: [fixed.foyerIndex], dtcreaflux: '2026-11-05' })
    const replayed = run(['ingest', '--flow', 'caf-beneficiaires', '--file', daily, '--json'])
    expect(replayed.status, replayed.err).toBe(0)
    expect(JSON.parse(replayed.out).files[0]).toMatchObject({ status: 'loaded', kind: 'daily', accepted: 1, rejected: 0, superseded: 0 })

    const state = await inspectCliDatabase(t, env.PASSERELLE_DATA_DIR!, async (db) => {
      const dossiers = await db.query<{ numdemrsa: string; transmission_state: string }>('select numdemrsa, transmission_state from dossiers order by numdemrsa')
      return dossiers.rows
    })
    // The stock's 98 dossiers are untouched and still transmitted; the corrected one joins them; the other waits.
    expect(state).toHaveLength(99)
    expect(state.every((d) => d.transmission_state === 'transmitted')).toBe(true)
    const numbers = new Set(state.map((d) => d.numdemrsa))
    expect(numbers.has(foyer(SEED, fixed.foyerIndex).numdemrsa)).toBe(true)
    expect(numbers.has(foyer(SEED, hits[1]!.foyerIndex).numdemrsa)).toBe(false)
  })
})
