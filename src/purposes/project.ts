import { exposedName, type Purpose, type PurposeField } from './purpose.ts'

/**
 * A canonical record: canonical field id (src/model/fields.ts) → value. Whatever it holds, `project` lets out
 * only what the purpose declares, transformed as declared. It is the only way personal data leaves Passerelle
 * (API, extracts, data-subject exports).
 */
export type CanonicalRecord = Readonly<Record<string, unknown>>
export type Projected = Record<string, unknown>

export interface ProjectOptions {
  /** Reference date for age bands (defaults to today). */
  asOf?: Date
}

export function project(record: CanonicalRecord, purpose: Pick<Purpose, 'fields'>, options: ProjectOptions = {}): Projected {
  const out: Projected = {}
  for (const { name, field, assignable } of outputsOf(purpose.fields)) {
    const value = Object.prototype.hasOwnProperty.call(record, field.field) && consentGiven(record, field) ? record[field.field] : undefined
    const projected = transformValue(value, field, options)
    if (assignable) out[name] = projected
    // An own data property whatever the name (`out[name] = ...` with `__proto__` would set the prototype instead).
    else Object.defineProperty(out, name, { value: projected, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/**
 * Whether a consent-conditioned field may leave for this record: its consent field holds exactly the declared
 * value. Absent, unknown or refused consent (no value, `I`, `R`) keeps the field in: it leaves as null. A field
 * without `consent` always may.
 */
export function consentGiven(record: CanonicalRecord, field: Pick<PurposeField, 'consent'>): boolean {
  const consent = field.consent
  if (consent === undefined) return true
  const value = Object.prototype.hasOwnProperty.call(record, consent.field) ? record[consent.field] : undefined
  return typeof value === 'string' && value === consent.given
}

interface Output {
  name: string
  field: PurposeField
  /** Plain assignment creates an own data property for every name but `__proto__` (Object.prototype's setter). */
  assignable: boolean
}

const outputs = new WeakMap<readonly PurposeField[], Output[]>()

/** A purpose's output fields, worked out once per declaration (project runs for every record served). */
function outputsOf(fields: readonly PurposeField[]): Output[] {
  let list = outputs.get(fields)
  if (!list) {
    list = fields
      .filter((field) => field.transform !== 'omit')
      .map((field) => {
        const name = exposedName(field)
        return { name, field, assignable: name !== '__proto__' }
      })
    outputs.set(fields, list)
  }
  return list
}

/**
 * A scalar value as text, for the transforms that read text: a Date (drivers may hand dates as UTC midnight) as
 * `YYYY-MM-DD`; strings, numbers and booleans as themselves; anything else (objects, arrays...) as null, so a
 * generalising transform never lets a structure out.
 */
function textOf(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString().slice(0, 10)
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  return null
}

export function transformValue(value: unknown, field: PurposeField, options: ProjectOptions = {}): unknown {
  if (value === undefined || value === null) return null
  switch (field.transform) {
    case 'keep':
      return value
    case 'omit':
      return undefined
    case 'year': {
      const text = textOf(value)
      return text !== null && /^\d{4}/.test(text) ? Number(text.slice(0, 4)) : null
    }
    case 'age-band': {
      const width = field.length ?? 10
      const text = textOf(value)
      if (text === null || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return null
      const asOf = options.asOf ?? new Date()
      const [y, m, d] = text.split('-').map(Number) as [number, number, number]
      if (m < 1 || m > 12 || d < 1 || d > 31) return null
      let age = asOf.getUTCFullYear() - y
      if (asOf.getUTCMonth() + 1 < m || (asOf.getUTCMonth() + 1 === m && asOf.getUTCDate() < d)) age -= 1
      if (age < 0) return null
      const low = Math.floor(age / width) * width
      return `${low}-${low + width - 1}`
    }
    case 'postcode-to-departement': {
      const text = textOf(value)?.trim().toUpperCase()
      if (text === undefined) return null
      // An INSEE commune code of Corsica carries its département (2A004, 2B033); postcodes there start with 20.
      if (/^2[AB]\d{3}$/.test(text)) return text.slice(0, 2)
      if (!/^\d{5}$/.test(text)) return null
      if (text.startsWith('97') || text.startsWith('98')) return text.slice(0, 3)
      if (text.startsWith('20')) return Number(text) < 20200 ? '2A' : '2B'
      return text.slice(0, 2)
    }
    case 'truncate':
      return textOf(value)?.slice(0, field.length) ?? null
  }
}
