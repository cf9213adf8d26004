import { createHash } from 'node:crypto'

/**
 * What a failing query may tell: its SQLSTATE code, a name for the query, and the identifiers PostgreSQL names
 * (constraint, table, column, type). Never its parameters, nor the fields of PostgreSQL's error that quote values:
 * `detail` ("Key (nir_index)=(...) already exists"), `where`, `internalQuery`, `hint`, the failing row, nor the
 * message of a data exception (`invalid input syntax for type date: "..."`). Both backends throw this error in place
 * of the driver's (pg adds nothing; PGlite attaches the query text and its parameters to its errors). The driver's
 * error is deliberately not kept as `cause`: anything printing the cause (util.inspect, a logger's default error
 * serializer) would print the values.
 */
export class DatabaseError extends Error {
  /** SQLSTATE (e.g. 23505), or the driver's code (ECONNREFUSED) when the error did not come from the server. */
  readonly code: string | undefined
  /** The query's name (QueryOptions.name) or a stable identifier derived from its text (queryName). */
  readonly queryName: string
  readonly constraint: string | undefined
  readonly table: string | undefined
  readonly column: string | undefined
  readonly dataType: string | undefined

  constructor(queryName: string, source: unknown) {
    const fields = (source ?? {}) as Record<string, unknown>
    const code = typeof fields.code === 'string' ? fields.code : undefined
    super(`query ${queryName} failed: ${safeDescription(source)}`)
    this.name = 'DatabaseError'
    this.code = code
    this.queryName = queryName
    this.constraint = identifier(fields.constraint)
    this.table = identifier(fields.table)
    this.column = identifier(fields.column)
    this.dataType = identifier(fields.dataType)
  }
}

const SQLSTATE = /^[0-9A-Z]{5}$/

/**
 * SQLSTATE classes whose messages name only objects of the schema or of the SQL text (constraint, relation,
 * column, syntax), never a value: integrity (23, e.g. `duplicate key value violates unique constraint "x"` — the
 * key itself is in `detail`), syntax and access (42), transaction states (25, 40), resources and operator
 * intervention (53, 55, 57), connection (08), feature not supported (0A). Any other class (22, data exceptions,
 * quotes the offending input) is described by its code and condition name only.
 */
const MESSAGE_SAFE_CLASSES = new Set(['23', '42', '25', '40', '53', '55', '57', '08', '0A'])

const CONDITIONS: Record<string, string> = {
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22012': 'division_by_zero',
  '22021': 'character_not_in_repertoire',
  '22023': 'invalid_parameter_value',
  '22P02': 'invalid_text_representation',
  '22P05': 'untranslatable_character',
  '22004': 'null_value_not_allowed',
  '22026': 'string_data_length_mismatch',
  '2200N': 'invalid_xml_content',
  '22030': 'duplicate_json_object_key_value',
  '22032': 'invalid_json_text',
  'P0001': 'raise_exception',
  'XX000': 'internal_error',
}

function safeDescription(source: unknown): string {
  const fields = (source ?? {}) as Record<string, unknown>
  const code = typeof fields.code === 'string' ? fields.code : undefined
  const message = source instanceof Error ? source.message : typeof fields.message === 'string' ? fields.message : ''
  if (code && SQLSTATE.test(code)) {
    if (MESSAGE_SAFE_CLASSES.has(code.slice(0, 2)) && message) return `${clip(message)} (SQLSTATE ${code})`
    return `${CONDITIONS[code] ?? `error of class ${code.slice(0, 2)}`} (SQLSTATE ${code})`
  }
  // Not from the server (a lost connection, a closed pool): the driver's message, which carries no parameter;
  // cut at the first quote or colon-and-quote all the same.
  const name = source instanceof Error ? source.name : 'error'
  return `${name}${code ? ` ${code}` : ''}: ${clip(message.split(/: ?["']/)[0] ?? '')}`
}

const clip = (text: string) => (text.length > 300 ? `${text.slice(0, 297)}...` : text)

function identifier(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_ ."()]{0,127}$/.test(value) ? value : undefined
}

const derivedNames = new Map<string, string>()

/**
 * A stable name for a query: its verb, the first table it names, and a short digest of its text, e.g.
 * `insert persons #3fa2c1d0`. The same text always has the same name, across processes and restarts.
 */
export function queryName(text: string): string {
  let name = derivedNames.get(text)
  if (name) return name
  const sql = text.replace(/--[^\n]*/g, ' ').replace(/\s+/g, ' ').trim().toLowerCase()
  const verb = /^[a-z]+/.exec(sql)?.[0] ?? 'sql'
  const table = /\b(?:from|into|update|table|join)\s+([a-z_][a-z0-9_.]*)/.exec(sql)?.[1]
  name = `${verb}${table ? ` ${table}` : ''} #${createHash('sha256').update(text).digest('hex').slice(0, 8)}`
  if (derivedNames.size < 10_000) derivedNames.set(text, name)
  return name
}

/** Runs a database call; any error it throws becomes a DatabaseError naming the query (and nothing else). */
export async function namedQuery<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw error instanceof DatabaseError ? error : new DatabaseError(name, error)
  }
}

/** True for an error shaped like PostgreSQL's (pg, PGlite): it may carry values in several of its fields. */
export function isDriverError(error: unknown): boolean {
  if (!error || typeof error !== 'object' || error instanceof DatabaseError) return false
  const e = error as Record<string, unknown>
  // pg's and PGlite's DatabaseError both carry a SQLSTATE and a severity; PGlite adds the query and its parameters.
  // Application errors (a FileRejection has a `detail`) are not driver errors.
  return (typeof e.code === 'string' && SQLSTATE.test(e.code) && typeof e.severity === 'string') || ('params' in e && 'query' in e)
}
