import type { Queryable } from '../db/db.ts'
import { CANONICAL_FIELDS, type CanonicalField } from '../model/fields.ts'
import type { RetentionPolicy } from './policy.ts'

/** Which catalogue columns an archived row keeps, and the archive tables' columns as the database has them. */
export type CanonicalTable = CanonicalField['table']

const IDENT = /^[a-z_][a-z0-9_]*$/
export function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`retention: invalid SQL identifier "${name}"`)
  return name
}

/** Catalogue columns of a canonical table, and those that are row keys copied whatever the archive keeps. */
export function catalogueColumns(table: CanonicalTable): string[] {
  return CANONICAL_FIELDS.filter((f) => f.table === table).map((f) => f.column)
}

/** The catalogue columns an archived row of `policy` keeps, per table: key fields plus the archive's `keeps`. */
export function keptColumns(policy: RetentionPolicy): Map<CanonicalTable, Set<string>> {
  const keeps = new Set(policy.archive?.keeps ?? [])
  const kept = new Map<CanonicalTable, Set<string>>()
  for (const field of CANONICAL_FIELDS) {
    if (!kept.has(field.table)) kept.set(field.table, new Set())
    if (field.key || keeps.has(field.id)) kept.get(field.table)!.add(field.column)
  }
  return kept
}

/** Columns of the archive tables as the database has them (a field added later needs its archive column). */
export async function archiveTableColumns(db: Queryable): Promise<Map<string, Set<string>>> {
  const { rows } = await db.query<{ table_name: string; column_name: string }>(
    `select table_name, column_name
     from information_schema.columns
     where table_schema = 'archive'`,
  )
  const columns = new Map<string, Set<string>>()
  for (const row of rows) {
    if (!columns.has(row.table_name)) columns.set(row.table_name, new Set())
    columns.get(row.table_name)!.add(row.column_name)
  }
  return columns
}

/** `col` when kept, `null` otherwise, for an insert ... select from the active table aliased `src`. */
export function selectList(columns: string[], kept: Set<string>, src: string): string {
  return columns.map((c) => (kept.has(c) ? `${src}.${ident(c)}` : 'null')).join(', ')
}

