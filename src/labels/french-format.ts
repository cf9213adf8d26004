import type { Duration } from '../retention/duration.ts'

/**
 * French wording of numbers, amounts, durations and counts, for every page a person reads (access answer,
 * register, codebook). Pure.
 */

const EUROS = new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR', minimumFractionDigits: 2, maximumFractionDigits: 2 })
const NUMBER = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 })

/** `568.94` or `'0001675.00'` → `568,94 €` (French grouping and decimal comma); not a number → the text as is. */
export function euros(value: number | string): string {
  const n = typeof value === 'number' ? value : Number(String(value).trim())
  if (String(value).trim() === '' || !Number.isFinite(n)) return String(value)
  return EUROS.format(n)
}

/** `1234.5` → `1 234,5`. */
export function frenchNumber(value: number): string {
  return NUMBER.format(value)
}

/** `1 champ`, `0 champ`, `2 champs` (French: 0 and 1 take the singular). */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${frenchNumber(count)} ${Math.abs(count) < 2 ? singular : pluralForm}`
}

/** `P5M` → `5 mois`, `P6Y` → `6 ans`, `P1Y6M` → `1 an et 6 mois`, `P0D` → `aucun délai`. */
export function durationInWords(d: Duration): string {
  const parts: string[] = []
  if (d.years) parts.push(plural(d.years, 'an'))
  if (d.months) parts.push(`${frenchNumber(d.months)} mois`)
  if (d.days) parts.push(plural(d.days, 'jour'))
  if (parts.length === 0) return 'aucun délai'
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} et ${parts.at(-1)}`
}

/** An ISO-8601 duration anywhere in a text (`P36M`, `P6Y`, `P0D`, `P1Y6M`): what a French page must never show. */
export const ISO_DURATION_PATTERN = /\bP(?=\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?\b/

/** `YYYY-MM-DD` → `31/01/2026`; an ISO instant → `31/01/2026 14:05` (Europe/Paris). */
export function frenchDate(value: string | Date | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—'
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split('-')
    return `${d}/${m}/${y}`
  }
  const date = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' }).format(date)
}
