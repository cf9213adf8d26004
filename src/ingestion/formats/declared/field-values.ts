import { isSiret } from '../../../auth/siret.ts'
import { checkNir } from '../../validation/nir.ts'

/**
 * The value rules of a declared field (csv-records, xml-records), compiled once per flow into one function per
 * field: raw text in, the typed value (or undefined when empty) or the rule it breaks out. A rule is a name, never
 * the value: rejection rows carry field and rule only.
 *
 * Types and what they give: text and code (trimmed, normalised), nir (its 13 characters; 13 or 15 accepted, the key
 * checked), date (`YYYY-MM-DD`), datetime (`YYYY-MM-DDTHH:mm:ss`), boolean, integer (a number), decimal (`123.45`),
 * siret (14 digits, Luhn), email (lowercased).
 */
export const FIELD_TYPES = ['text', 'code', 'nir', 'date', 'datetime', 'boolean', 'integer', 'decimal', 'siret', 'email'] as const
export type DeclaredFieldType = (typeof FIELD_TYPES)[number]

export const NORMALISATIONS = ['remove_spaces', 'uppercase', 'lowercase'] as const
export type Normalisation = (typeof NORMALISATIONS)[number]

/** A broken rule (one shared instance per rule name, so a check allocates nothing). */
export class Broken {
  private static readonly all = new Map<string, Broken>()
  private constructor(readonly rule: string) {}
  static of(rule: string): Broken {
    let b = Broken.all.get(rule)
    if (!b) {
      b = new Broken(rule)
      Broken.all.set(rule, b)
    }
    return b
  }
}

export type FieldCheck = (raw: string | undefined) => unknown

export interface FieldRules {
  name: string
  type: DeclaredFieldType
  required: boolean
  codes?: readonly string[]
  max_length?: number
  length?: number
  pattern?: string
  normalise: readonly Normalisation[]
  /** Date or datetime patterns, first match wins (YYYY, MM, DD, HH, mm, ss, S = fraction digits, other characters literal). */
  formats: readonly string[]
  /** Boolean spellings, compared case-insensitively. */
  booleans: { true: readonly string[]; false: readonly string[] }
  /** A literal that means "no value" (e.g. `NULL`), compared exactly after trimming. */
  nullLiteral?: string
}

