import { PGlite, type Transaction } from '@electric-sql/pglite'
import { mkdirSync } from 'node:fs'
import { DatabaseError, isDriverError, namedQuery, queryName } from './database-error.ts'
import { encodeCopy, type Db, type Queryable, type QueryOptions, type QueryResult } from './db.ts'

/** Same type parsing as the pg backend: dates stay `YYYY-MM-DD` strings, int8 becomes a JS number. */
const parsers = {
  1082: (value: string) => value,
  20: (value: string) => Number(value),
}

function wrap(target: PGlite | Transaction): Queryable {
  const copyEncoded: Queryable['copyEncoded'] = async (copy) => {
    if (copy.rows === 0) return 0
    await namedQuery(queryName(copy.statement), () =>
      target.query(`${copy.statement.replace(/ from stdin$/, '')} from '/dev/blob'`, [], { blob: new Blob([...copy.chunks]) }),
    )
    return copy.rows
  }
  return {
    async query<R>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
      // PGlite attaches the query and its parameters to its errors: namedQuery throws a DatabaseError instead.
      const result = await namedQuery(options?.name ?? queryName(text), () => target.query<R>(text, params as unknown[] | undefined))
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length }
    },
    async exec(script) {
      await namedQuery(queryName(script), () => target.exec(script))
    },
    copyRows: (table, columns, rows) => copyEncoded(encodeCopy(table, columns, rows)),
    copyEncoded,
  }
}

/** Opens (and creates) the embedded database persisted under `dataDir`, or in memory when dataDir is undefined. */
export async function openPglite(dataDir: string | undefined): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true })
  const pglite = await PGlite.create(dataDir, { parsers })
  const root = wrap(pglite)
  return {
    backend: 'pglite',
    ...root,
    async transaction(fn) {
      try {
        return await pglite.transaction((tx) => fn(wrap(tx)))
      } catch (error) {
        // BEGIN, COMMIT or ROLLBACK failed (PGlite's error carries the statement): passed on without it.
        throw isDriverError(error) ? new DatabaseError('transaction', error) : error
      }
    },
    // One embedded connection: the session is the database itself.
    session: (fn) => fn(root),
    async close() {
      await pglite.close()
    },
  }
}
