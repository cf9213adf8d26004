import type { Keys } from '../crypto/keys.ts'
import { decryptNir } from '../crypto/nir-cipher.ts'
import type { CanonicalRecord } from '../purposes/project.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { FIELDS_BY_ID, type CanonicalField } from './fields.ts'

/**
 * Builds canonical records (field id → value) from the rows of dossiers, persons, dossier_members and
 * france_travail_registrations, reading only the columns a purpose declares. The record then goes through
 * `project(record, purpose)`, the only way data leaves.
 *
 * Queries select each declared field under its canonical id as the column alias (`p.nom as "personne.nom"`), so a
 * result row already is keyed by field ids; `canonicalRecordFromRow` normalises the values by field type.
 */
export type RecordTable = CanonicalField['table']

/** SQL aliases the record queries use for the canonical tables. */
export const TABLE_ALIASES: Readonly<Record<RecordTable, string>> = {
  persons: 'p',
  dossiers: 'd',
  dossier_members: 'dm',
  france_travail_registrations: 'ft',
  france_travail_orientations: 'fo',
}

const IDENT = /^[a-z_][a-z0-9_]*$/
const FIELD_ID = /^[a-zA-Z][a-zA-Z0-9]*\.[a-zA-Z][a-zA-Z0-9]*$/

/** The catalogue fields a purpose reads (omitted fields are not read), each once. */
export function purposeFields(purpose: Pick<Purpose, 'fields'>): CanonicalField[] {
  const seen = new Set<string>()
  const fields: CanonicalField[] = []
  for (const declared of purpose.fields) {
    if (declared.transform === 'omit' || seen.has(declared.field)) continue
    const field = FIELDS_BY_ID.get(declared.field)
    if (!field) throw new Error(`purpose field "${declared.field}" is not in the catalogue (src/model/fields.ts)`)
    seen.add(declared.field)
    fields.push(field)
  }
  return fields
}

/**
 * `alias.column as "field.id"` for each field of `tables`; identifiers come from the catalogue only and are
 * checked again here, values never appear in SQL text.
 */
export function selectFields(fields: readonly CanonicalField[], tables: readonly RecordTable[], alias?: (table: RecordTable) => string): string[] {
  return fields
    .filter((f) => tables.includes(f.table))
    .map((f) => {
      if (!IDENT.test(f.column) || !FIELD_ID.test(f.id)) throw new Error(`catalogue field ${f.id}: unsafe identifier`)
      return `${alias ? alias(f.table) : TABLE_ALIASES[f.table]}.${f.column} as "${f.id}"`
    })
}

/** A reference to an already-aliased field column (`dd."dossier.etatDroit"`). */
export function fieldRef(field: CanonicalField, relation: string): string {
  if (!FIELD_ID.test(field.id) || !IDENT.test(relation)) throw new Error(`catalogue field ${field.id}: unsafe identifier`)
  return `${relation}."${field.id}"`
}

/** The canonical record of one row: each declared field's value, normalised by type; NIRs decrypted. */
export function canonicalRecordFromRow(row: Readonly<Record<string, unknown>>, fields: readonly CanonicalField[], keys: Pick<Keys, 'nir'>): CanonicalRecord {
  const record: Record<string, unknown> = {}
  for (const field of fields) {
    record[field.id] = normalise(row[field.id], field, keys)
  }
  return record
}

function normalise(value: unknown, field: CanonicalField, keys: Pick<Keys, 'nir'>): unknown {
  if (value === null || value === undefined) return null
  switch (field.type) {
    case 'nir': {
      const sealed = Buffer.isBuffer(value) ? value : value instanceof Uint8Array ? Buffer.from(value) : undefined
      return sealed ? decryptNir(keys.nir, sealed) : null
    }
    case 'date':
      return value instanceof Date ? value.toISOString().slice(0, 10) : String(value)
    case 'integer':
      return typeof value === 'number' ? value : Number(value)
    case 'decimal':
      return typeof value === 'number' ? value.toFixed(2) : String(value)
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 't' || value === 'true'
    case 'text':
    case 'code':
      return String(value)
  }
}

/**
 * A state change (state_changes.field) as a catalogue field: dossier rows name a dossiers column (`etat_droit`),
 * France Travail rows `france_travail.<column>`; canonical ids are accepted as such.
 */
export function stateChangeField(name: string, onDossier: boolean): CanonicalField | undefined {
  const direct = FIELDS_BY_ID.get(name)
  if (direct) return direct
  const [table, column] = onDossier ? (['dossiers', name] as const) : (['france_travail_registrations', name.replace(/^france_travail\./, '')] as const)
  for (const field of FIELDS_BY_ID.values()) if (field.table === table && field.column === column) return field
  return undefined
}
