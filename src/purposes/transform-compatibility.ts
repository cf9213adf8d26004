import type { CanonicalField, FieldId } from '../model/fields.ts'
import type { Transform } from './purpose.ts'

/** Catalogue fields holding a French postcode or an INSEE commune code: what `postcode-to-departement` reads. */
export const POSTCODE_FIELD_IDS: ReadonlySet<string> = new Set<FieldId>(['adresse.codePostal'])
export const COMMUNE_CODE_FIELD_IDS: ReadonlySet<string> = new Set<FieldId>(['adresse.codeInsee', 'franceTravail.codeInsee'])

/**
 * Whether a transform makes sense on a catalogue field; the reason when it does not. `year` and `age-band` read
 * dates, `postcode-to-departement` a postcode or an INSEE commune code, `truncate` text.
 */
export function transformIncompatibility(transform: Transform, field: CanonicalField): string | undefined {
  switch (transform) {
    case 'keep':
    case 'omit':
      return undefined
    case 'year':
    case 'age-band':
      return field.type === 'date' ? undefined : `"${transform}" reads a date, and ${field.id} is of type ${field.type} (use it on a date field)`
    case 'postcode-to-departement':
      return POSTCODE_FIELD_IDS.has(field.id) || COMMUNE_CODE_FIELD_IDS.has(field.id)
        ? undefined
        : `"postcode-to-departement" reads a postcode or an INSEE commune code, and ${field.id} is neither (known: ${[...POSTCODE_FIELD_IDS, ...COMMUNE_CODE_FIELD_IDS].join(', ')})`
    case 'truncate':
      return ['text', 'code', 'nir', 'date'].includes(field.type)
        ? undefined
        : `"truncate" cuts text, and ${field.id} is of type ${field.type} (use it on text, code, nir or date fields)`
  }
}
