import type { Queryable } from '../db/db.ts'
import { CANONICAL_FIELDS, type CanonicalField } from '../model/fields.ts'
import { CANONICAL_TABLES } from './stored-fields.ts'

/** Columns of the canonical tables in the current schema, per table (what `passerelle check --database` compares). */
export async function canonicalSchemaColumns(db: Queryable): Promise<Map<string, Set<string>>> {
  const { rows } = await db.query<{ table_name: string; column_name: string }>(
    `select table_name, column_name
     from information_schema.columns
     where table_schema = current_schema()
       and table_name = any($1::text[])
     order by table_name, ordinal_position`,
    [CANONICAL_TABLES],
  )
  const columns = new Map<string, Set<string>>()
  for (const row of rows) {
    if (!columns.has(row.table_name)) columns.set(row.table_name, new Set())
    columns.get(row.table_name)!.add(row.column_name)
  }
  return columns
}

/**
 * For each catalogue field (non-key by default), how many rows hold a value: one count per column, one scan per
 * table. Only counts leave the database, never a value.
 */
export async function countStoredValues(
  db: Queryable,
  fields: readonly CanonicalField[] = CANONICAL_FIELDS.filter((f) => !f.key),
  existing?: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const ident = /^[a-z_][a-z0-9_]*$/
  for (const table of CANONICAL_TABLES) {
    const of = fields.filter((f) => f.table === table && (!existing || existing.get(table)?.has(f.column)))
    if (of.length === 0) continue
    // Identifiers come from the catalogue (code, not input); checked all the same before use.
    if (!ident.test(table) || !of.every((f) => ident.test(f.column))) throw new Error(`countStoredValues: invalid identifier in ${table}`)
    const { rows } = await db.query<Record<string, string | number>>(
      `select ${of.map((f, i) => `count(${f.column}) as c${i}`).join(', ')}
       from ${table}`,
    )
    of.forEach((f, i) => counts.set(f.id, Number(rows[0]?.[`c${i}`] ?? 0)))
  }
  return counts
}
