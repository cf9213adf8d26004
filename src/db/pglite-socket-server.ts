import type { PGlite } from '@electric-sql/pglite'
import { chmodSync, mkdirSync, rmSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { Turn } from './turn.ts'

/**
 * Serves the owner's PGlite over the PostgreSQL wire protocol on a Unix socket, `<socketDir>/.s.PGSQL.5432`,
 * so that CLI commands run beside `serve` reach the same database with the ordinary `pg` driver instead of
 * opening a second PGlite on the folder (whose writes would be lost).
 *
 * Written here rather than taken from `@electric-sql/pglite-socket` (0.2.x), whose queue hands the backend over
 * between connections at every message: two connections' extended-protocol exchanges (Parse … Sync) can
 * interleave outside a BEGIN block, and its queue does not see the owner's own in-process transactions. Here one
 * `Turn` is shared with the owner: a connection takes it at its first message and keeps it until the backend
 * reports idle (ReadyForQuery 'I'), so each transaction, and each implicit one, runs alone.
 *
 * Access control is the file system's: the socket folder is mode 0700 and the socket 0600, so only the user
 * running the owner may connect. There is no password (trust), as for a local PostgreSQL socket.
 */
export const SOCKET_PORT = 5432
export const SOCKET_FILE = `.s.PGSQL.${SOCKET_PORT}`

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
const PROTOCOL_3 = 196608

export interface PgliteSocketServer {
  socketPath: string
  /** Connections currently open. */
  connections(): number
  /** Stops accepting, ends every connection (rolling back its open transaction) and removes the socket. */
  close(): Promise<void>
}

/**
 * `idleInTransactionMs`: a connection holding the backend (in a transaction, or mid-exchange) that sends nothing
 * for this long is ended and its transaction rolled back, as PostgreSQL's idle_in_transaction_session_timeout.
 */
export async function servePgliteSocket(
  pglite: PGlite,
  turn: Turn,
  socketDir: string,
  options: { idleInTransactionMs?: number } = {},
): Promise<PgliteSocketServer> {
  mkdirSync(socketDir, { recursive: true, mode: 0o700 })
  chmodSync(socketDir, 0o700)
  const socketPath = path.join(socketDir, SOCKET_FILE)
  // A socket file left by a killed owner: the caller holds the owner lock, so nobody listens on it.
  rmSync(socketPath, { force: true })
  const open = new Set<Connection>()
  const server = net.createServer((socket) => {
    socket.unref()
    const connection = new Connection(pglite, turn, socket, () => open.delete(connection), options.idleInTransactionMs ?? 120_000)
    open.add(connection)
  })
  const previousMask = process.umask(0o177)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socketPath, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } finally {
    process.umask(previousMask)
  }
  chmodSync(socketPath, 0o600)
  // Serving others never keeps the owner alive by itself: an owner failing at start-up still exits.
  server.unref()
  return {
    socketPath,
    connections: () => open.size,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      await Promise.all([...open].map((c) => c.end()))
      await closed
      rmSync(socketPath, { force: true })
    },
  }
}

class Connection {
  #buffer = Buffer.alloc(0)
  #started = false
  #release: (() => void) | undefined
  #work: Promise<void> = Promise.resolve()
  #ended = false

