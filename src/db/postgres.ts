import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import { DatabaseError, isDriverError, namedQuery, queryName } from './database-error.ts'
import { encodeCopy, type Db, type Queryable, type QueryOptions, type QueryResult } from './db.ts'

/** Type parsers shared by both backends: dates stay `YYYY-MM-DD` strings, int8 becomes a JS number. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 1082) return (value: string) => value
    if (oid === 20) return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format)
  },
}

const names = new Map<string, string>()

/** A prepared statement's name: derived from its text, so one text always has one name on every connection. */
function statementName(text: string): string {
  let name = names.get(text)
  if (!name) {
    name = `s_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
    if (names.size < 10_000) names.set(text, name)
  }
  return name
}

/** How long a call waits for a pooled connection by default (PASSERELLE_DB_WAIT_SECONDS): 60 s. */
export const DEFAULT_DB_WAIT_MS = 60_000

/**
 * No pooled connection became free (or none could be opened) within the wait: every connection of the pool stayed
 * busy, or the server did not answer. Said instead of waiting for ever, so that a job holding more connections than
 * the pool has (the retention run of 2026-12-06 did) fails naming the cause rather than hanging silently.
 */
export class ConnectionWaitError extends Error {
  readonly code = 'connection_wait'
  constructor(waitMs: number, max: number) {
    super(`no database connection within ${waitMs / 1000} s: the pool's ${max} connections stayed busy, or the server did not answer (PASSERELLE_DB_WAIT_SECONDS)`)
    this.name = 'ConnectionWaitError'
  }
}

/** pg-pool's own words when connectionTimeoutMillis passes, waiting in its queue or opening a connection. */
const POOL_TIMEOUT = 'timeout exceeded when trying to connect'

function wrap(client: pg.PoolClient | pg.Pool, prepare = true, waited?: (error: unknown) => unknown): Queryable {
  const copyEncoded: Queryable['copyEncoded'] = async (copy) => {
    if (copy.rows === 0) return 0
    const run = (c: pg.PoolClient) =>
      namedQuery(queryName(copy.statement), async () => {
        const stream = c.query(copyFrom(copy.statement))
        await pipeline(Readable.from(copy.chunks), stream)
        return copy.rows
      })
    if (!(client instanceof pg.Pool)) return run(client)
    const c = await client.connect().catch((error: unknown) => {
      throw waited ? waited(error) : error
    })
    try {
      return await run(c)
    } finally {
      c.release()
    }
  }
  return {
    async query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      const result = await namedQuery(options?.name ?? queryName(text), async () => {
        try {
          return await (options?.prepare && prepare
            ? client.query({ name: statementName(text), text, values: params as unknown[] | undefined })
            : client.query(text, params as unknown[] | undefined))
        } catch (error) {
          throw waited ? waited(error) : error
        }
      })
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 }
    },
    async exec(script) {
      await namedQuery(queryName(script), () => client.query(script))
    },
    copyRows: (table, columns, rows) => copyEncoded(encodeCopy(table, columns, rows)),
    copyEncoded,
  }
}

/**
 * `prepare: false` ignores `QueryOptions.prepare`: for the embedded database reached through its owner's socket,
 * where every connection shares one backend, so a statement name prepared by one would clash on the next.
 * `waitMs`: how long a call waits for a pooled connection before failing with a ConnectionWaitError (default 60 s).
 */
export async function openPostgres(url: string, options: { max?: number; prepare?: boolean; waitMs?: number; sharedBackend?: boolean } = {}): Promise<Db> {
  const max = options.max ?? 10
  const waitMs = options.waitMs ?? DEFAULT_DB_WAIT_MS
  const pool = new pg.Pool({ connectionString: url, max, types, connectionTimeoutMillis: waitMs })
  // An idle client losing its server (restart, network) must not crash the process.
  pool.on('error', () => {})
  const prepare = options.prepare ?? true
  const waited = (error: unknown) => (error instanceof Error && error.message === POOL_TIMEOUT ? new ConnectionWaitError(waitMs, max) : error)
  // A checked-out connection that loses its server while idle between queries (a failover, a terminated backend
  // holding a job's advisory lock) emits 'error' on the client, and the pool listens only to idle clients: without
  // a listener of our own the process would die of an unhandled 'error' event. The next query on that connection
  // fails, and the connection is destroyed when given back.
  const ignoreLostConnection = () => {}
  const connect = async () => {
    const client = await pool.connect().catch((error: unknown) => {
      throw waited(error)
    })
    client.on('error', ignoreLostConnection)
    return client
  }
  const giveBack = (client: pg.PoolClient, destroy: Error | boolean | undefined) => {
    client.off('error', ignoreLostConnection)
    client.release(destroy)
  }
  const root = wrap(pool, prepare, waited)
  return {
    backend: 'postgres',
    sharedBackend: options.sharedBackend ?? false,
    ...root,
    async transaction(fn) {
      const client = await connect()
      let broken: Error | undefined
      try {
        await client.query('begin')
        const result = await fn(wrap(client, prepare))
        await client.query('commit')
        return result
      } catch (error) {
        try {
          await client.query('rollback')
        } catch (rollbackError) {
          broken = rollbackError as Error
        }
        // begin or commit failed: no parameters there, but the driver's error is still not passed on as is.
        throw isDriverError(error) ? new DatabaseError('transaction', error) : error
      } finally {
        giveBack(client, broken)
      }
    },
    async session(fn) {
      const client = await connect()
      try {
        return await fn(wrap(client, prepare))
      } finally {
        // A session may leave advisory locks behind if fn threw mid-way: never hand the connection back.
        giveBack(client, true)
      }
    },
    async close() {
      await pool.end()
    },
  }
}
