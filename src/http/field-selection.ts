import { purposeFields } from '../model/canonical-records.ts'
import type { CanonicalField } from '../model/fields.ts'
import { exposedName, type Purpose, type PurposeField } from '../purposes/purpose.ts'

/**
 * Some of a purpose's fields, chosen by the caller (`champs=nom,prenom,etatDroit` on the beneficiaries' routes):
 * a partner listing a portfolio, or the console's portfolio table, reads and receives only those, so a page of 50
 * costs a few columns instead of every field of the purpose. A selection narrows the purpose, never widens it: a
 * name the purpose does not expose is refused.
 */
export interface FieldSelection {
  /** What is projected: the chosen declarations, in the purpose's order. */
  purpose: Pick<Purpose, 'fields'>
  /** What is read: the chosen fields and the consent fields they depend on. */
  read: readonly CanonicalField[]
  /** The chosen exposed names (sorted), for the audit event; undefined when the whole purpose is served. */
  names: string[] | undefined
}

/** Distinct selections kept per purpose; beyond that the cache starts again (any caller may send any subset). */
const MAX_CACHED = 256
const cache = new WeakMap<Purpose, Map<string, FieldSelection>>()

/**
 * The selection `champs` names (comma-separated exposed names), or the whole purpose when `champs` is undefined;
 * `{ unknown }` counts the names the purpose does not expose (not echoed: a name is the caller's free text).
 */
export function fieldSelection(
  purpose: Purpose,
  champs: string | undefined,
  fieldsOf: (purpose: Purpose) => readonly CanonicalField[],
): FieldSelection | { unknown: number } {
  if (champs === undefined) return { purpose, read: fieldsOf(purpose), names: undefined }
  const names = [...new Set(champs.split(','))].sort()
  const key = names.join(',')
  let byKey = cache.get(purpose)
  const cached = byKey?.get(key)
  if (cached) return cached
  const exposed = new Map<string, PurposeField>()
  for (const declared of purpose.fields) if (declared.transform !== 'omit') exposed.set(exposedName(declared), declared)
  const unknown = names.filter((name) => !exposed.has(name)).length
  if (unknown > 0) return { unknown }
  const chosen = new Set(names.map((name) => exposed.get(name)!))
  const fields = purpose.fields.filter((declared) => chosen.has(declared))
  const read = [...purposeFields({ fields })]
  // A consent is read exactly when the whole purpose reads it, so a selection never lets out what the whole record
  // would withhold.
  const whole = fieldsOf(purpose)
  for (const declared of fields) {
    const consent = declared.consent && whole.find((f) => f.id === declared.consent!.field)
    if (consent && !read.includes(consent)) read.push(consent)
  }
  const selection: FieldSelection = { purpose: { fields }, read, names }
  if (!byKey || byKey.size >= MAX_CACHED) cache.set(purpose, (byKey = new Map()))
  byKey.set(key, selection)
  return selection
}
