import type { Keys } from '../crypto/keys.ts'
import { canonicalRecordFromRow } from '../model/canonical-records.ts'
import { FIELDS_BY_ID, type CanonicalField } from '../model/fields.ts'
import { project, type ProjectOptions } from '../purposes/project.ts'
import { exposedName, type Purpose, type PurposeField } from '../purposes/purpose.ts'

/**
 * The purpose's projection, applied column by column to a million rows (pure). `project(record, purpose)` is a
 * field-wise allow-list: each exposed value depends only on its own canonical field and the reference date (but a
 * consent-conditioned field, which also reads its consent: refused here, and never in a statistical purpose). So
 * each column is projected by `project()` itself — with the purpose narrowed to that one declared field — once
 * per distinct stored value, and the result is remembered: the same values leave as they would row by row
 * (test/unit/statistics-fieldwise-projection.test.ts checks it), without a million records built and dropped.
 * Raw values are normalised by `canonicalRecordFromRow` first, as for any exit.
 */
export interface ColumnProjection {
  /** The exposed column name. */
  column: string
  /** The canonical field id it reads (the population query's column alias). */
  fieldId: string
  /** The projected value of a raw stored value. */
  value(raw: unknown): unknown
}

/** A statistical purpose never declares the NIR (checkStatistics refuses it): reading one is a bug. */
const NO_NIR_KEY: Pick<Keys, 'nir'> = {
  get nir(): Buffer {
    throw new Error('a statistical extract never reads a NIR')
  },
}

export function columnProjection(purpose: Pick<Purpose, 'fields'>, column: string, options: ProjectOptions): ColumnProjection {
  const declared: PurposeField | undefined = purpose.fields.find((f) => f.transform !== 'omit' && exposedName(f) === column)
  if (!declared) throw new Error(`column "${column}" is not declared by the purpose`)
  // A consent-conditioned field depends on a second field (its consent): it cannot be projected on its own.
  if (declared.consent) throw new Error(`column "${column}" is conditioned on consent (${declared.consent.field}): it can only be projected row by row`)
  const field: CanonicalField | undefined = FIELDS_BY_ID.get(declared.field)
  if (!field) throw new Error(`purpose field "${declared.field}" is not in the catalogue (src/model/fields.ts)`)
  const narrowed = { fields: [declared] }
  const compute = (raw: unknown) => project(canonicalRecordFromRow({ [field.id]: raw }, [field], NO_NIR_KEY), narrowed, options)[column]
  const memo = new Map<unknown, unknown>()
  return {
    column,
    fieldId: field.id,
    value(raw) {
      // Only scalars are remembered (a Date or a Buffer is a new object on every row).
      if (raw !== null && typeof raw === 'object') return compute(raw)
      if (memo.has(raw)) return memo.get(raw)
      const value = compute(raw)
      if (memo.size < 1_000_000) memo.set(raw, value)
      return value
    },
  }
}
