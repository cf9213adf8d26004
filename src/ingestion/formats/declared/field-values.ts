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

interface CompiledDatePattern {
  regex: RegExp
  /** Capture group of each part (0: absent). */
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const TOKENS: [string, keyof Omit<CompiledDatePattern, 'regex'> | 'fraction', string][] = [
  ['YYYY', 'year', '(\\d{4})'],
  ['MM', 'month', '(\\d{2})'],
  ['DD', 'day', '(\\d{2})'],
  ['HH', 'hour', '(\\d{2})'],
  ['mm', 'minute', '(\\d{2})'],
  ['ss', 'second', '(\\d{2})'],
  ['S', 'fraction', '(\\d{1,9})'],
]

/** Compiles `DD/MM/YYYY`, `YYYY-MM-DD HH:mm:ss.S`...; throws on a pattern without year, month and day. */
export function compileDatePattern(pattern: string): CompiledDatePattern {
  let source = '^'
  let group = 0
  const at: Partial<Record<string, number>> = {}
  for (let i = 0; i < pattern.length; ) {
    const token = TOKENS.find(([t]) => pattern.startsWith(t, i))
    if (token) {
      group++
      at[token[1]] = group
      source += token[2]
      i += token[0].length
    } else {
      source += (pattern[i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      i++
    }
  }
  if (!at.year || !at.month || !at.day) throw new Error(`date pattern "${pattern}" needs YYYY, MM and DD`)
  return { regex: new RegExp(`${source}$`), year: at.year, month: at.month, day: at.day, hour: at.hour ?? 0, minute: at.minute ?? 0, second: at.second ?? 0 }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29
  return DAYS_IN_MONTH[month - 1] as number
}

function dateCheck(formats: readonly string[], withTime: boolean): (value: string) => unknown {
  const patterns = formats.map(compileDatePattern)
  return (value) => {
    for (const p of patterns) {
      const m = p.regex.exec(value)
      if (!m) continue
      const yyyy = m[p.year] as string
      const mm = m[p.month] as string
      const dd = m[p.day] as string
      const year = Number(yyyy)
      const month = Number(mm)
      const day = Number(dd)
      if (year < 1800 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return DATE_CALENDAR
      const date = `${yyyy}-${mm}-${dd}`
      if (!withTime) return date
      const hh = p.hour ? (m[p.hour] as string) : '00'
      const mi = p.minute ? (m[p.minute] as string) : '00'
      const ss = p.second ? (m[p.second] as string) : '00'
      if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 59) return DATE_CALENDAR
      return `${date}T${hh}:${mi}:${ss}`
    }
    return DATE_FORMAT
  }
}
