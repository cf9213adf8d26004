import { PGlite, type Transaction } from '@electric-sql/pglite'
import { mkdirSync } from 'node:fs'
import { DatabaseError, isDriverError, namedQuery, queryName } from './database-error.ts'
import { encodeCopy, type Db, type Queryable, type QueryOptions, type QueryResult } from './db.ts'
import { servePgliteSocket, type PgliteSocketServer } from './pglite-socket-server.ts'
import { Turn } from './turn.ts'

/** Same type parsing as the pg backend: dates stay `YYYY-MM-DD` strings, int8 becomes a JS number. */
const parsers = {
  1082: (value: string) => value,
  20: (value: string) => Number(value),
}

/** `turn`: taken around each call on the database itself (not inside a transaction, which holds it already). */
function wrap(target: PGlite | Transaction, turn?: Turn): Queryable {
  const exclusive = <T>(fn: () => Promise<T>) => (turn ? turn.run(fn) : fn())
  const copyEncoded: Queryable['copyEncoded'] = async (copy) => {
    if (copy.rows === 0) return 0
    await exclusive(() =>
      namedQuery(queryName(copy.statement), () =>
        target.query(`${copy.statement.replace(/ from stdin$/, '')} from '/dev/blob'`, [], { blob: new Blob([...copy.chunks]) }),
      ),
    )
    return copy.rows
  }
  return {
    async query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      // PGlite attaches the query and its parameters to its errors: namedQuery throws a DatabaseError instead.
      const result = await exclusive(() =>
        namedQuery(options?.name ?? queryName(text), () => target.query<R>(text, params as unknown[] | undefined)),
      )
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length }
    },
    async exec(script) {
      await exclusive(() => namedQuery(queryName(script), () => target.exec(script)))
    },
    copyRows: (table, columns, rows) => copyEncoded(encodeCopy(table, columns, rows)),
    copyEncoded,
  }
}

export interface PgliteDb extends Db {
  /** The Unix socket other processes reach this database through (when opened with `socketDir`). */
  readonly socketPath: string | undefined
}

/**
 * Opens (and creates) the embedded database persisted under `dataDir`, or in memory when dataDir is undefined.
 * With `socketDir`, also serves it over the PostgreSQL wire protocol on `<socketDir>/.s.PGSQL.5432` (the caller
 * must own the data folder: see open-database.ts).
 */
export async function openPglite(dataDir: string | undefined, options: { socketDir?: string } = {}): Promise<PgliteDb> {
  if (dataDir) mkdirSync(dataDir, { recursive: true })
  const pglite = await PGlite.create(dataDir, { parsers })
  // One backend for this process and the socket's connections: each statement or transaction runs alone.
  const turn = new Turn()
  let socket: PgliteSocketServer | undefined
  try {
    if (options.socketDir) socket = await servePgliteSocket(pglite, turn, options.socketDir)
  } catch (error) {
    await pglite.close()
    throw error
  }
  const root = wrap(pglite, turn)
  return {
    backend: 'pglite',
    sharedBackend: true,
    socketPath: socket?.socketPath,
    ...root,
    async transaction(fn) {
      try {
        return await turn.run(() => pglite.transaction((tx) => fn(wrap(tx))))
      } catch (error) {
        // BEGIN, COMMIT or ROLLBACK failed (PGlite's error carries the statement): passed on without it.
        throw isDriverError(error) ? new DatabaseError('transaction', error) : error
      }
    },
    // One embedded connection: the session is the database itself.
    session: (fn) => fn(root),
    async close() {
      await socket?.close()
      await turn.run(() => pglite.close())
    },
  }
}
