import { createWriteStream, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import type { Flow } from '../../src/flows/flow.ts'
import type { Db } from '../../src/db/db.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { pullFlow, type PullDeps } from '../../src/ingestion/pull-flow.ts'
import { createTestDatabase, inspectCliDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { flowOnTestServer, pullDeps, REPO_ROOT, tableCounts } from '../helpers/ingest.ts'
import { instanceEnv, spawnPasserelle } from '../helpers/processes.ts'
import { startSftpForTests, type TestSftp } from '../helpers/sshd.ts'

/** A France Travail stock file whose second line is one `mb` MB line (no separator, no newline inside). */
async function writeHugeLineFile(file: string, mb: number): Promise<void> {
  const out = createWriteStream(file)
  out.write('nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale\n')
  const block = Buffer.alloc(1024 * 1024, 'A')
  for (let i = 0; i < mb; i++) if (!out.write(block)) await once(out, 'drain')
  out.end('\n')
  await once(out, 'finish')
}

describe.skipIf(postgresUnavailable())('a file that breaks the reader, pulled over SFTP', () => {
  let t: TestDatabase
  let sftp: TestSftp
  let deps: PullDeps
  let ft: Flow
  let dropDir: string

  beforeAll(async () => {
    t = await createTestDatabase()
    sftp = await startSftpForTests()
    deps = pullDeps(t.db, sftp)
    ft = flowOnTestServer('france-travail', sftp, 'ft')
    dropDir = sftp.localPath(ft.source!.remote_dir)
    mkdirSync(dropDir, { recursive: true })
  })
  afterAll(async () => {
    await sftp?.close()
    await t?.drop()
  })

  it('rejects a file with a 200 MB line (line_too_long): recorded, nacked, moved aside, memory bounded', async () => {
    const name = 'Liste_BeneficiairesRSA_Inscrits_huge_line.csv'
    await writeHugeLineFile(path.join(dropDir, name), 200)
    const rssBefore = process.memoryUsage().rss
    const [outcome, ...others] = await pullFlow(deps, ft)
    expect(others).toEqual([])
    expect(outcome).toMatchObject({ name, status: 'rejected', code: 'line_too_long' })
    // Bounded memory: the reader stops at the first 64 Ki characters of the line (the old reader grew one 200 MB string).
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 1024 * 1024)
    const { rows } = await t.db.query<{ status: string; reason: string }>('select status, reason from files where id = $1', [outcome!.fileId])
    expect(rows[0]).toMatchObject({ status: 'rejected' })
    expect(rows[0]!.reason).toMatch(/^line_too_long: file ".*": line 2: longer than 65536 characters/)
    const { rows: rejections } = await t.db.query<{ rule: string; line: number }>('select rule, line from rejections where file_id = $1', [outcome!.fileId])
    expect(rejections).toEqual([{ rule: 'line_too_long', line: 2 }])
    const nack = JSON.parse(readFileSync(path.join(dropDir, `${name}.nack`), 'utf8'))
    expect(nack).toMatchObject({ status: 'rejected', reason: { code: 'line_too_long' } })
    expect(existsSync(path.join(dropDir, 'rejected', name))).toBe(true)
    // Not fetched again: the next pull finds nothing to do.
    expect(await pullFlow(deps, ft)).toEqual([])
    rmSync(path.join(dropDir, 'rejected', name))
  }, 120_000)
})

/**
 * A process that dies while reading a file (out of memory, killed) records nothing: the file would be fetched and
 * read at every pull, forever. After two such deaths it is quarantined: skipped at listing with a log line, until
 * `passerelle files retry <id>`.
 */
describe.skipIf(postgresUnavailable())('a file whose reading never finishes', () => {
  let t: TestDatabase | undefined
  let sftp: TestSftp
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-quarantine-'))
  const dataDir = path.join(work, 'var')
  const flowsDir = path.join(work, 'flows')
  let dropDir: string

  const env = () =>
    instanceEnv({
      LOG_LEVEL: 'debug',
      PASSERELLE_DATA_DIR: dataDir,
      PASSERELLE_FLOWS_DIR: flowsDir,
      PASSERELLE_MAPPINGS_DIR: path.join(REPO_ROOT, 'mappings'),
      PASSERELLE_SFTP_RETRY_DELAY_MS: '20',
      ...sftp.env('CAF'),
      ...(t?.url ? { DATABASE_URL: t.url } : {}),
    })

  const withDb = <T>(fn: (db: Db) => Promise<T>): Promise<T> => inspectCliDatabase(t, dataDir, fn)

  /** `passerelle ingest --flow caf-beneficiaires --json`, killed with SIGKILL once it is staging records, if asked. */
  async function ingest(kill: boolean) {
    const run = spawnPasserelle(['ingest', '--flow', 'caf-beneficiaires', '--json'], env())
    if (kill) {
      await run.waitFor(/records staged/, 120_000)
      run.child.kill('SIGKILL')
    }
    const exit = await run.exited
    return { ...exit, out: run.stdout(), err: run.stderr() }
  }

  beforeAll(async () => {
    if (testBackend() === 'postgres') t = await createTestDatabase()
    sftp = await startSftpForTests()
    // The shipped flows, the CAF one pointed at the test server and taking files at once.
    cpSync(path.join(REPO_ROOT, 'flows'), flowsDir, { recursive: true })
    const file = path.join(flowsDir, 'caf-beneficiaires.yaml')
    const doc = parseDocument(readFileSync(file, 'utf8'))
    doc.setIn(['source', 'remote_dir'], sftp.remoteDir('caf'))
    doc.setIn(['source', 'min_age_seconds'], 0)
    writeFileSync(file, doc.toString())
    dropDir = sftp.localPath(sftp.remoteDir('caf'))
    mkdirSync(dropDir, { recursive: true })
  })
  afterAll(async () => {
    await sftp?.close()
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('is quarantined after two deaths, skipped with a log line, and read again once released', async () => {
    const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-11-02' })
    await writeCnafFile(path.join(dropDir, name), { flow: 'caf', seed: 11, typeflux: 'M', foyers: 1200, dtcreaflux: '2026-11-02' })

    // One death: the next pull tries again (a restart during a load is not a reason to set a file aside).
    expect((await ingest(true)).signal).toBe('SIGKILL')
    expect((await ingest(true)).signal).toBe('SIGKILL')
    const entries = await withDb((db) => db.query<{ id: string; status: string; unfinished_attempts: number }>('select id, status, unfinished_attempts from file_quarantine'))
    expect(entries.rows).toMatchObject([{ status: 'watching', unfinished_attempts: 2 }])
    const id = String(entries.rows[0]!.id)

    // Two deaths: quarantined, not downloaded, nothing recorded in files, the file left where it is.
    const third = await ingest(false)
    expect(third.code).toBe(0)
    expect(JSON.parse(third.out).files).toMatchObject([{ name, status: 'skipped', code: 'quarantined' }])
    expect(third.err).toMatch(/file quarantined: reading it did not finish twice/)
    expect(third.err).not.toMatch(/records staged/)
    const fourth = await ingest(false)
    expect(JSON.parse(fourth.out).files).toMatchObject([{ status: 'skipped', code: 'quarantined' }])
    expect(fourth.err).toMatch(new RegExp(`"quarantineId":"?${id}"?.*file quarantined: not fetched until released`))
    expect(existsSync(path.join(dropDir, name))).toBe(true)
    expect((await withDb(tableCounts)).files).toBe(0)

    const listed = spawnPasserelle(['files', 'quarantined', '--json'], env())
    expect((await listed.exited).code).toBe(0)
    expect(JSON.parse(listed.stdout())).toMatchObject([{ id: Number(id), flowId: 'caf-beneficiaires', name, status: 'quarantined', unfinishedAttempts: 2 }])

    const retry = spawnPasserelle(['files', 'retry', id], env())
    expect((await retry.exited).code).toBe(0)
    expect(retry.stdout()).toMatch(new RegExp(`Released #${id}`))
    const again = spawnPasserelle(['files', 'retry', id], env())
    expect((await again.exited).code).toBe(1)
    expect(again.stderr()).toMatch(/no quarantined file with id/)

    const loaded = await ingest(false)
    expect(loaded.code).toBe(0)
    expect(JSON.parse(loaded.out).files).toMatchObject([{ name, status: 'loaded', accepted: 1200 }])
    expect(existsSync(path.join(dropDir, 'done', name))).toBe(true)
    // A file that finishes leaves nothing in the quarantine.
    expect((await withDb((db) => db.query('select 1 from file_quarantine'))).rows).toEqual([])
  }, 400_000)
})
