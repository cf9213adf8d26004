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

/** A compiled date pattern: fixed-width digits and literals, an optional run of fraction digits (`S`). */
export interface CompiledDatePattern {
  steps: DateStep[]
  hasTime: boolean
}

type DatePart = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second'
type DateStep = { digits: number; part: DatePart | undefined } | { literal: number } | { fraction: true }

const TOKENS: [string, DateStep][] = [
  ['YYYY', { digits: 4, part: 'year' }],
  ['MM', { digits: 2, part: 'month' }],
  ['DD', { digits: 2, part: 'day' }],
  ['HH', { digits: 2, part: 'hour' }],
  ['mm', { digits: 2, part: 'minute' }],
  ['ss', { digits: 2, part: 'second' }],
  ['S', { fraction: true }],
]

/** Compiles `DD/MM/YYYY`, `YYYY-MM-DD HH:mm:ss.S`...; throws on a pattern without year, month and day. */
export function compileDatePattern(pattern: string): CompiledDatePattern {
  const steps: DateStep[] = []
  const parts = new Set<string>()
  for (let i = 0; i < pattern.length; ) {
    const token = TOKENS.find(([t]) => pattern.startsWith(t, i))
    if (token) {
      steps.push(token[1])
      if ('part' in token[1] && token[1].part) parts.add(token[1].part)
      i += token[0].length
    } else {
      steps.push({ literal: pattern.charCodeAt(i) })
      i++
    }
  }
  if (!parts.has('year') || !parts.has('month') || !parts.has('day')) throw new Error(`date pattern "${pattern}" needs YYYY, MM and DD`)
  return { steps, hasTime: parts.has('hour') }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29
  return DAYS_IN_MONTH[month - 1] as number
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

/** The date parts of `value` read with `pattern` (character by character, no allocation), or undefined. */
function readDate(value: string, pattern: CompiledDatePattern, out: Record<DatePart, number>): boolean {
  out.hour = 0
  out.minute = 0
  out.second = 0
  let at = 0
  for (const step of pattern.steps) {
    if ('literal' in step) {
      if (value.charCodeAt(at) !== step.literal) return false
      at++
    } else if ('fraction' in step) {
      const from = at
      while (at < value.length && at - from < 9) {
        const c = value.charCodeAt(at)
        if (c < 48 || c > 57) break
        at++
      }
      if (at === from) return false
    } else {
      let n = 0
      for (let k = 0; k < step.digits; k++, at++) {
        const c = value.charCodeAt(at)
        if (c < 48 || c > 57) return false
        n = n * 10 + (c - 48)
      }
      if (step.part) out[step.part] = n
    }
  }
  return at === value.length
}

function dateCheck(formats: readonly string[], withTime: boolean): (value: string) => unknown {
  const patterns = formats.map(compileDatePattern)
  const parts: Record<DatePart, number> = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
  return (value) => {
    for (const p of patterns) {
      if (!readDate(value, p, parts)) continue
      const { year, month, day, hour, minute, second } = parts
      if (year < 1800 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return DATE_CALENDAR
      const date = `${year}-${pad2(month)}-${pad2(day)}`
      if (!withTime) return date
      if (hour > 23 || minute > 59 || second > 59) return DATE_CALENDAR
      return `${date}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}`
    }
    return DATE_FORMAT
  }
}
