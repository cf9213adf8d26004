import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import ssh2 from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SftpSource } from '../../src/flows/flow.ts'
import { createLogger } from '../../src/log/logger.ts'
import { acknowledge } from '../../src/sftp/acknowledge.ts'
import { openSftpSession, type SftpSession } from '../../src/sftp/connect.ts'
import { downloadToStaging } from '../../src/sftp/download-to-staging.ts'
import { fingerprintOfPublicKeyLine } from '../../src/sftp/host-key.ts'
import { selectFiles } from '../../src/sftp/select-files.ts'
import { SftpError } from '../../src/sftp/sftp-error.ts'
import { startSftpForTests, type TestSftp } from '../helpers/sshd.ts'

// The pull's SFTP steps against a real OpenSSH sshd (the in-process server where sshd is missing).
describe('SFTP against OpenSSH', () => {
  let sftp: TestSftp
  let staging: string
  let session: SftpSession
  const logLines: string[] = []
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk))
        done()
      },
    }),
  })
  const ctx = (env: NodeJS.ProcessEnv = sftp.env(), retries = 2) => ({ flowId: 'caf-beneficiaires', env, retries, retryDelayMs: 20, log })
  const hourAgo = () => new Date(Date.now() - 3600_000)
  /** Creates `<root>/<sub>/<name>`, modified an hour ago by default. */
  const put = (sub: string, name: string, content: string | Buffer, modifiedAt: Date = hourAgo()) => {
    const file = path.join(sftp.root, sub, name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, content)
    fs.utimesSync(file, modifiedAt, modifiedAt)
    return file
  }
  const stagingFiles = (flowId = 'caf-beneficiaires') => {
    const dir = path.join(staging, flowId)
    return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []
  }

  beforeAll(async () => {
    sftp = await startSftpForTests()
    staging = fs.mkdtempSync(path.join(os.tmpdir(), 'passerelle-staging-'))
    session = await openSftpSession(sftp.source('depot'), ctx())
  })
  afterAll(async () => {
    await session?.close()
    await sftp?.close()
    if (staging) fs.rmSync(staging, { recursive: true, force: true })
    // Whatever happened above, no log line carried the client's private key.
    const keyBody = sftp?.privateKey.split('\n')[1]
    if (keyBody) expect(logLines.join('')).not.toContain(keyBody)
  })

  it('lists the regular files of a folder and selects the ones old enough to take', async () => {
    put('list', 'RSABEM_20250301.xml', '<a/>')
    put('list', 'RSABEI_20250302.xml', '<a/>', new Date())
    put('list', 'notes.txt', 'x')
    fs.mkdirSync(path.join(sftp.root, 'list', 'done'), { recursive: true })
    const listing = await session.list(sftp.remoteDir('list'))
    expect(listing.map((f) => f.name).sort()).toEqual(['RSABEI_20250302.xml', 'RSABEM_20250301.xml', 'notes.txt'])
    expect(listing.find((f) => f.name === 'notes.txt')).toMatchObject({ size: 1 })
    const selection = selectFiles(listing, { pattern: '^RSABE[MI]_\\d{8}\\.xml$', min_age_seconds: 120 }, new Date())
    expect(selection.ready.map((f) => f.name)).toEqual(['RSABEM_20250301.xml'])
    expect(selection.waiting.map((w) => [w.file.name, w.reason])).toEqual([['RSABEI_20250302.xml', 'too_recent']])
  })

  it('takes a file only once its ready marker is there', async () => {
    put('marker', 'inscriptions_20250301.csv', 'a;b\n')
    const source = { pattern: '.*\\.csv', min_age_seconds: 0, ready_marker_suffix: '.ok' }
    const before = selectFiles(await session.list(sftp.remoteDir('marker')), source, new Date())
    expect(before.ready).toEqual([])
    expect(before.waiting.map((w) => w.reason)).toEqual(['no_ready_marker'])
    put('marker', 'inscriptions_20250301.csv.ok', '')
    const after = selectFiles(await session.list(sftp.remoteDir('marker')), source, new Date())
    expect(after.ready.map((f) => f.name)).toEqual(['inscriptions_20250301.csv'])
  })

  it('downloads a file to staging with its size and sha256, leaving no .part behind', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17)
    put('download', 'RSABEM_big.xml', content)
    const [file] = await session.list(sftp.remoteDir('download'))
    const progress: number[] = []
    const staged = await downloadToStaging(session, file!, {
      flowId: 'caf-beneficiaires',
      remoteDir: sftp.remoteDir('download'),
      stagingDir: staging,
      retries: 2,
      retryDelayMs: 20,
      log,
      onProgress: (transferred) => progress.push(transferred),
    })
    expect(staged).toMatchObject({ status: 'staged', name: 'RSABEM_big.xml', size: content.length })
    if (staged.status !== 'staged') throw new Error('not staged')
    expect(staged.sha256).toBe(createHash('sha256').update(content).digest('hex'))
    expect(staged.localPath).toBe(path.join(staging, 'caf-beneficiaires', 'RSABEM_big.xml'))
    expect(fs.readFileSync(staged.localPath).equals(content)).toBe(true)
    expect(stagingFiles()).toEqual(['RSABEM_big.xml'])
    expect(Math.max(...progress)).toBe(content.length)
  })

  it('stages the copy readable by its owner only (mode 600), whatever the umask', async () => {
    put('private', 'RSABEM_private.xml', randomBytes(300_000))
    const [file] = await session.list(sftp.remoteDir('private'))
    const umask = process.umask(0)
    try {
      const staged = await downloadToStaging(session, file!, {
        flowId: 'private-flow',
        remoteDir: sftp.remoteDir('private'),
        stagingDir: staging,
        retries: 1,
        retryDelayMs: 20,
        log,
      })
      if (staged.status !== 'staged') throw new Error('not staged')
      expect((fs.statSync(staged.localPath).mode & 0o777).toString(8)).toBe('600')
      expect((fs.statSync(path.dirname(staged.localPath)).mode & 0o777).toString(8)).toBe('700')
    } finally {
      process.umask(umask)
    }
  })

  it('skips a file that grew after it was listed (still being written) and hands nothing over', async () => {
    const local = put('growing', 'RSABEI_growing.xml', randomBytes(200_000))
    const [file] = await session.list(sftp.remoteDir('growing'))
    fs.appendFileSync(local, randomBytes(100_000))
    const result = await downloadToStaging(session, file!, {
      flowId: 'growing-flow',
      remoteDir: sftp.remoteDir('growing'),
      stagingDir: staging,
      retries: 2,
      retryDelayMs: 20,
      log,
    })
    expect(result).toEqual({ status: 'unstable', name: 'RSABEI_growing.xml', reason: 'changed_during_download' })
    expect(stagingFiles('growing-flow')).toEqual([])
  })

  it('skips a file that disappeared after it was listed', async () => {
    const local = put('vanishing', 'RSABEI_gone.xml', 'x')
    const [file] = await session.list(sftp.remoteDir('vanishing'))
    fs.rmSync(local)
    const result = await downloadToStaging(session, file!, {
      flowId: 'vanishing-flow',
      remoteDir: sftp.remoteDir('vanishing'),
      stagingDir: staging,
      retries: 1,
      retryDelayMs: 20,
      log,
    })
    expect(result).toEqual({ status: 'unstable', name: 'RSABEI_gone.xml', reason: 'vanished' })
    expect(stagingFiles('vanishing-flow')).toEqual([])
  })

  const loaded = (sha256: string) => ({
    status: 'loaded' as const,
    fileId: 41,
    sha256,
    size: 4,
    recordsAccepted: 12,
    recordsRejected: 1,
    loadedAt: new Date('2025-03-10T02:31:00Z'),
  })
  const sha = 'ab'.repeat(32)

  it('uploads a local file by stream under a temporary name, then renames it over the target', async () => {
    const local = path.join(staging, 'extract-upload.csv')
    const content = Buffer.from(Array.from({ length: 120_000 }, (_, i) => `${i};ligne ${i % 97}\n`).join(''), 'utf8')
    fs.writeFileSync(local, content)
    const remote = sftp.remoteDir('depot/extracts')
    fs.mkdirSync(path.join(sftp.root, 'depot/extracts'), { recursive: true })
    put('depot/extracts', 'extract.csv', 'an older version')
    await session.upload(local, path.posix.join(remote, 'extract.csv'))
    const landed = fs.readFileSync(path.join(sftp.root, 'depot/extracts', 'extract.csv'))
    expect(landed.length).toBe(content.length)
    expect(createHash('sha256').update(landed).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'))
    // Nothing left under a temporary name.
    expect(fs.readdirSync(path.join(sftp.root, 'depot/extracts'))).toEqual(['extract.csv'])
  })

  it('writes an .ack and moves a loaded file (and its marker) to done/', async () => {
    put('ack', 'RSABEM_1.xml', '<a/>')
    put('ack', 'RSABEM_1.xml.ok', '')
    const source = sftp.source('ack', { ready_marker_suffix: '.ok' })
    const result = await acknowledge(session, { flowId: 'caf-beneficiaires', source, log }, 'RSABEM_1.xml', loaded(sha))
    const dir = path.join(sftp.root, 'ack')
    expect(fs.readdirSync(dir).sort()).toEqual(['RSABEM_1.xml.ack', 'done'])
    expect(fs.readdirSync(path.join(dir, 'done')).sort()).toEqual(['RSABEM_1.xml', 'RSABEM_1.xml.ok'])
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'RSABEM_1.xml.ack'), 'utf8'))).toEqual({
      flow: 'caf-beneficiaires',
      file: 'RSABEM_1.xml',
      status: 'loaded',
      file_id: '41',
      sha256: sha,
      size: 4,
      records: { accepted: 12, rejected: 1 },
      loaded_at: '2025-03-10T02:31:00.000Z',
    })
    expect(result).toEqual({ answer: sftp.remoteDir('ack/RSABEM_1.xml.ack'), movedTo: sftp.remoteDir('ack/done/RSABEM_1.xml'), alreadyGone: false })
  })

  it('writes a .nack with the reason and moves a rejected file to rejected/, replacing an older .ack', async () => {
    put('nack', 'RSABEM_2.xml', '<a>')
    put('nack', 'RSABEM_2.xml.ack', '{"status":"loaded"}')
    const reason = { code: 'truncated', message: 'file "RSABEM_2.xml": truncated after record 3 (no TransmissionFlux trailer)' }
    await acknowledge(session, { flowId: 'caf-beneficiaires', source: sftp.source('nack'), log }, 'RSABEM_2.xml', {
      status: 'rejected',
      sha256: sha,
      size: 3,
      reason,
      rejectedAt: new Date('2025-03-10T02:32:00Z'),
    })
    const dir = path.join(sftp.root, 'nack')
    expect(fs.readdirSync(dir).sort()).toEqual(['RSABEM_2.xml.nack', 'rejected'])
    expect(fs.readdirSync(path.join(dir, 'rejected'))).toEqual(['RSABEM_2.xml'])
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'RSABEM_2.xml.nack'), 'utf8'))).toMatchObject({ status: 'rejected', file_id: null, reason })
  })

  it('acknowledges again without failing after a crash between commit and acknowledgement', async () => {
    const source = sftp.source('rerun')
    const ackCtx = { flowId: 'caf-beneficiaires', source, log }
    // An earlier delivery under the same name already sits in done/.
    put('rerun', 'done/RSABEI_3.xml', 'earlier delivery')
    put('rerun', 'RSABEI_3.xml', '<b/>')
    // The crash left the .ack written but the file not moved yet (the answer is written first).
    put('rerun', 'RSABEI_3.xml.ack', '{"status":"loaded"}')
    const first = await acknowledge(session, ackCtx, 'RSABEI_3.xml', loaded(sha))
    expect(first.movedTo).toBe(sftp.remoteDir(`rerun/done/RSABEI_3.${sha.slice(0, 12)}.xml`))
    // And once more, as a rerun after a crash that followed the move.
    const second = await acknowledge(session, ackCtx, 'RSABEI_3.xml', loaded(sha))
    expect(second).toMatchObject({ movedTo: undefined, alreadyGone: true })
    const dir = path.join(sftp.root, 'rerun')
    expect(fs.readdirSync(dir).sort()).toEqual(['RSABEI_3.xml.ack', 'done'])
    expect(fs.readdirSync(path.join(dir, 'done')).sort()).toEqual([`RSABEI_3.${sha.slice(0, 12)}.xml`, 'RSABEI_3.xml'])
    expect(fs.readFileSync(path.join(dir, 'done', 'RSABEI_3.xml'), 'utf8')).toBe('earlier delivery')
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'RSABEI_3.xml.ack'), 'utf8'))).toMatchObject({ status: 'loaded', file_id: '41' })
  })

  it('deletes a loaded file when the flow says so', async () => {
    put('delete', 'stock_20250301.csv', 'a;b\n')
    const source: SftpSource = sftp.source('delete', { after_load: { action: 'delete', dir: 'done', ack: true } })
    const result = await acknowledge(session, { flowId: 'france-travail', source, log }, 'stock_20250301.csv', loaded(sha))
    expect(result).toMatchObject({ movedTo: undefined, alreadyGone: false })
    expect(fs.readdirSync(path.join(sftp.root, 'delete'))).toEqual(['stock_20250301.csv.ack'])
  })

  it('refuses a server whose host key is not the expected one, without retrying', async () => {
    const other = fingerprintOfPublicKeyLine(ssh2.utils.generateKeyPairSync('ed25519').public)
    const before = logLines.length
    const error = await openSftpSession(sftp.source('depot'), ctx({ ...sftp.env(), TEST_SFTP_HOST_KEY: other }, 3)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SftpError)
    expect((error as SftpError).kind).toBe('host_key')
    expect((error as SftpError).message).toContain(`presented host key ${sftp.hostKeyFingerprint}, which is not the expected ${other} (TEST_SFTP_HOST_KEY)`)
    expect(logLines.slice(before).join('')).not.toContain('retrying')
  })

  it('refuses a client key the server does not know, without retrying', async () => {
    const stranger = ssh2.utils.generateKeyPairSync('ed25519').private
    const before = logLines.length
    const error = await openSftpSession(sftp.source('depot'), ctx({ ...sftp.env(), TEST_SFTP_PRIVATE_KEY: stranger }, 3)).catch((e: unknown) => e)
    expect((error as SftpError).kind).toBe('auth')
    expect((error as SftpError).message).toContain('flow "caf-beneficiaires"')
    expect(logLines.slice(before).join('')).not.toContain('retrying')
  })

  it('names the missing environment variable when a source cannot be resolved', async () => {
    const { TEST_SFTP_PRIVATE_KEY: _, ...env } = sftp.env()
    await expect(openSftpSession(sftp.source('depot'), ctx(env))).rejects.toThrow(
      'flow "caf-beneficiaires": SFTP source cannot be used: environment variable TEST_SFTP_PRIVATE_KEY (source.private_key_env) is not set',
    )
  })

  it('retries a refused connection with backoff, then says where it could not connect', async () => {
    const closedPort = String(sftp.port === 1 ? 2 : 1)
    const before = logLines.length
    const error = await openSftpSession(sftp.source('depot'), ctx({ ...sftp.env(), TEST_SFTP_PORT: closedPort }, 2)).catch((e: unknown) => e)
    expect((error as SftpError).kind).toBe('connection')
    expect((error as SftpError).message).toContain(`flow "caf-beneficiaires": cannot connect to sftp://${sftp.user}@127.0.0.1:${closedPort} after 3 attempt(s)`)
    expect(logLines.slice(before).filter((line) => line.includes('sftp connection failed, retrying'))).toHaveLength(2)
  })
})
