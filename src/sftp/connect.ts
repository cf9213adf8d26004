import { createReadStream } from 'node:fs'
import { stat as statLocal } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import SftpClient from 'ssh2-sftp-client'
import type { DeclaredSftpEndpoint } from './sftp-endpoint.ts'
import type { Logger } from '../log/logger.ts'
import { backoffDelay, sleep } from './backoff.ts'
import { fingerprintOfKeyBlob } from './host-key.ts'
import { resolveSftpSource, type SftpEndpoint } from './resolve-source.ts'
import { SftpError } from './sftp-error.ts'

/** A regular file in a remote directory listing. */
export interface RemoteFile {
  name: string
  size: number
  /** Second precision (SFTP v3). */
  modifiedAt: Date
}

export interface DownloadOptions {
  /** Called as bytes arrive (fastGet reads chunks in parallel: `transferred` grows, not always in order). */
  onProgress?: (transferred: number, total: number) => void
}

/**
 * One flow's conversation with its SFTP server. Metadata operations (list, stat, exists, rename, mkdirp, writeText,
 * remove) reconnect and retry by themselves on a connection fault, with bounded backoff. `download` makes one
 * attempt (on a fresh connection if the previous one was lost) and throws an `SftpError` whose `retryable` says
 * whether to try again: the caller (`downloadToStaging`) cleans up and looks at the file again between attempts.
 */
export interface SftpSession {
  /** Regular files of a directory (no directories, no symlinks). */
  list(remoteDir: string): Promise<RemoteFile[]>
  /** A regular file's size and time, `undefined` when it does not exist (or is not a regular file). */
  stat(remotePath: string): Promise<RemoteFile | undefined>
  exists(remotePath: string): Promise<boolean>
  /** fastGet to `localPath`, then checks the size and computes the sha256 of the local copy. */
  download(remotePath: string, localPath: string, expectedSize: number, options?: DownloadOptions): Promise<{ size: number; sha256: string }>
  /** Fails if `to` exists (SFTP v3 semantics, as OpenSSH). */
  rename(from: string, to: string): Promise<void>
  mkdirp(remoteDir: string): Promise<void>
  /** Writes UTF-8 text under a temporary hidden name in the same directory, then renames it over `remotePath`. */
  writeText(remotePath: string, text: string): Promise<void>
  /** Streams a local file the same way (temporary name, then rename): memory stays flat whatever its size. */
  upload(localPath: string, remotePath: string): Promise<void>
  /** Removes a file; a missing file is not an error. */
  remove(remotePath: string): Promise<void>
  /** Ends the connection; an operation in flight (a download on shutdown) fails and is not retried. */
  close(): Promise<void>
}

export interface SftpSessionContext {
  flowId: string
  env: NodeJS.ProcessEnv
  /** Further attempts after a connection fault (config `PASSERELLE_SFTP_RETRIES`). */
  retries: number
  /** Base of the exponential backoff (config `PASSERELLE_SFTP_RETRY_DELAY_MS`). */
  retryDelayMs: number
  log: Logger
  /** Handshake timeout, default 20 s. */
  readyTimeoutMs?: number
}

/**
 * Resolves a flow's source against `ctx.env` (throws `SftpError` kind `config` naming the missing variables),
 * then connects, retrying connection faults with exponential backoff and jitter. Authentication failures and a
 * host key that does not match the configured fingerprint are never retried.
 */
export async function openSftpSession(source: DeclaredSftpEndpoint, ctx: SftpSessionContext): Promise<SftpSession> {
  const endpoint = resolveSftpSource(source, ctx.flowId, ctx.env)
  if (!endpoint.hostKeyFingerprints) {
    ctx.log.warn({ flowId: ctx.flowId, host: endpoint.host, port: endpoint.port }, 'sftp host key not checked: the flow declares no host_key_env')
  }
  const session = new ClientSession(endpoint, ctx, source.host_key_env)
  await session.connect()
  return session
}

const CONNECTION_FAULT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'ERR_NOT_CONNECTED',
])
const CONNECTION_FAULT_MESSAGE = /unexpected (end|close) event|no sftp connection|not connected|timed out while waiting for handshake|no response from server|connection lost|socket|channel/i

