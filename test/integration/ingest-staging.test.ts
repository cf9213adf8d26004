import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/db/db.ts'
import { openPglite } from '../../src/db/pglite.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { cafFlowsReading } from '../helpers/ingest.ts'
import { instanceEnv, spawnPasserelle } from '../helpers/processes.ts'
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.ts'
import { startSftpForTests, type TestSftp } from '../helpers/sshd.ts'

/** Every file below `dir`, relative, with its mode. */
function filesBelow(dir: string): { name: string; mode: string; size: number }[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const full = path.join(e.parentPath, e.name)
      const stat = statSync(full)
      return { name: path.relative(dir, full), mode: (stat.mode & 0o777).toString(8), size: stat.size }
    })
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * Staged copies of producers' files (NIRs included) never outlive the process that made them by more than the next
 * start: a pull killed mid-download or mid-load leaves its folder, which the next `serve` or `ingest` removes, and
 * a start beside a live pull leaves that pull's files alone.
 */
describe.skipIf(postgresUnavailable())('staged copies after a killed pull', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-staging-'))
  const staging = path.join(work, 'staging')
  let t: TestDatabase | undefined
  let sftp: TestSftp
  let proxy: TcpRelay
  let flowsDir: string
  let drop: string

  beforeAll(async () => {
    if (testBackend() === 'postgres') t = await createTestDatabase()
    sftp = await startSftpForTests()
    proxy = await startTcpRelay(sftp.port)
    const remoteDir = sftp.remoteDir('caf')
    drop = sftp.localPath(remoteDir)
    mkdirSync(drop, { recursive: true })
    flowsDir = cafFlowsReading(remoteDir)
  })
  afterAll(async () => {
    await proxy?.close()
    await sftp?.close()
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
    rmSync(flowsDir, { recursive: true, force: true })
  })

  /** One instance's environment: its own data folder (PGlite), the shared staging folder, SFTP through the relay. */
  const env = (instance: string, extra: Record<string, string> = {}) =>
    instanceEnv({
      ...(t ? { DATABASE_URL: t.url } : {}),
      PASSERELLE_DATA_DIR: path.join(work, instance),
      PASSERELLE_STAGING_DIR: staging,
      PASSERELLE_FLOWS_DIR: flowsDir,
      LOG_LEVEL: 'debug',
      ...sftp.env('CAF'),
      CAF_SFTP_PORT: String(proxy.port),
      ...extra,
    })

  async function withDb<T>(instance: string, fn: (db: Db) => Promise<T>): Promise<T> {
    if (t) return fn(t.db)
    const db = await openPglite(path.join(work, instance, 'pglite'))
    try {
      return await fn(db)
    } finally {
      await db.close()
    }
  }

  async function dropFile(dtcreaflux: string, foyers: number) {
    const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux })
    await writeCnafFile(path.join(drop, name), { flow: 'caf', seed: 61, typeflux: 'M', foyers, dtcreaflux })
    return name
  }

  it('a pull killed mid-download leaves a private partial copy, which the next serve start removes', async () => {
    const name = await dropFile('2026-10-02', 1200)
    proxy.holdAfter(256 * 1024)
    const pull = spawnPasserelle(['ingest', '--flow', 'caf-beneficiaires', '--json'], env('a'))
    const partial = await until('a partial download', () => {
      const files = filesBelow(staging)
      return proxy.held && files.length === 1 && files[0]!.size > 0 ? files : undefined
    })
    expect(partial[0]!.name).toMatch(new RegExp(`/caf-beneficiaires/${name.replace(/\./g, '\\.')}\\.part$`))
    expect(partial[0]!.mode).toBe('600')
    pull.child.kill('SIGKILL')
    await pull.exited
    proxy.release()
    expect(filesBelow(staging).length).toBe(1)

    const serve = spawnPasserelle(['serve', '--port', '0', '--no-scheduler'], env('a'))
    try {
      await serve.waitFor(/listening on/, 240_000)
      expect(filesBelow(staging)).toEqual([])
      expect(serve.stderr()).toContain('staging leftovers of stopped processes removed')
    } finally {
      serve.child.kill('SIGTERM')
      await serve.exited
    }
  }, 600_000)

  it('a pull killed mid-load leaves its full copy, which the next ingest removes before loading the file once', async () => {
    const name = await dropFile('2026-10-02', 1200)
    const pull = spawnPasserelle(['ingest', '--flow', 'caf-beneficiaires', '--json'], env('a'))
    await pull.waitFor(/records staged/, 240_000)
    pull.child.kill('SIGKILL')
    await pull.exited
    const left = filesBelow(staging)
    expect(left.map((f) => ({ name: path.basename(f.name), mode: f.mode }))).toEqual([{ name, mode: '600' }])
    expect(await withDb('a', async (db) => (await db.query('select id from files where name = $1', [name])).rows)).toEqual([])

    const again = spawnPasserelle(['ingest', '--flow', 'caf-beneficiaires', '--json'], env('a'))
    const exit = await again.exited
    expect(exit.code, again.stderr().slice(-800)).toBe(0)
    expect(JSON.parse(again.stdout()).files).toMatchObject([{ name, status: 'loaded', accepted: 1200 }])
    expect(filesBelow(staging)).toEqual([])
  }, 600_000)

  it('a start beside a live pull leaves its download alone, and that pull then loads its file', async () => {
    const name = await dropFile('2026-11-02', 1200)
    proxy.holdAfter(256 * 1024)
    const pull = spawnPasserelle(['ingest', '--flow', 'caf-beneficiaires', '--json'], env('a'))
    const partial = await until('a partial download', () => {
      const files = filesBelow(staging)
      return proxy.held && files.length === 1 && files[0]!.size > 0 ? files : undefined
    })
    // The pull is stopped mid-download (SIGSTOP: alive, its connection kept, no keepalive timing out) while other
    // processes start beside it (their own database folder, the same staging folder), each sweeping first: an
    // ingest of another flow's local file, and a serve.
    pull.child.kill('SIGSTOP')
    proxy.release()
    const ftDir = path.join(work, 'ft')
    mkdirSync(ftDir, { recursive: true })
    const ft = await writeFranceTravailFile({ kind: 'stock', seed: 61, foyers: 30, date: '2026-11-05' }, ftDir)
    const other = spawnPasserelle(['ingest', '--flow', 'france-travail', '--file', ft.path!, '--json'], env('b'))
    const serve = spawnPasserelle(['serve', '--port', '0', '--no-scheduler'], env('c'))
    try {
      await Promise.all([other.waitFor(/staging swept/, 240_000), serve.waitFor(/staging swept/, 240_000)])
      expect(filesBelow(staging).map((f) => f.name)).toEqual([partial[0]!.name])
      pull.child.kill('SIGCONT')
      const otherExit = await other.exited
      expect(otherExit.code, other.stderr().slice(-800)).toBe(0)
      expect(JSON.parse(other.stdout()).files).toMatchObject([{ status: 'loaded' }])
      await serve.waitFor(/listening on/, 240_000)
    } finally {
      pull.child.kill('SIGCONT')
      serve.child.kill('SIGTERM')
      await serve.exited
    }
    const exit = await pull.exited
    expect(exit.code, pull.stderr().slice(-800)).toBe(0)
    expect(JSON.parse(pull.stdout()).files).toMatchObject([{ name, status: 'loaded', accepted: 1200 }])
    expect(filesBelow(staging)).toEqual([])
  }, 600_000)
})
