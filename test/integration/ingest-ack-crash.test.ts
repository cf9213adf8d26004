import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { createTestDatabase, inspectCliDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { cafFlowsReading } from '../helpers/ingest.ts'
import { instanceEnv, spawnPasserelle } from '../helpers/processes.ts'
import { startTcpRelay } from '../helpers/tcp-relay.ts'
import { startEmbeddedSftpForTests, startSftpForTests, type TestSftp } from '../helpers/sshd.ts'

const TEMPORARY = /^\..*\.(ack|nack)\.[0-9a-f]{8}\.tmp$/

/**
 * The process is killed (SIGKILL) after the file's transaction committed and before the producer was answered:
 * the next run answers with the counts the file stored, and removes the temporary answer a crash left behind.
 */
describe.skipIf(postgresUnavailable())('a pull killed between commit and acknowledgement', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-ack-crash-'))
  let t: TestDatabase | undefined
  let run = 0

  beforeAll(async () => {
    if (testBackend() === 'postgres') t = await createTestDatabase()
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  async function scenario(sftp: TestSftp, crash: 'relay-frozen' | 'answer-half-written') {
    run++
    const sub = `caf-${run}`
    const remoteDir = sftp.remoteDir(sub)
    const drop = sftp.localPath(remoteDir)
    mkdirSync(drop, { recursive: true })
    const dataDir = path.join(work, `data-${run}`)
    const flowsDir = cafFlowsReading(remoteDir)
    const dtcreaflux = `2026-${9 + run}-02`
    const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux })
    const report = await writeCnafFile(path.join(drop, name), { flow: 'caf', seed: 40 + run, typeflux: 'M', foyers: 300, dtcreaflux, defects: { badNirKey: { every: 150 } } })
    const badRecords = report.defects.badNirKey!.length
    expect(badRecords).toBeGreaterThan(0)
    const proxy = await startTcpRelay(sftp.port)
    const env = (port: number) =>
      instanceEnv({
        ...(t ? { DATABASE_URL: t.url } : {}),
        PASSERELLE_DATA_DIR: dataDir,
        PASSERELLE_FLOWS_DIR: flowsDir,
        LOG_LEVEL: 'info',
        ...sftp.env('CAF'),
        CAF_SFTP_PORT: String(port),
      })
    try {
      const first = spawnPasserelle(['ingest', '--flow', 'caf-beneficiaires', '--json'], env(proxy.port))
      if (crash === 'relay-frozen') {
        // Committed ("file loaded" is logged after the commit): the server goes silent, then the process dies.
        await first.waitFor(/"msg":"file loaded"/, 300_000)
        proxy.hold()
      } else {
        // The server hangs on the answer's temporary file: it exists, empty, when the process dies.
        sftp.embedded!.faults.stallOpen = /\.ack\.[0-9a-f]{8}\.tmp$/
        const deadline = Date.now() + 300_000
        while (!readdirSync(drop).some((f) => TEMPORARY.test(f))) {
          if (Date.now() > deadline || first.child.exitCode !== null) throw new Error(`no temporary answer appeared; stderr: ${first.stderr().slice(-800)}`)
          await new Promise((r) => setTimeout(r, 20))
        }
      }
      first.child.kill('SIGKILL')
      expect((await first.exited).signal).toBe('SIGKILL')
      if (sftp.embedded) sftp.embedded.faults.stallOpen = undefined

      // Committed, not acknowledged: the file is still in the drop folder, without its answer.
      expect(existsSync(path.join(drop, name))).toBe(true)
      expect(existsSync(path.join(drop, `${name}.ack`))).toBe(false)
      const stored = await inspectCliDatabase(t, dataDir, async (db) => {
        const { rows } = await db.query<{ status: string; records_accepted: number; records_rejected: number }>(
          'select status, records_accepted, records_rejected from files where name = $1',
          [name],
        )
        return rows
      })
      expect(stored).toEqual([{ status: 'loaded', records_accepted: 300 - badRecords, records_rejected: badRecords }])
      const leftover = readdirSync(drop).filter((f) => TEMPORARY.test(f))
      if (crash === 'answer-half-written') {
        expect(leftover.length).toBe(1)
        expect(statSync(path.join(drop, leftover[0]!)).size).toBe(0)
      }

      const second = spawnPasserelle(['ingest', '--flow', 'caf-beneficiaires', '--json'], env(sftp.port))
      const exit = await second.exited
      expect(exit.code, second.stderr().slice(-800)).toBe(0)
      expect(JSON.parse(second.stdout()).files).toMatchObject([{ name, status: 'skipped', code: 'already_loaded' }])
      const ack = JSON.parse(readFileSync(path.join(drop, `${name}.ack`), 'utf8'))
      expect(ack).toMatchObject({ status: 'loaded', records: { accepted: 300 - badRecords, rejected: badRecords } })
      expect(existsSync(path.join(drop, 'done', name))).toBe(true)
      expect(readdirSync(drop).filter((f) => f.startsWith('.'))).toEqual([])
    } finally {
      await proxy.close()
      rmSync(flowsDir, { recursive: true, force: true })
    }
  }

  it('answers with the stored counts after a crash, over the suite SFTP server (OpenSSH when available)', async () => {
    const sftp = await startSftpForTests()
    try {
      await scenario(sftp, 'relay-frozen')
    } finally {
      await sftp.close()
    }
  }, 600_000)

  it('answers with the stored counts after a crash, over the in-process SFTP server', async () => {
    const sftp = await startEmbeddedSftpForTests()
    try {
      await scenario(sftp, 'relay-frozen')
    } finally {
      await sftp.close()
    }
  }, 600_000)

  it('removes the empty temporary answer a process killed while writing it left on the server', async () => {
    const sftp = await startEmbeddedSftpForTests()
    try {
      await scenario(sftp, 'answer-half-written')
    } finally {
      await sftp.close()
    }
  }, 600_000)
})