  constructor(
    private readonly pglite: PGlite,
    private readonly turn: Turn,
    private readonly socket: net.Socket,
    private readonly onGone: () => void,
    private readonly idleInTransactionMs: number,
  ) {
    socket.on('data', (data) => {
      this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data])
      this.#work = this.#work.then(() => this.#drain()).catch(() => this.#fail())
    })
    socket.on('error', () => {})
    socket.on('close', () => void this.end())
  }

  /** Handles every complete message in the buffer, in order. */
  async #drain(): Promise<void> {
    while (!this.#ended) {
      if (!this.#started) {
        if (this.#buffer.length < 8) return
        const length = this.#buffer.readInt32BE(0)
        const code = this.#buffer.readInt32BE(4)
        if (length < 8 || length > 10_000) return this.#fail()
        if (this.#buffer.length < length) return
        const message = this.#take(length)
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N')
          continue
        }
        if (code === CANCEL_REQUEST) return this.#fail() // no backend to signal
        if (code !== PROTOCOL_3) return this.#fail()
        this.#started = true
        await this.#execute(message)
        continue
      }
      if (this.#buffer.length < 5) return
      const length = this.#buffer.readInt32BE(1)
      if (length < 4) return this.#fail()
      if (this.#buffer.length < length + 1) return
      const message = this.#take(length + 1)
      if (message[0] === 0x58 /* X: Terminate */) {
        // Not awaited: end() waits for this very drain to finish.
        void this.end()
        return
      }
      await this.#execute(message)
    }
  }

  #take(n: number): Buffer {
    const message = this.#buffer.subarray(0, n)
    this.#buffer = this.#buffer.subarray(n)
    return Buffer.from(message)
  }

  async #execute(message: Buffer): Promise<void> {
    clearTimeout(this.#idle)
    this.#release ??= await this.turn.acquire()
    // Ended meanwhile: end() rolls back what this connection left open, then gives the turn back.
    if (this.#ended) return
    const output = await this.#run(message)
    if (output.length > 0 && this.socket.writable) this.socket.write(output)
    const status = lastReadyStatus(output)
    // Idle again: the turn goes to whoever waits. In a transaction ('T', 'E') or mid-exchange: kept.
    if (status === 'I') this.#giveBack()
    // Holding the backend and silent (a client paused mid-transaction): everyone else waits, so not for long.
    else this.#idle = setTimeout(() => void this.end(), this.idleInTransactionMs)
  }

  #idle: NodeJS.Timeout | undefined

  /**
   * PGlite's raw protocol has no COPY FROM STDIN (the backend would wait for data it never gets, blocking the
   * process): the socket plays the CopyIn exchange itself, collects the rows and loads them as the in-process
   * backend does, `copy ... from '/dev/blob'`, in the connection's transaction if one is open.
   */
  async #run(message: Buffer): Promise<Uint8Array> {
    const type = message[0]
    if (this.#copy) {
      if (type === 0x64 /* d: CopyData */) {
        this.#copy.chunks.push(message.subarray(5))
        return new Uint8Array()
      }
      const copy = this.#copy
      this.#copy = undefined
      if (type === 0x63 /* c: CopyDone */) {
        try {
          const result = await this.pglite.query(`${copy.statement} from '/dev/blob'`, [], { blob: new Blob(copy.chunks) })
          return concat(commandComplete(`COPY ${result.affectedRows ?? 0}`), this.#ready(false))
        } catch (error) {
          return concat(errorResponse(error), this.#ready(true))
        }
      }
      if (type === 0x66 /* f: CopyFail */) return concat(errorResponse(new Error('COPY from stdin failed: the client gave up')), this.#ready(true))
      return concat(errorResponse(new Error('unexpected message during COPY from stdin')), this.#ready(true))
    }
    if (type === 0x51 /* Q */) {
      const text = message.subarray(5, message.length - 1).toString('utf8')
      const copy = /^\s*(copy\s+[a-z_][a-z0-9_.]*\s*\(([^)]*)\))\s+from\s+stdin\s*;?\s*$/i.exec(text)
      if (copy) {
        this.#copy = { statement: copy[1]!, chunks: [] }
        return copyInResponse(copy[2]!.split(',').length)
      }
    }
    return this.pglite.execProtocolRaw(new Uint8Array(message))
  }

  #copy: { statement: string; chunks: Buffer[] } | undefined

  /** ReadyForQuery after a COPY: in a transaction block, 'E' if the COPY failed (the block is aborted), else 'T'. */
  #ready(failed: boolean): Buffer {
    return readyForQuery(this.pglite.isInTransaction() ? (failed ? 'E' : 'T') : 'I')
  }

  #giveBack(): void {
    this.#release?.()
    this.#release = undefined
  }

  #fail(): void {
    void this.end()
  }

  /** Ends the connection; an exchange or transaction it left open is finished and rolled back first. */
  async end(): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#idle)
    this.socket.destroy()
    await this.#work.catch(() => {})
    if (this.#release) {
      try {
        // Close a pending extended-protocol exchange, then abandon any open transaction.
        await this.pglite.execProtocolRaw(new Uint8Array([0x53, 0, 0, 0, 4]))
        if (this.pglite.isInTransaction()) await this.pglite.execProtocolRaw(simpleQuery('rollback'))
      } catch {
        // The database is closing: nothing left to roll back into.
      }
      this.#giveBack()
    }
    this.onGone()
  }
}

/** The transaction status of the last ReadyForQuery ('Z') message in `output`, if any. */
export function lastReadyStatus(output: Uint8Array): 'I' | 'T' | 'E' | undefined {
  let status: 'I' | 'T' | 'E' | undefined
  let offset = 0
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength)
  while (offset + 5 <= output.length) {
    const type = output[offset]
    const length = view.getInt32(offset + 1)
    if (length < 4) break
    if (type === 0x5a && length === 5) status = String.fromCharCode(output[offset + 5]!) as 'I' | 'T' | 'E'
    offset += 1 + length
  }
  return status
}

function backendMessage(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeInt32BE(4 + body.length, 1)
  return Buffer.concat([head, body])
}

const cstring = (text: string) => Buffer.from(`${text}\0`, 'utf8')

function commandComplete(tag: string): Buffer {
  return backendMessage('C', cstring(tag))
}

function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  return backendMessage('Z', Buffer.from(status, 'latin1'))
}

function copyInResponse(columns: number): Buffer {
  const body = Buffer.alloc(3 + 2 * columns) // text format overall and for every column
  body.writeInt16BE(columns, 1)
  return backendMessage('G', body)
}

function errorResponse(error: unknown): Buffer {
  const e = error as { code?: string; message?: string; severity?: string }
  const fields = [
    Buffer.from('S'), cstring(e.severity ?? 'ERROR'),
    Buffer.from('V'), cstring(e.severity ?? 'ERROR'),
    Buffer.from('C'), cstring(e.code ?? 'XX000'),
    Buffer.from('M'), cstring(e.message ?? 'error'),
    Buffer.from([0]),
  ]
  return backendMessage('E', Buffer.concat(fields))
}

function concat(...parts: Buffer[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8')
  const message = Buffer.alloc(5 + text.length)
  message[0] = 0x51
  message.writeInt32BE(4 + text.length, 1)
  text.copy(message, 5)
  return new Uint8Array(message)
}
