import { DeclarationError } from '../declarations/declaration-error.ts'
import { CANONICAL_FIELDS, isFieldId, KEY_FIELD_IDS, type CanonicalField, type FieldId } from '../model/fields.ts'
import type { Purpose } from './purpose.ts'

/**
 * Minimisation at ingestion: the canonical fields Passerelle stores are the union of the fields the purposes
 * declare (whatever their transform, `omit` included: the purpose uses them inside Passerelle) and the key
 * fields needed for matching, provenance and retention. Every other catalogue column is left NULL by the loader.
 */
export type Purposes = ReadonlyMap<string, Pick<Purpose, 'id' | 'fields'>> | Iterable<Pick<Purpose, 'id' | 'fields'>>

export type CanonicalTable = CanonicalField['table']

/**
 * Columns of the canonical tables that are not catalogue fields: row identity, provenance, matching keys derived
 * with a secret key (blind indexes), transmission bookkeeping. The loader fills them whatever the purposes declare;
 * none holds a clear personal value.
 */
export const BOOKKEEPING_COLUMNS: Readonly<Record<CanonicalTable, readonly string[]>> = {
  dossiers: ['id', 'public_id', 'flow_id', 'transmission_state', 'not_transmitted_since', 'state_as_of', 'file_id', 'transmitted_at', 'created_at', 'updated_at'],
  persons: ['id', 'public_id', 'match_key', 'nir_index', 'identity_index', 'file_id', 'transmitted_at', 'created_at', 'updated_at'],
  dossier_members: ['dossier_id', 'person_id', 'file_id', 'transmitted_at'],
  france_travail_registrations: ['id', 'person_key', 'flow_id', 'transmission_state', 'not_transmitted_since', 'file_id', 'transmitted_at', 'created_at', 'updated_at'],
  // Provenance of an orientation read from the partner API: the call and its time (the retention anchor).
  france_travail_orientations: ['person_id', 'call_id', 'read_at'],
}

export const CANONICAL_TABLES = Object.keys(BOOKKEEPING_COLUMNS) as CanonicalTable[]

/** Canonical field ids Passerelle stores: every declared field plus KEY_FIELD_IDS. Throws on an unknown field id. */
export function storedFieldIds(purposes: Purposes): ReadonlySet<FieldId> {
  const ids = new Set<FieldId>(KEY_FIELD_IDS)
  const unknown: string[] = []
  for (const purpose of purposeList(purposes)) {
    for (const field of purpose.fields) {
      if (isFieldId(field.field)) ids.add(field.field)
      else unknown.push(`purpose "${purpose.id}": fields: unknown canonical field "${field.field}" (run passerelle check)`)
    }
  }
  if (unknown.length > 0) throw new DeclarationError(unknown)
  return ids
}

/**
 * The catalogue columns the loader fills, per table: the columns of storedFieldIds. Bookkeeping columns
 * (BOOKKEEPING_COLUMNS) are not included; every table appears, possibly with only its key columns.
 */
export function storedColumns(purposes: Purposes): Map<CanonicalTable, Set<string>> {
  return columnsOf(storedFieldIds(purposes))
}

/** The catalogue columns of `stored`, per table (every table appears). */
export function columnsOf(stored: ReadonlySet<FieldId>): Map<CanonicalTable, Set<string>> {
  const columns = new Map<CanonicalTable, Set<string>>(CANONICAL_TABLES.map((t) => [t, new Set<string>()]))
  for (const field of CANONICAL_FIELDS) {
    if (stored.has(field.id)) columns.get(field.table)!.add(field.column)
  }
  return columns
}

/** Catalogue fields that no purpose declares and that are not keys: received, never stored. */
export function unstoredFields(purposes: Purposes): CanonicalField[] {
  const stored = storedFieldIds(purposes)
  return CANONICAL_FIELDS.filter((f) => !stored.has(f.id))
}

function purposeList(purposes: Purposes): Iterable<Pick<Purpose, 'id' | 'fields'>> {
  return purposes instanceof Map ? purposes.values() : (purposes as Iterable<Pick<Purpose, 'id' | 'fields'>>)
}