class ClientSession implements SftpSession {
  private client: SftpClient | undefined
  private connected = false
  private closed = false
  private readonly where: string

  constructor(
    private readonly endpoint: SftpEndpoint,
    private readonly ctx: SftpSessionContext,
    private readonly hostKeyVariable: string | undefined,
  ) {
    this.where = `sftp://${endpoint.username}@${endpoint.host}:${endpoint.port}`
  }

  /** Connects, with bounded retries on connection faults. */
  async connect(): Promise<void> {
    const { flowId, retries, retryDelayMs, log } = this.ctx
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connectOnce()
        if (attempt > 0) log.info({ flowId, attempt }, 'sftp connected after retry')
        return
      } catch (error) {
        const failure = this.classifyConnectError(error)
        if (!failure.retryable || attempt >= retries) {
          if (failure.kind !== 'connection' || this.closed) throw failure
          throw new SftpError('connection', `flow "${flowId}": cannot connect to ${this.where} after ${attempt + 1} attempt(s): ${failure.message}`, {
            cause: error,
            code: failure.code,
            exhausted: true,
          })
        }
        const pause = backoffDelay(attempt, retryDelayMs)
        log.warn({ flowId, attempt: attempt + 1, retries, pauseMs: pause, code: failure.code }, 'sftp connection failed, retrying')
        await sleep(pause)
      }
    }
  }

  private hostKeySeen: string | undefined
  private hostKeyRejected = false

  private async connectOnce(): Promise<void> {
    if (this.closed) throw new SftpError('connection', `flow "${this.ctx.flowId}": the SFTP session was closed`, { exhausted: true })
    await this.dropClient()
    const { log, flowId } = this.ctx
    const markLost = (event: string) => () => {
      if (this.connected) log.debug({ flowId, event }, 'sftp connection lost')
      this.connected = false
    }
    const client = new SftpClient(`passerelle:${flowId}`, {
      error: (error) => {
        log.debug({ flowId, code: (error as { code?: string }).code }, 'sftp connection error')
        this.connected = false
      },
      end: markLost('end'),
      close: markLost('close'),
    })
    // Permanent listeners: the library's own are swapped around each call.
    client.on('close', markLost('close'))
    client.on('end', markLost('end'))
    client.on('error', markLost('error'))
    this.client = client
    this.hostKeySeen = undefined
    this.hostKeyRejected = false
    const expected = this.endpoint.hostKeyFingerprints
    await client.connect({
      host: this.endpoint.host,
      port: this.endpoint.port,
      username: this.endpoint.username,
      privateKey: this.endpoint.privateKey,
      passphrase: this.endpoint.passphrase,
      password: this.endpoint.password,
      readyTimeout: this.ctx.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        const seen = fingerprintOfKeyBlob(key)
        this.hostKeySeen = seen
        if (!expected) return true
        const ok = expected.includes(seen)
        this.hostKeyRejected = !ok
        return ok
      },
    })
    this.connected = true
    log.debug({ flowId, hostKey: this.hostKeySeen }, 'sftp connected')
  }

  private classifyConnectError(error: unknown): SftpError {
    if (error instanceof SftpError) return error
    const { flowId } = this.ctx
    const message = (error as Error)?.message ?? String(error)
    const code = (error as { code?: string })?.code
    if (this.hostKeyRejected) {
      const variable = this.hostKeyVariable ?? 'host_key_env'
      return new SftpError(
        'host_key',
        `flow "${flowId}": ${this.where} presented host key ${this.hostKeySeen}, which is not the expected ${this.endpoint.hostKeyFingerprints!.join(' or ')} (${variable}): refusing to connect`,
        { cause: error },
      )
    }
    if (/authentication methods failed/i.test(message)) {
      return new SftpError('auth', `flow "${flowId}": ${this.where} refused the credentials (check the user and the key or password variables)`, {
        cause: error,
        code,
      })
    }
    if (/cannot parse privatekey|passphrase|unsupported key|privatekey/i.test(message)) {
      return new SftpError('config', `flow "${flowId}": the private key cannot be used: ${message}`, { cause: error, code })
    }
    return new SftpError('connection', stripPrefix(message), { cause: error, code })
  }

  private async dropClient(): Promise<void> {
    const old = this.client
    this.client = undefined
    this.connected = false
    if (old) await old.end().catch(() => {})
  }

  private connecting: Promise<void> | undefined

  /** The live client, reconnecting first if the connection was lost (one reconnection for concurrent callers). */
  private async ready(): Promise<SftpClient> {
    if (!this.client || !this.connected) {
      this.connecting ??= this.connect().finally(() => (this.connecting = undefined))
      await this.connecting
    }
    return this.client!
  }

  private isConnectionFault(error: unknown): boolean {
    if (!this.connected) return true
    const code = (error as { code?: unknown })?.code
    if (typeof code === 'string' && CONNECTION_FAULT_CODES.has(code)) return true
    return CONNECTION_FAULT_MESSAGE.test((error as Error)?.message ?? '')
  }

  /** Runs an idempotent-enough metadata operation, reconnecting and retrying on connection faults. */
  private async withRetries<T>(what: string, remotePath: string, run: (client: SftpClient) => Promise<T>): Promise<T> {
    const { flowId, retries, retryDelayMs, log } = this.ctx
    for (let attempt = 0; ; attempt++) {
      const client = await this.ready()
      try {
        return await this.abortable(run(client))
      } catch (error) {
        if (this.closed) throw error
        if (!this.isConnectionFault(error)) throw this.remoteError(what, remotePath, error)
        this.connected = false
        if (attempt >= retries) {
          throw new SftpError('connection', `flow "${flowId}": ${what} ${remotePath} failed: connection lost ${attempt + 1} time(s)`, {
            cause: error,
            code: codeOf(error),
            exhausted: true,
          })
        }
        const pause = backoffDelay(attempt, retryDelayMs)
        log.warn({ flowId, operation: what, attempt: attempt + 1, retries, pauseMs: pause }, 'sftp connection lost, retrying')
        await sleep(pause)
      }
    }
  }

  private remoteError(what: string, remotePath: string, error: unknown): SftpError {
    if (error instanceof SftpError) return error
    return new SftpError('remote', `flow "${this.ctx.flowId}": ${what} ${remotePath} failed: ${stripPrefix((error as Error)?.message ?? String(error))}`, {
      cause: error,
      code: codeOf(error),
    })
  }

  async list(remoteDir: string): Promise<RemoteFile[]> {
    const entries = await this.withRetries('list', remoteDir, (client) => client.list(remoteDir))
    return entries
      .filter((entry) => entry.type === '-')
      .map((entry) => ({ name: entry.name, size: entry.size, modifiedAt: new Date(entry.modifyTime) }))
  }

  async stat(remotePath: string): Promise<RemoteFile | undefined> {
    return this.withRetries('stat', remotePath, async (client) => {
      try {
        const stats = await client.stat(remotePath)
        if (!stats.isFile) return undefined
        return { name: path.posix.basename(remotePath), size: stats.size, modifiedAt: new Date(stats.modifyTime) }
      } catch (error) {
        if (codeOf(error) === 'ENOENT') return undefined
        throw error
      }
    })
  }

  async exists(remotePath: string): Promise<boolean> {
    const type = await this.withRetries('exists', remotePath, (client) => client.exists(remotePath))
    return type !== false
  }

  async download(remotePath: string, localPath: string, expectedSize: number, options: DownloadOptions = {}): Promise<{ size: number; sha256: string }> {
    const { flowId } = this.ctx
    const client = await this.ready()
    try {
      // 64 parallel reads of 128 KiB: 2-3x the default 32 KiB chunks over loopback from OpenSSH (whose packets
      // carry up to 256 KiB). A server that announces no larger reads (no limits@openssh.com) gets chunks of its own
      // read size: ssh2 would split a bigger chunk into sequential reads, so nothing would reach the disk until a
      // quarter of the file had crossed the network.
      await this.abortable(client.fastGet(remotePath, localPath, {
        concurrency: 64,
        chunkSize: downloadChunkSize(client),
        ...(options.onProgress ? { step: (transferred: number, _chunk: number, total: number) => options.onProgress!(transferred, total) } : {}),
      }))
    } catch (error) {
      if (this.closed) throw error instanceof SftpError ? error : new SftpError('connection', `flow "${flowId}": the SFTP session was closed`, { exhausted: true })
      if (this.isConnectionFault(error)) {
        this.connected = false
        throw new SftpError('connection', `flow "${flowId}": download of ${remotePath} interrupted: connection lost`, { cause: error, code: codeOf(error) })
      }
      throw this.remoteError('download', remotePath, error)
    }
    const { size } = await statLocal(localPath)
    if (size !== expectedSize) {
      throw new SftpError('size_mismatch', `flow "${flowId}": download of ${remotePath} brought ${size} bytes, the listing said ${expectedSize}`)
    }
    const hash = createHash('sha256')
    await pipeline(createReadStream(localPath, { highWaterMark: 1 << 20 }), hash)
    return { size, sha256: hash.digest('hex') }
  }

  async rename(from: string, to: string): Promise<void> {
    await this.withRetries('rename', from, (client) => client.rename(from, to))
  }

  async mkdirp(remoteDir: string): Promise<void> {
    await this.withRetries('mkdir', remoteDir, (client) => client.mkdir(remoteDir, true))
  }

  async writeText(remotePath: string, text: string): Promise<void> {
    await this.putAtomically('write', remotePath, (client, temp) => client.put(Buffer.from(text, 'utf8'), temp))
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    await this.putAtomically('upload', remotePath, (client, temp) => client.fastPut(localPath, temp))
  }

  /** Writes under a temporary hidden name in the same directory, then renames it over `remotePath`. */
  private async putAtomically(what: string, remotePath: string, put: (client: SftpClient, temp: string) => Promise<unknown>): Promise<void> {
    const dir = path.posix.dirname(remotePath)
    const temp = path.posix.join(dir, `.${path.posix.basename(remotePath)}.${randomBytes(4).toString('hex')}.tmp`)
    await this.withRetries(what, remotePath, async (client) => {
      await put(client, temp)
      try {
        // Atomic replace where the server offers it (OpenSSH's posix-rename extension).
        await client.posixRename(temp, remotePath)
      } catch (error) {
        if (!/does not support/i.test((error as Error)?.message ?? '')) {
          await client.delete(temp, true).catch(() => {})
          throw error
        }
        // A server without the extension: plain SFTP rename refuses to overwrite, so make room first.
        await client.delete(remotePath, true)
        await client.rename(temp, remotePath)
      }
    })
  }

  async remove(remotePath: string): Promise<void> {
    await this.withRetries('remove', remotePath, (client) => client.delete(remotePath, true))
  }

  async close(): Promise<void> {
    this.closed = true
    // ssh2-sftp-client ignores the end of a connection it was asked to end: settle what is in flight ourselves.
    const closedError = new SftpError('connection', `flow "${this.ctx.flowId}": the SFTP session was closed`, { exhausted: true })
    for (const abort of this.inflight) abort(closedError)
    this.inflight.clear()
    await this.dropClient()
  }

  private readonly inflight = new Set<(error: Error) => void>()

  /** The operation's promise, rejected early if the session is closed meanwhile. */
  private abortable<T>(operation: Promise<T>): Promise<T> {
    let abort!: (error: Error) => void
    const aborted = new Promise<never>((_resolve, reject) => (abort = reject))
    this.inflight.add(abort)
    return Promise.race([operation, aborted]).finally(() => this.inflight.delete(abort))
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code
  return typeof code === 'string' ? code : typeof code === 'number' ? String(code) : undefined
}

/** The download chunk: 128 KiB, or the largest read the server accepts in one request when that is smaller. */
function downloadChunkSize(client: SftpClient): number {
  const maxRead = (client as unknown as { sftp?: { _maxReadLen?: unknown } }).sftp?._maxReadLen
  return typeof maxRead === 'number' && maxRead > 0 ? Math.min(131_072, maxRead) : 131_072
}

/** ssh2-sftp-client prefixes messages with the names of its internal functions ("getConnection: ", "_fastGet->"). */
function stripPrefix(message: string): string {
  return message.replace(/^(?:[A-Za-z_]+(?::\s*|->))+/, '')
}
