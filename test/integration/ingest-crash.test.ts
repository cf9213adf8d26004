import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_AUDIT_SIGNING_KEY, testKeys } from '../../src/crypto/keys.ts'
import { withAdvisoryLock } from '../../src/db/advisory-lock.ts'
import { openPglite } from '../../src/db/pglite.ts'
import { ingestionLock } from '../../src/retention/run-retention.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT, tableCounts } from '../helpers/ingest.ts'

/**
 * The process is killed (SIGKILL) in the middle of loading a file: the database must be as before the file, and
 * the next run loads it whole, once.
 */
describe.skipIf(postgresUnavailable())('a process killed mid-load', () => {
  let t: TestDatabase | undefined
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-crash-'))
  const dataDir = path.join(work, 'var')
  const keys = testKeys()
  const env = () => ({
    ...process.env,
    LOG_LEVEL: 'debug',
    PASSERELLE_DATA_DIR: dataDir,
    PASSERELLE_NIR_KEY: keys.nir.toString('base64'),
    PASSERELLE_INDEX_KEY: keys.index.toString('base64'),
    PASSERELLE_PSEUDONYM_KEY: keys.pseudonym.toString('base64'),
    PASSERELLE_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    ...(t?.url ? { DATABASE_URL: t.url } : {}),
  })

  beforeAll(async () => {
    if (testBackend() === 'postgres') t = await createTestDatabase()
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  function ingest(file: string, killOnStaged: boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/passerelle.js'), 'ingest', '--flow', 'caf-beneficiaires', '--file', file, '--json'], {
        cwd: REPO_ROOT,
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let killed = false
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d: Buffer) => {
        if (killOnStaged && !killed && d.toString().includes('records staged')) {
          killed = true
          child.kill('SIGKILL')
        }
      })
      child.on('error', reject)
      child.on('exit', (code, signal) => resolve({ code, signal, out }))
    })
  }

  async function counts() {
    if (t) return tableCounts(t.db)
    const db = await openPglite(path.join(dataDir, 'pglite'))
    try {
      return await tableCounts(db)
    } finally {
      await db.close()
    }
  }

  it('leaves nothing half-loaded, and the rerun loads the file once', async () => {
    const file = path.join(work, cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-11-02' }))
    await writeCnafFile(file, { flow: 'caf', seed: 11, typeflux: 'M', foyers: 1200, dtcreaflux: '2026-11-02' })

    const first = await ingest(file, true)
    expect(first.signal).toBe('SIGKILL')
    const afterKill = await counts()
    expect([afterKill.files, afterKill.dossiers, afterKill.persons, afterKill.dossier_members]).toEqual([0, 0, 0, 0])

    const second = await ingest(file, false)
    expect(second.code).toBe(0)
    expect(JSON.parse(second.out).files[0]).toMatchObject({ status: 'loaded', accepted: 1200, rejected: 0 })
    const third = await ingest(file, false)
    expect(JSON.parse(third.out).files[0]).toMatchObject({ status: 'skipped' })
    const final = await counts()
    expect(final.files).toBe(1)
    expect(final.dossiers).toBe(1200)
  }, 240_000)

  it.skipIf(testBackend() === 'pglite')('loads nothing while another run holds the flow (retention archiving it, a scheduled pull): exit 75', async () => {
    // Retention archives a flow's rows under its ingestion lock; an import beside it would see the persons it links
    // deleted under it (their new memberships cascading away), so the CLI takes the same lock.
    const file = path.join(work, cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-11-03' }))
    await writeCnafFile(file, { flow: 'caf', seed: 12, typeflux: 'M', foyers: 30, dtcreaflux: '2026-11-03' })
    const before = await counts()
    const held = await withAdvisoryLock(t!.db, ingestionLock('caf-beneficiaires'), () => ingest(file, false))
    expect(held.acquired && held.value.code).toBe(75)
    expect(held.acquired && JSON.parse(held.value.out).files).toEqual([])
    expect((await counts()).files).toBe(before.files)
    const after = await ingest(file, false)
    expect(JSON.parse(after.out).files[0]).toMatchObject({ status: 'loaded', accepted: 30 })
  }, 120_000)
})
