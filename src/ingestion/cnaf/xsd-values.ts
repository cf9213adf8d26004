import { z } from 'zod'

/**
 * zod schemas for the simple types of vrsb0801.xsd, as they arrive from the parsed tree (trimmed strings, empty
 * → undefined). Every issue message is a rule name (`required`, `date`, `max_length:28`, `code_list:ROLEPERS`...),
 * never the value: the message is what a rejection row stores.
 */

type IssueLike = { input?: unknown }

/** The rule for a value of the wrong shape: absent, repeated, or an element where text was expected. */
export function shapeRule(fallback: string) {
  return (issue: IssueLike): string => {
    if (issue.input === undefined) return 'required'
    if (Array.isArray(issue.input)) return 'repeated'
    if (typeof issue.input !== 'string') return 'type'
    return fallback
  }
}

/** A string of at most `max` characters (xsd:string maxLength). */
export function text(max: number) {
  return z.string({ error: shapeRule('type') }).max(max, { error: `max_length:${max}` })
}

/** A value from a code list. */
export function code<const T extends readonly [string, ...string[]]>(list: string, values: T) {
  return z.enum(values, { error: shapeRule(`code_list:${list}`) })
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

/**
 * A real calendar date written YYYY-MM-DD. (xsd:date also allows a time zone suffix, `2024-01-31Z`; CNAF files
 * do not use it, and it is rejected rather than silently dropped.)
 */
export function isCalendarDate(value: string): boolean {
  if (value.length !== 10 || !DATE.test(value)) return false
  const year = Number(value.slice(0, 4))
  const month = Number(value.slice(5, 7))
  const day = Number(value.slice(8, 10))
  if (month < 1 || month > 12 || day < 1) return false
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
  return day <= days
}

export function date() {
  return z.string({ error: shapeRule('date') }).refine(isCalendarDate, { error: 'date' })
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/

/** xsd:time, kept as written (`01:18:36.0000`). */
export function time() {
  return z.string({ error: shapeRule('time') }).regex(TIME, { error: 'time' })
}

/** xsd:boolean → boolean. */
export function bool() {
  return z.enum(['0', '1', 'true', 'false'], { error: shapeRule('boolean') }).transform((v) => v === '1' || v === 'true')
}

/** An xsd:integer of at most `digits` digits (zero-padded counters allowed) → number. */
export function integer(digits: number) {
  return z
    .string({ error: shapeRule('integer') })
    .refine((v) => /^\+?\d+$/.test(v) && v.replace(/^\+?0*/, '').length <= digits, { error: `integer:${digits}` })
    .transform((v) => Number(v))
}

/** An xsd:integer of at most `digits` digits kept as its digits (identifiers such as MATRICULE, CODEPOS). */
export function digits(count: number) {
  return z.string({ error: shapeRule('integer') }).regex(new RegExp(`^\\d{1,${count}}$`), { error: `integer:${count}` })
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/

/**
 * `0001675.00` → `1675.00`: leading zeros dropped, the fraction kept as written; at most `totalDigits`
 * significant digits, `fractionDigits` after the point. Returns undefined when the value is not such a decimal.
 */
export function normalizeAmount(value: string, totalDigits = 9, fractionDigits = 2): string | undefined {
  const m = DECIMAL.exec(value)
  if (!m) return undefined
  const intPart = (m[2] ?? '').replace(/^0+/, '')
  const fraction = m[3]
  if ((m[2] ?? '') === '' && (fraction ?? '') === '') return undefined
  if (fraction !== undefined && fraction.length > fractionDigits) return undefined
  if (intPart.length + (fraction?.replace(/0+$/, '').length ?? 0) > totalDigits) return undefined
  const sign = m[1] === '-' && /[1-9]/.test(intPart + (fraction ?? '')) ? '-' : ''
  return `${sign}${intPart === '' ? '0' : intPart}${fraction === undefined || fraction === '' ? '' : `.${fraction}`}`
}

/** xsd:decimal(totalDigits, fractionDigits) → normalised decimal string. */
export function amount(totalDigits = 9, fractionDigits = 2) {
  return z.string({ error: shapeRule('decimal') }).transform((v, ctx) => {
    const normalized = normalizeAmount(v, totalDigits, fractionDigits)
    if (normalized === undefined) {
      ctx.addIssue({ code: 'custom', message: `decimal:${totalDigits},${fractionDigits}` })
      return z.NEVER
    }
    return normalized
  })
}

/** Formats a zod issue path the way rejection rows name fields: `Personne[2].Identification.NIR` (1-based, as XPath). */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part + 1}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out
}

const RULE = /^[a-z_]+(?::[A-Za-z0-9_,]+)?$/

/** The rule of a zod issue: our message when it is a rule name, else zod's issue code (never a value). */
export function issueRule(issue: { message: string; code: string }): string {
  return RULE.test(issue.message) ? issue.message : issue.code
}
