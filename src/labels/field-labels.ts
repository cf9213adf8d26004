import { FIELDS_BY_ID, type CanonicalField, type FieldId } from '../model/fields.ts'
import type { Transform } from '../purposes/purpose.ts'
import { codeLabel, codeListOf } from './code-labels.ts'
import { euros, frenchDate } from './french-format.ts'

/**
 * How a field reads once it has left through a purpose's transform: a postcode reduced to the département is a
 * « Département », a birth date reduced to the year an « Année de naissance », not the canonical field's label.
 */
const YEAR_LABELS: Record<string, string> = {
  'personne.dateNaissance': 'Année de naissance',
  'dossier.dateDemande': 'Année de la demande',
} satisfies Partial<Record<FieldId, string>>

export function exposedLabel(fieldId: string, transform: Transform, length?: number): string {
  const field = FIELDS_BY_ID.get(fieldId)
  const label = field?.label ?? fieldId
  switch (transform) {
    case 'postcode-to-departement':
      return 'Département'
    case 'year':
      return YEAR_LABELS[fieldId] ?? `${label} (année)`
    case 'age-band':
      return `Tranche d'âge de ${length ?? 10} ans`
    case 'truncate':
      return `${label} (${length ?? '?'} premiers caractères)`
    case 'keep':
    case 'omit':
      return label
  }
}

/** `2 — Droit ouvert et versable`; a code the catalogue does not know stays as it came. */
export function codeWithLabel(fieldId: string, code: string): string {
  const list = codeListOf(fieldId)
  const label = list ? codeLabel(list, code) : undefined
  return label ? `${code} — ${label}` : code
}

/**
 * A stored or projected value as French text, given the canonical field it comes from: codes with their label,
 * amounts in euros, booleans as oui/non, dates as DD/MM/YYYY. Null is « — ».
 */
export function frenchFieldValue(fieldId: string | undefined, value: unknown, transform: Transform = 'keep'): string {
  if (value === null || value === undefined || value === '') return '—'
  if (typeof value === 'boolean') return value ? 'oui' : 'non'
  const field: CanonicalField | undefined = fieldId ? FIELDS_BY_ID.get(fieldId) : undefined
  const text = String(value)
  if (field && transform === 'keep') {
    if (field.type === 'code') return codeWithLabel(field.id, text)
    if (field.type === 'decimal') return euros(text)
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return frenchDate(text)
  return text
}
