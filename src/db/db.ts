/**
 * One small database interface, two backends: PostgreSQL through `pg` (when DATABASE_URL is set) and the
 * embedded PGlite. Every query in the code base goes through `Queryable.query` with `$n` parameters, so the
 * same SQL runs on both.
 */
export type Row = Record<string, unknown>

export interface QueryResult<R> {
  rows: R[]
  rowCount: number
}

export interface QueryOptions {
  /**
   * What a failure names the query (logs, errors): defaults to a stable identifier derived from its text
   * (`select persons #1a2b3c4d`, see queryName). Failures never carry the parameters (DatabaseError).
   */
  name?: string
  /**
   * Keep the statement prepared on the connection (PostgreSQL: a named statement, named after the text's hash),
   * so its plan is not rebuilt at every call. For hot queries whose text is built once (the API's lookups);
   * ignored by PGlite.
   */
  prepare?: boolean
}

export interface Queryable {
  /** Runs one statement. A failure is thrown as a DatabaseError: SQLSTATE, query name, identifiers; no values. */
  query<R = Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>
  /**
   * Bulk-loads rows with COPY ... FROM STDIN (text format). Values: null, string, number, boolean, bigint,
   * Date (ISO), Buffer (bytea). Returns the number of rows copied.
   */
  copyRows(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<number>
  /** Sends rows encoded beforehand by `encodeCopy` (so the encoding can overlap other work). Returns the row count. */
  copyEncoded(copy: EncodedCopy): Promise<number>
  /** Runs a script of several statements with no parameters (migrations only). */
  exec(script: string): Promise<void>
}

export type Backend = 'postgres' | 'pglite'

export interface Db extends Queryable {
  readonly backend: Backend
  /**
   * Every connection shares one embedded backend (PGlite, or its socket beside `serve`): a statement may wait for
   * another connection's transaction to end, and advisory locks are shared by all connections.
   */
  readonly sharedBackend?: boolean
  /** Runs `fn` in one transaction on one connection: commits if it resolves, rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
  /** Runs `fn` on one dedicated connection, e.g. to hold a session-level advisory lock. */
  session<T>(fn: (connection: Queryable) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** Rows already encoded in COPY text format, in chunks of about 1 MiB, ready to send (`Queryable.copyEncoded`). */
export interface EncodedCopy {
  /** `copy table (columns) from stdin` (identifiers checked). */
  readonly statement: string
  readonly chunks: readonly Buffer[]
  readonly rows: number
}

const COPY_CHUNK_CHARS = 1 << 20

/**
 * Encodes rows for COPY now, to send them later: one write per row costs more than encoding the row, so rows go
 * in chunks of about 1 MiB.
 */
export function encodeCopy(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): EncodedCopy {
  const statement = copyStatement(table, columns)
  const chunks: Buffer[] = []
  let chunk = ''
  for (const row of rows) {
    chunk += encodeCopyRow(row)
    if (chunk.length >= COPY_CHUNK_CHARS) {
      chunks.push(Buffer.from(chunk, 'utf8'))
      chunk = ''
    }
  }
  if (chunk.length > 0) chunks.push(Buffer.from(chunk, 'utf8'))
  return { statement, chunks, rows: rows.length }
}

/** Encodes one row in COPY text format (tab-separated, `\N` for null, backslash escapes). */
export function encodeCopyRow(values: readonly unknown[]): string {
  let line = ''
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t'
    line += encodeCopyValue(values[i])
  }
  return line + '\n'
}

function encodeCopyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N'
  if (typeof value === 'boolean') return value ? 't' : 'f'
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (value instanceof Date) return value.toISOString()
  if (Buffer.isBuffer(value)) return '\\\\x' + value.toString('hex')
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
}

export function copyStatement(table: string, columns: readonly string[]): string {
  const ident = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/
  if (!ident.test(table) || !columns.every((c) => ident.test(c))) {
    throw new Error(`copyRows: invalid identifier in ${table}(${columns.join(', ')})`)
  }
  return `copy ${table} (${columns.join(', ')}) from stdin`
}
