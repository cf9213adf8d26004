import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import SftpClient from 'ssh2-sftp-client'
import type { SftpSource } from '../../src/flows/flow.ts'
import { startEmbeddedSftpServer, type EmbeddedSftpServer } from '../../src/sftp/embedded-server.ts'
import { fingerprintOfPublicKeyLine } from '../../src/sftp/host-key.ts'

const run = promisify(execFile)

/** An SFTP server for one test file, with its own served folder. */
export interface TestSftp {
  kind: 'openssh' | 'embedded'
  host: string
  port: number
  user: string
  /** The client's private key (OpenSSH format). */
  privateKey: string
  /** `SHA256:...` of the server's host key. */
  hostKeyFingerprint: string
  /** Local path of the served folder: write fixtures here, check results here. */
  root: string
  /** The remote path that shows the local folder `<root>/<sub>` (absolute on OpenSSH, `/<sub>` on the embedded server). */
  remoteDir(sub: string): string
  /** The local path of a remote path returned by `remoteDir`. */
  localPath(remotePath: string): string
  /**
   * Variables for a flow source: `<PREFIX>_SFTP_HOST`, `_PORT`, `_USER`, `_PRIVATE_KEY`, `_HOST_KEY`, as the shipped
   * flows name them (`CAF`, `MSA`, `FT`); `TEST` by default, matching `source()`.
   */
  env(prefix?: string): Record<string, string>
  /** A flow source reading `TEST_SFTP_*` (see `env()`), with `remote_dir` = `remoteDir(sub)`; override any field. */
  source(sub: string, overrides?: Partial<SftpSource>): SftpSource
  /** The embedded server itself (fault injection), when `kind` is `embedded`. */
  embedded: EmbeddedSftpServer | undefined
  close(): Promise<void>
}

const SSHD = process.env.PASSERELLE_TEST_SSHD ?? '/usr/sbin/sshd'
const FALLBACK_NOTICE = '[passerelle tests] OpenSSH sshd not available: SFTP tests use the in-process ssh2 server'
let fallbackNoticePrinted = false

/**
 * A real OpenSSH sshd on a free loopback port when possible; otherwise (no sshd, cannot start it, or
 * `PASSERELLE_TEST_SFTP=embedded`) the in-process ssh2 server, saying so once.
 */
export async function startSftpForTests(): Promise<TestSftp> {
  if (process.env.PASSERELLE_TEST_SFTP !== 'embedded') {
    try {
      return await startOpenSshForTests()
    } catch (error) {
      if (process.env.PASSERELLE_TEST_SFTP === 'openssh') throw error
      if (!fallbackNoticePrinted) {
        fallbackNoticePrinted = true
        console.log(`${FALLBACK_NOTICE} (${(error as Error).message.split('\n')[0]})`)
      }
    }
  }
  return startEmbeddedSftpForTests()
}

/**
 * For the global setup: starts and stops one sshd to learn whether the SFTP tests will run against OpenSSH.
 * When they will not, it sets `PASSERELLE_TEST_SFTP=embedded` (inherited by the test workers, which then go straight
 * to the in-process server) and returns the notice to print once.
 */
export async function probeOpenSsh(): Promise<{ available: boolean; line: string }> {
  if (process.env.PASSERELLE_TEST_SFTP === 'embedded') {
    return { available: false, line: '[passerelle tests] PASSERELLE_TEST_SFTP=embedded: SFTP tests use the in-process ssh2 server' }
  }
  try {
    const sftp = await startOpenSshForTests()
    await sftp.close()
    return { available: true, line: `[passerelle tests] OpenSSH sshd available (${SSHD}): SFTP tests run against it` }
  } catch (error) {
    if (process.env.PASSERELLE_TEST_SFTP === 'openssh') throw error
    process.env.PASSERELLE_TEST_SFTP = 'embedded'
    fallbackNoticePrinted = true
    return { available: false, line: `${FALLBACK_NOTICE} (${(error as Error).message.split('\n')[0]})` }
  }
}

/** The in-process ssh2 server over a fresh folder (for fault injection, or when sshd is missing). */
export async function startEmbeddedSftpForTests(): Promise<TestSftp> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'passerelle-sftp-'))
  const root = path.join(base, 'root')
  const server = await startEmbeddedSftpServer({ root })
  return testSftp({
    kind: 'embedded',
    host: server.host,
    port: server.port,
    user: server.user,
    privateKey: server.privateKey,
    hostKeyFingerprint: server.hostKeyFingerprint,
    root: server.root,
    remoteDir: (sub) => path.posix.join('/', sub),
    localPath: (remotePath) => path.join(server.root, path.posix.normalize(path.posix.join('/', remotePath))),
    embedded: server,
    async close() {
      await server.close()
      await fs.rm(base, { recursive: true, force: true })
    },
  })
}

/**
 * A real OpenSSH sshd for one test file: generated ed25519 host and client keys, a free loopback port, public-key
 * login only, SFTP only (`ForceCommand internal-sftp`). It logs in as the current user (root in CI, hence
 * `PermitRootLogin prohibit-password`) without chroot: remote paths are the absolute local paths of the folder.
 */
