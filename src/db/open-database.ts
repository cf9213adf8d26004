import { createHash } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import type { Config } from '../config/config.ts'
import type { Db } from './db.ts'
import { describeCommand, ownerAlive, ownerLockPath, readOwner, tryAcquireOwner, type OwnerRecord } from './owner-lock.ts'
import { openPglite } from './pglite.ts'
import { SOCKET_FILE, SOCKET_PORT } from './pglite-socket-server.ts'
import { openPostgres } from './postgres.ts'

/**
 * Who opens the database: `serve` owns the embedded folder and shares it through a Unix socket; a CLI command
 * (`cli`) uses a running owner's socket, or owns the folder itself until it exits.
 */
export type DatabaseRole = 'serve' | 'cli'

export interface OpenDatabaseOptions {
  role?: DatabaseRole
  /** Told once, in words for the operator, when this process waits for the folder's owner. */
  onWait?: (message: string) => void
  /** How long to wait for a starting or stopping `serve` to open or close its socket (default 5 minutes). */
  socketWaitMs?: number
}

/** The embedded data folder is owned by another process which cannot be reached: nothing was opened. */
export class EmbeddedOwnerError extends Error {}

/** What a failed first connection means, by the driver's or the server's code (never the URL or its password). */
const CONNECT_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'nothing answers at its host and port (is PostgreSQL running?)',
  ENOTFOUND: 'its host name does not resolve',
  EAI_AGAIN: 'its host name could not be resolved now',
  ETIMEDOUT: 'its host did not answer in time',
  EHOSTUNREACH: 'its host cannot be reached',
  '3D000': 'the database it names does not exist',
  '28P01': 'the server refused the user or its password',
  '28000': 'the server refused the connection for this user (pg_hba.conf)',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'the server has no connection left',
}

function connectionErrorCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && (CONNECT_FAILURES[e.code] || /^[A-Z0-9]{5}$/.test(e.code) || /^E[A-Z_]+$/.test(e.code))) return e.code
  }
  return undefined
}

/**
 * PostgreSQL when DATABASE_URL is set, otherwise the embedded PGlite persisted under the data directory, which
 * exactly one process owns (the `pglite.owner` lock beside it):
 * - nobody owns it: this process does, until `close()` (`serve` also opens the socket other processes use);
 * - `serve` owns it: a CLI command connects through its socket with the `pg` driver; another `serve` refuses;
 * - a CLI command owns it: this process waits for it to finish (saying so once);
 * - the owner died (kill -9, power loss): its lock is stale and taken over.
 * Never two PGlite instances on one folder: the second one's writes would be lost.
 */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'dbWaitMs'>>, options: OpenDatabaseOptions = {}): Promise<Db> {
  if (config.databaseUrl) {
    const db = await openPostgres(config.databaseUrl, { waitMs: config.dbWaitMs })
    // A first round trip, so that a server that is down, a wrong host or database name says which setting to look at.
    try {
      await db.query('select 1')
    } catch (error) {
      await db.close().catch(() => {})
      const code = connectionErrorCode(error)
      throw new Error(`DATABASE_URL: cannot connect to the database: ${(code && CONNECT_FAILURES[code]) ?? 'see the cause below'}${code ? ` (${code})` : ''}`, { cause: error })
    }
    return db
  }
  return openEmbedded(config.dataDir, options, config.dbWaitMs)
}

async function openEmbedded(dataDir: string, options: OpenDatabaseOptions, waitMs: number | undefined): Promise<Db> {
  const role = options.role ?? 'cli'
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const lockPath = ownerLockPath(dataDir)
  const socketDir = socketDirFor(dataDir)
  const socketWaitMs = options.socketWaitMs ?? 300_000
  let told = false
  let socketMissingSince: number | undefined
  const wait = async (message: string) => {
    if (!told) options.onWait?.(message)
    told = true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  for (;;) {
    const attempt = tryAcquireOwner(lockPath, { role, command: describeCommand(), ...(role === 'serve' ? { socketDir } : {}) })
    if (attempt.acquired) {
      let db: Db
      try {
        db = await openPglite(path.join(dataDir, 'pglite'), role === 'serve' ? { socketDir } : {})
      } catch (error) {
        attempt.release()
        throw error
      }
      return {
        ...db,
        async close() {
          try {
            await db.close()
          } finally {
            attempt.release()
          }
        },
      }
    }
    const owner = attempt.owner
    if (role === 'serve' && owner.role === 'serve') {
      throw new EmbeddedOwnerError(
        `the embedded database in ${dataDir} is already served by ${ownerWords(owner)}. ` +
          `Only one process may own it: stop that one first (Ctrl-C in its terminal, or kill -TERM ${owner.pid}), ` +
          'or give this one another PASSERELLE_DATA_DIR',
      )
    }
    if (owner.role === 'cli' || !owner.socketDir) {
      await wait(`the embedded database in ${dataDir} is in use by ${ownerWords(owner)}: waiting for it to finish`)
      continue
    }
    const socketPath = path.join(owner.socketDir, SOCKET_FILE)
    if (!existsSync(socketPath)) {
      // The owner is starting (its socket is not open yet) or stopping (closed already): wait, not forever.
      socketMissingSince ??= Date.now()
      if (Date.now() - socketMissingSince > socketWaitMs) throw unreachable(dataDir, owner, socketPath)
      await wait(`the embedded database in ${dataDir} is owned by ${ownerWords(owner)}, which is starting or stopping: waiting`)
      continue
    }
    const db = await openPostgres(socketUrl(owner.socketDir), { max: 4, prepare: false, waitMs, sharedBackend: true })
    try {
      await db.query('select 1')
      return db
    } catch (error) {
      await db.close().catch(() => {})
      // It may have stopped between our reading its lock and connecting: look again.
      const now = readOwner(lockPath)
      if (!now || !ownerAlive(now) || now.pid !== owner.pid || !existsSync(socketPath)) continue
      throw unreachable(dataDir, owner, socketPath, error)
    }
  }
}

function unreachable(dataDir: string, owner: OwnerRecord, socketPath: string, cause?: unknown): EmbeddedOwnerError {
  return new EmbeddedOwnerError(
    `the embedded database in ${dataDir} is owned by ${ownerWords(owner)}, but its socket ${socketPath} does not answer` +
      `${cause ? ` (${(cause as Error).message})` : ''}. Nothing was written. Check that process: if it hangs, stop it ` +
      `(kill -TERM ${owner.pid}) and run this command again`,
    { cause },
  )
}

function ownerWords(owner: OwnerRecord): string {
  return `pid ${owner.pid} (${owner.command}, started ${owner.startedAt})`
}

/** `postgresql://` URL of the owner's socket (the `pg` driver finds `.s.PGSQL.<port>` in the folder given as host). */
export function socketUrl(socketDir: string): string {
  return `postgresql://postgres@/postgres?host=${encodeURIComponent(socketDir)}&port=${SOCKET_PORT}`
}

/**
 * `<dataDir>/socket`, mode 0700. A Unix socket path has at most 107 bytes: under a deeper data folder, a private
 * folder of the system's temporary directory named after the data folder stands in.
 */
export function socketDirFor(dataDir: string): string {
  const inside = path.join(dataDir, 'socket')
  if (Buffer.byteLength(path.join(inside, SOCKET_FILE)) <= 100) return inside
  const digest = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16)
  return path.join(tmpdir(), `passerelle-${userInfo().uid}-${digest}`)
}
