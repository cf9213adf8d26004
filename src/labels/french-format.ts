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