export async function startOpenSshForTests(): Promise<TestSftp> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found (install openssh-server)`)
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'passerelle-sshd-'))
  try {
    const etc = path.join(base, 'etc')
    const root = path.join(base, 'root')
    await fs.mkdir(etc, { recursive: true })
    await fs.mkdir(root, { recursive: true })
    const hostKey = path.join(etc, 'host_ed25519')
    const clientKey = path.join(etc, 'client_ed25519')
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'passerelle-test-host', '-f', hostKey])
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'passerelle-test-client', '-f', clientKey])
    const authorizedKeys = path.join(etc, 'authorized_keys')
    await fs.copyFile(`${clientKey}.pub`, authorizedKeys)
    await fs.chmod(authorizedKeys, 0o600)
    const user = os.userInfo().username
    if (process.getuid?.() === 0) await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 })

    let lastError: Error | undefined
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort()
      const config = path.join(etc, 'sshd_config')
      const log = path.join(etc, `sshd-${port}.log`)
      await fs.writeFile(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKey}`,
          `PidFile ${path.join(etc, 'sshd.pid')}`,
          `AuthorizedKeysFile ${authorizedKeys}`,
          `AllowUsers ${user}`,
          'PermitRootLogin prohibit-password',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'Subsystem sftp internal-sftp',
          'ForceCommand internal-sftp',
          'AllowTcpForwarding no',
          'X11Forwarding no',
          'PermitTTY no',
          'MaxStartups 50',
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
      )
      await run(SSHD, ['-t', '-f', config])
      const child = spawn(SSHD, ['-D', '-f', config, '-E', log], { stdio: 'ignore' })
      try {
        await waitForBanner(child, port, log)
      } catch (error) {
        lastError = error as Error
        child.kill('SIGTERM')
        if (/address already in use/i.test(lastError.message)) continue
        throw lastError
      }
      const privateKey = await fs.readFile(clientKey, 'utf8')
      try {
        await checkLogin(port, user, privateKey, root)
      } catch (error) {
        await stop(child)
        const tail = await fs.readFile(log, 'utf8').then((text) => text.trim().split('\n').slice(-3).join('\n'), () => '')
        throw new Error(`sshd started but refused an SFTP login as ${user}: ${(error as Error).message}\n${tail}`)
      }
      const stopOnExit = () => child.kill('SIGTERM')
      process.once('exit', stopOnExit)
      const hostKeyFingerprint = fingerprintOfPublicKeyLine(await fs.readFile(`${hostKey}.pub`, 'utf8'))
      return testSftp({
        kind: 'openssh',
        host: '127.0.0.1',
        port,
        user,
        privateKey,
        hostKeyFingerprint,
        root,
        remoteDir: (sub) => path.join(root, sub),
        localPath: (remotePath) => remotePath,
        embedded: undefined,
        async close() {
          process.off('exit', stopOnExit)
          await stop(child)
          await fs.rm(base, { recursive: true, force: true })
        },
      })
    }
    throw lastError ?? new Error('sshd did not start')
  } catch (error) {
    await fs.rm(base, { recursive: true, force: true })
    throw error
  }
}

function testSftp(fields: Omit<TestSftp, 'env' | 'source'>): TestSftp {
  const result: TestSftp = {
    ...fields,
    env(prefix = 'TEST') {
      return {
        [`${prefix}_SFTP_HOST`]: fields.host,
        [`${prefix}_SFTP_PORT`]: String(fields.port),
        [`${prefix}_SFTP_USER`]: fields.user,
        [`${prefix}_SFTP_PRIVATE_KEY`]: fields.privateKey,
        [`${prefix}_SFTP_HOST_KEY`]: fields.hostKeyFingerprint,
      }
    },
    source(sub, overrides = {}) {
      return {
        host: '${TEST_SFTP_HOST}',
        port: '${TEST_SFTP_PORT}',
        user: '${TEST_SFTP_USER}',
        private_key_env: 'TEST_SFTP_PRIVATE_KEY',
        host_key_env: 'TEST_SFTP_HOST_KEY',
        remote_dir: fields.remoteDir(sub),
        pattern: '.*',
        min_age_seconds: 0,
        after_load: { action: 'move', dir: 'done', ack: true },
        after_reject: { dir: 'rejected', nack: true },
        ...overrides,
      }
    },
  }
  return result
}

/** One SFTP login and a listing of the served folder, so that a server that refuses us is found out here. */
async function checkLogin(port: number, user: string, privateKey: string, root: string): Promise<void> {
  const client = new SftpClient('passerelle-sshd-probe', {})
  try {
    await client.connect({ host: '127.0.0.1', port, username: user, privateKey, readyTimeout: 10_000 })
    await client.list(root)
  } finally {
    await client.end().catch(() => {})
  }
}

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Waits until sshd answers with its SSH banner; fails with the end of its log if it exits first. */
async function waitForBanner(child: ChildProcess, port: number, log: string): Promise<void> {
  let exited = false
  child.once('exit', () => (exited = true))
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (exited) break
    const banner = await readBanner(port).catch(() => undefined)
    if (banner?.startsWith('SSH-2.0-')) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const tail = await fs.readFile(log, 'utf8').then((text) => text.trim().split('\n').slice(-5).join('\n'), () => '')
  throw new Error(`sshd did not start on 127.0.0.1:${port}${exited ? ` (exit code ${child.exitCode})` : ''}\n${tail}`)
}

function readBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), 1000)
    socket.once('data', (data) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(data.toString('latin1'))
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve()
    }, 3000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