const REQUIRED = Broken.of('required')
const TOO_LONG = Broken.of('too_long')
const LENGTH = Broken.of('length')
const DATE_FORMAT = Broken.of('date_format')
const DATE_CALENDAR = Broken.of('date_calendar')
const BOOLEAN_VALUE = Broken.of('boolean_value')
const INTEGER_FORMAT = Broken.of('integer_format')
const DECIMAL_FORMAT = Broken.of('decimal_format')
const SIRET_INVALID = Broken.of('siret_invalid')
const EMAIL_FORMAT = Broken.of('email_format')
const EMAIL = /^[^\s@;,<>"]+@[^\s@;,<>"]+\.[^\s@;,<>"]+$/
const INTEGER = /^[+-]?\d{1,15}$/
const DECIMAL = /^[+-]?\d{1,13}(?:[.,]\d{1,6})?$/

function normaliser(steps: readonly Normalisation[]): (value: string) => string {
  if (steps.length === 0) return (v) => v
  return (value) => {
    let v = value
    for (const step of steps) {
      if (step === 'remove_spaces') v = v.replace(/\s+/g, '')
      else if (step === 'uppercase') v = v.toUpperCase()
      else v = v.toLowerCase()
    }
    return v
  }
}

export function compileFieldCheck(rules: FieldRules): FieldCheck {
  const normalise = normaliser(rules.normalise)
  const typed = typedCheck(rules)
  const { required, nullLiteral } = rules
  return (raw) => {
    if (raw === undefined) return required ? REQUIRED : undefined
    let value = raw.trim()
    if (value === '' || value === nullLiteral) return required ? REQUIRED : undefined
    value = normalise(value)
    if (value === '') return required ? REQUIRED : undefined
    return typed(value)
  }
}

function typedCheck(rules: FieldRules): (value: string) => unknown {
  switch (rules.type) {
    case 'text':
    case 'code':
      return textCheck(rules)
    case 'nir':
      return (value) => {
        const checked = checkNir(value)
        return checked.ok ? checked.nir13 : Broken.of(checked.rule)
      }
    case 'date':
    case 'datetime':
      return dateCheck(rules.formats, rules.type === 'datetime')
    case 'boolean': {
      const yes = new Set(rules.booleans.true.map((v) => v.toUpperCase()))
      const no = new Set(rules.booleans.false.map((v) => v.toUpperCase()))
      return (value) => {
        const v = value.toUpperCase()
        return yes.has(v) ? true : no.has(v) ? false : BOOLEAN_VALUE
      }
    }
    case 'integer':
      return (value) => (INTEGER.test(value) ? Number(value) : INTEGER_FORMAT)
    case 'decimal':
      return (value) => (DECIMAL.test(value) ? value.replace(',', '.').replace(/^\+/, '') : DECIMAL_FORMAT)
    case 'siret':
      return (value) => {
        const v = value.replace(/\s+/g, '')
        return isSiret(v) ? v : SIRET_INVALID
      }
    case 'email': {
      const max = rules.max_length ?? 254
      return (value) => {
        if (value.length > max) return TOO_LONG
        const v = value.toLowerCase()
        return EMAIL.test(v) ? v : EMAIL_FORMAT
      }
    }
  }
}

function textCheck(rules: FieldRules): (value: string) => unknown {
  const { max_length: max, length } = rules
  const pattern = rules.pattern === undefined ? undefined : new RegExp(rules.pattern)
  const patternRule = Broken.of(`${rules.name}_format`)
  const codes = rules.codes === undefined ? undefined : new Set(rules.codes)
  const codeRule = Broken.of(`${rules.name}_code`)
  return (value) => {
    if (max !== undefined && value.length > max) return TOO_LONG
    if (length !== undefined && value.length !== length) return LENGTH
    if (pattern && !pattern.test(value)) return patternRule
    if (codes && !codes.has(value)) return codeRule
    return value
  }
}

/**
 * A compiled date pattern, as three parallel arrays (one entry per step): the kind of step (literal character,
 * fixed digits, fraction digits), its argument (the character code, or the number of digits) and the part the
 * digits give (year, month, day, hour, minute, second; -1 for none).
 */
export interface CompiledDatePattern {
  kinds: Int8Array
  args: Int32Array
  parts: Int8Array
}

const LITERAL = 0
const DIGITS = 1
const FRACTION = 2
const YEAR = 0
const MONTH = 1
const DAY = 2
const HOUR = 3
const MINUTE = 4
const SECOND = 5

const TOKENS: [string, number, number, number][] = [
  ['YYYY', DIGITS, 4, YEAR],
  ['MM', DIGITS, 2, MONTH],
  ['DD', DIGITS, 2, DAY],
  ['HH', DIGITS, 2, HOUR],
  ['mm', DIGITS, 2, MINUTE],
  ['ss', DIGITS, 2, SECOND],
  ['S', FRACTION, 9, -1],
]

/** Compiles `DD/MM/YYYY`, `YYYY-MM-DD HH:mm:ss.S`...; throws on a pattern without year, month and day. */
export function compileDatePattern(pattern: string): CompiledDatePattern {
  const kinds: number[] = []
  const args: number[] = []
  const parts: number[] = []
  for (let i = 0; i < pattern.length; ) {
    const token = TOKENS.find(([t]) => pattern.startsWith(t, i))
    if (token) {
      kinds.push(token[1])
      args.push(token[2])
      parts.push(token[3])
      i += token[0].length
    } else {
      kinds.push(LITERAL)
      args.push(pattern.charCodeAt(i))
      parts.push(-1)
      i++
    }
  }
  if (![YEAR, MONTH, DAY].every((p) => parts.includes(p))) throw new Error(`date pattern "${pattern}" needs YYYY, MM and DD`)
  return { kinds: Int8Array.from(kinds), args: Int32Array.from(args), parts: Int8Array.from(parts) }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29
  return DAYS_IN_MONTH[month - 1] as number
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

/** Reads `value` with `pattern` into `out` (year, month, day, hour, minute, second), character by character. */
function readDate(value: string, pattern: CompiledDatePattern, out: Int32Array): boolean {
  out.fill(0)
  const { kinds, args, parts } = pattern
  let at = 0
  for (let s = 0; s < kinds.length; s++) {
    const kind = kinds[s] as number
    if (kind === LITERAL) {
      if (value.charCodeAt(at) !== args[s]) return false
      at++
    } else if (kind === DIGITS) {
      let n = 0
      const digits = args[s] as number
      for (let k = 0; k < digits; k++, at++) {
        const c = value.charCodeAt(at)
        if (c < 48 || c > 57) return false
        n = n * 10 + (c - 48)
      }
      const part = parts[s] as number
      if (part !== -1) out[part] = n
    } else {
      const from = at
      while (at < value.length && at - from < 9) {
        const c = value.charCodeAt(at)
        if (c < 48 || c > 57) break
        at++
      }
      if (at === from) return false
    }
  }
  return at === value.length
}

function dateCheck(formats: readonly string[], withTime: boolean): (value: string) => unknown {
  const patterns = formats.map(compileDatePattern)
  const parts = new Int32Array(6)
  return (value) => {
    for (const p of patterns) {
      if (!readDate(value, p, parts)) continue
      const year = parts[YEAR] as number
      const month = parts[MONTH] as number
      const day = parts[DAY] as number
      if (year < 1800 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return DATE_CALENDAR
      const date = `${year}-${pad2(month)}-${pad2(day)}`
      if (!withTime) return date
      const hour = parts[HOUR] as number
      const minute = parts[MINUTE] as number
      const second = parts[SECOND] as number
      if (hour > 23 || minute > 59 || second > 59) return DATE_CALENDAR
      return `${date}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}`
    }
    return DATE_FORMAT
  }
}
