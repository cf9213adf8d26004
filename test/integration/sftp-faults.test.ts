import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import SftpClient from 'ssh2-sftp-client'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log/logger.ts'
import { acknowledge } from '../../src/sftp/acknowledge.ts'
import { openSftpSession, type SftpSession } from '../../src/sftp/connect.ts'
import { downloadToStaging } from '../../src/sftp/download-to-staging.ts'
import type { EmbeddedSftpServer } from '../../src/sftp/embedded-server.ts'
import { SftpError } from '../../src/sftp/sftp-error.ts'
import { startEmbeddedSftpForTests, type TestSftp } from '../helpers/sshd.ts'

// Connection faults and confinement, on the in-process server (which can cut a connection mid-read on demand).
describe('SFTP faults (embedded ssh2 server)', () => {
  let sftp: TestSftp
  let server: EmbeddedSftpServer
  let staging: string
  let session: SftpSession
  const log = createLogger({ level: 'silent' })
  const content = randomBytes(2 * 1024 * 1024 + 3)
  const sha256 = createHash('sha256').update(content).digest('hex')
  const downloadContext = (flowId: string, retries: number) => ({
    flowId,
    remoteDir: sftp.remoteDir('depot'),
    stagingDir: staging,
    retries,
    retryDelayMs: 10,
    log,
  })
  const stagingFiles = (flowId: string) => (fs.existsSync(path.join(staging, flowId)) ? fs.readdirSync(path.join(staging, flowId)) : [])

  beforeAll(async () => {
    sftp = await startEmbeddedSftpForTests()
    server = sftp.embedded!
    staging = fs.mkdtempSync(path.join(os.tmpdir(), 'passerelle-staging-'))
    fs.mkdirSync(path.join(sftp.root, 'depot'))
    fs.writeFileSync(path.join(sftp.root, 'depot', 'RSABEM_cut.xml'), content)
    const old = new Date(Date.now() - 3600_000)
    fs.utimesSync(path.join(sftp.root, 'depot', 'RSABEM_cut.xml'), old, old)
    session = await openSftpSession(sftp.source('depot'), { flowId: 'caf-beneficiaires', env: sftp.env(), retries: 3, retryDelayMs: 10, log })
  })
  beforeEach(() => {
    server.faults.cutAfterBytes = undefined
    server.faults.cutConnections = undefined
    server.stats.cuts = 0
  })
  afterAll(async () => {
    await session?.close()
    await sftp?.close()
    if (staging) fs.rmSync(staging, { recursive: true, force: true })
  })

  it('retries a download cut mid-transfer on a new connection and stages the whole file', async () => {
    const [file] = await session.list(sftp.remoteDir('depot'))
    const connectionsBefore = server.stats.connections
    server.faults.cutAfterBytes = 512 * 1024
    server.faults.cutConnections = 1
    const staged = await downloadToStaging(session, file!, downloadContext('cut-once', 3))
    expect(staged).toMatchObject({ status: 'staged', size: content.length, sha256 })
    expect(server.stats.cuts).toBe(1)
    expect(server.stats.connections).toBeGreaterThan(connectionsBefore)
    expect(stagingFiles('cut-once')).toEqual(['RSABEM_cut.xml'])
    expect(fs.readFileSync(path.join(staging, 'cut-once', 'RSABEM_cut.xml')).equals(content)).toBe(true)
  })

  it('gives up after the retries with an error naming the flow and the file, leaving nothing in staging', async () => {
    const [file] = await session.list(sftp.remoteDir('depot'))
    server.faults.cutAfterBytes = 256 * 1024
    const error = await downloadToStaging(session, file!, downloadContext('cut-always', 2)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SftpError)
    expect((error as SftpError).message).toContain('flow "cut-always": download of "RSABEM_cut.xml" failed after 3 attempt(s)')
    expect(server.stats.cuts).toBe(3)
    expect(stagingFiles('cut-always')).toEqual([])
  })

  it('reconnects by itself for the next operation after a connection was lost', async () => {
    server.faults.cutAfterBytes = 64 * 1024
    server.faults.cutConnections = 1
    const partial = path.join(staging, 'direct.part')
    await expect(session.download(sftp.remoteDir('depot/RSABEM_cut.xml'), partial, content.length)).rejects.toMatchObject({ kind: 'connection' })
    const listing = await session.list(sftp.remoteDir('depot'))
    expect(listing.map((f) => f.name)).toContain('RSABEM_cut.xml')
    fs.rmSync(partial, { force: true })
  })

  it('ends a download at once when the session is closed (shutdown), leaving nothing in staging', async () => {
    const own = await openSftpSession(sftp.source('depot'), { flowId: 'closing', env: sftp.env(), retries: 3, retryDelayMs: 10, log })
    const [file] = await own.list(sftp.remoteDir('depot'))
    let closing: Promise<void> | undefined
    const result = downloadToStaging(own, file!, {
      ...downloadContext('closing', 3),
      onProgress: () => (closing ??= own.close()),
    })
    await expect(result).rejects.toThrow('flow "closing": download of "RSABEM_cut.xml" failed: the SFTP session was closed')
    await closing
    expect(stagingFiles('closing')).toEqual([])
  })

  it('acknowledges twice over a server without atomic rename', async () => {
    fs.writeFileSync(path.join(sftp.root, 'depot', 'RSABEI_ack.xml'), '<a/>')
    const outcome = { status: 'loaded' as const, fileId: 7, sha256, size: 4, recordsAccepted: 1, recordsRejected: 0, loadedAt: new Date() }
    const ctx = { flowId: 'caf-beneficiaires', source: sftp.source('depot'), log }
    await acknowledge(session, ctx, 'RSABEI_ack.xml', outcome)
    const again = await acknowledge(session, ctx, 'RSABEI_ack.xml', { ...outcome, fileId: 8 })
    expect(again.alreadyGone).toBe(true)
    expect(JSON.parse(fs.readFileSync(path.join(sftp.root, 'depot', 'RSABEI_ack.xml.ack'), 'utf8')).file_id).toBe('8')
    expect(fs.readdirSync(path.join(sftp.root, 'depot')).filter((name) => name.startsWith('.'))).toEqual([])
  })

  describe('confinement to the served folder', () => {
    let outside: string
    let raw: SftpClient
    beforeAll(async () => {
      outside = fs.mkdtempSync(path.join(os.tmpdir(), 'passerelle-outside-'))
      fs.writeFileSync(path.join(outside, 'secret.txt'), 'not for sftp clients')
      fs.mkdirSync(path.join(sftp.root, 'jail'))
      fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(sftp.root, 'jail', 'link-to-file'))
      fs.symlinkSync(outside, path.join(sftp.root, 'jail', 'link-to-dir'))
      fs.symlinkSync(path.join(outside, 'planted.txt'), path.join(sftp.root, 'jail', 'dangling'))
      raw = new SftpClient('confinement-test', {})
      await raw.connect({ host: sftp.host, port: sftp.port, username: sftp.user, privateKey: sftp.privateKey })
    })
    afterAll(async () => {
      await raw?.end()
      fs.rmSync(outside, { recursive: true, force: true })
    })

    it('resolves .. at the served root, never above it', async () => {
      expect(await raw.realPath('/../../..')).toBe('/')
      const listing = (await raw.list('/../../../')).map((entry) => entry.name).sort()
      expect(listing).toEqual(fs.readdirSync(sftp.root).sort())
      await expect(raw.get('/../../../etc/hostname')).rejects.toThrow(/No such file/)
    })

    it('serves the root itself: / is a folder (lstat), and mkdir -p creates a folder right under it', async () => {
      expect(await raw.exists('/')).toBe('d')
      await raw.mkdir('/depot-top/sub', true)
      expect(fs.statSync(path.join(sftp.root, 'depot-top', 'sub')).isDirectory()).toBe(true)
      // The root stays where it is: it cannot be renamed or removed.
      await expect(raw.rename('/', '/moved-root')).rejects.toThrow()
      await expect(raw.rmdir('/')).rejects.toThrow()
      expect(fs.statSync(sftp.root).isDirectory()).toBe(true)
    })

    it('does not follow symbolic links that lead outside', async () => {
      await expect(raw.get('/jail/link-to-file')).rejects.toThrow()
      await expect(raw.list('/jail/link-to-dir')).rejects.toThrow()
      await expect(raw.put(Buffer.from('planted'), '/jail/link-to-dir/planted.txt')).rejects.toThrow()
      await expect(raw.put(Buffer.from('planted'), '/jail/dangling')).rejects.toThrow()
      await expect(raw.rename('/jail/link-to-file', '/jail/link-to-dir/moved')).rejects.toThrow()
      await expect(raw.mkdir('/jail/link-to-dir/newdir')).rejects.toThrow()
      expect(fs.readdirSync(outside)).toEqual(['secret.txt'])
      expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('not for sftp clients')
    })

    it('refuses a key it does not know', async () => {
      const { utils } = (await import('ssh2')).default
      const stranger = new SftpClient('stranger', {})
      await expect(
        stranger.connect({ host: sftp.host, port: sftp.port, username: sftp.user, privateKey: utils.generateKeyPairSync('ed25519').private }),
      ).rejects.toThrow(/authentication/i)
      await stranger.end().catch(() => {})
    })
  })
})
