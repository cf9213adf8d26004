import type { CanonicalValues } from '../../canonical/map-records.ts'
import { FIELDS_BY_ID, type FieldId } from '../../../model/fields.ts'
import type { ParsedRecord, RecordIssue } from '../../records/parsed-record.ts'
import type { CommonDeclaration, DeclaredCheck } from './declaration.ts'
import { Broken, compileFieldCheck, type FieldCheck } from './field-values.ts'

/**
 * A record of a generic format once its fields are checked: canonical field id (or target input) → value, only
 * for the fields the flow declares with a `field:` (the others are checked and dropped here).
 */
export interface DeclaredRecord {
  /** 0-based index of the record in the file (a CSV header excluded). */
  recordIndex: number
  /** 1-based line where the record starts. */
  line: number
  values: CanonicalValues
  /** One set of values per member (xml-records `members`: a foyer's persons), in file order. */
  members?: CanonicalValues[]
}

export interface CompiledField {
  name: string
  field: string | undefined
  check: FieldCheck
  /** The canonical field is a date: a datetime keeps its date. */
  dateOnly: boolean
  /** A broken rule is a warning (the value taken as empty), not a rejection: `invalid: warn`. */
  warn: boolean
  /** A broken rule (other than a missing required value) leaves the record out: `invalid: skip`. */
  skip: boolean
}

/** Compiles the declaration's fields and checks once per file; `build` then runs per record. */
export class RecordRules {
  readonly fields: CompiledField[]
  private readonly index = new Map<string, number>()
  private readonly equalChecks: { a: number; b: number; prefix: number | undefined; issue: RecordIssue }[] = []
  private readonly notBefore: { later: number; earlier: number; issue: RecordIssue }[] = []
  private readonly groups: { groups: number[][]; issue: RecordIssue }[] = []
  /** Scratch: the checked values of the record being built. */
  private readonly parsed: unknown[]

  constructor(declaration: CommonDeclaration) {
    this.fields = declaration.fields.map((f) => ({
      name: f.name,
      field: f.field,
      dateOnly: f.type === 'datetime' && f.field !== undefined && FIELDS_BY_ID.get(f.field)?.type === 'date',
      warn: f.invalid === 'warn',
      skip: f.invalid === 'skip',
      check: compileFieldCheck({
        name: f.name,
        type: f.type,
        required: f.required,
        codes: f.codes,
        max_length: f.max_length,
        length: f.length,
        pattern: f.pattern,
        normalise: f.normalise,
        formats: f.format ?? (f.type === 'datetime' ? declaration.datetime_format : declaration.date_format),
        booleans: declaration.booleans,
        nullLiteral: declaration.null_literal,
      }),
    }))
    this.fields.forEach((f, i) => this.index.set(f.name, i))
    this.parsed = this.fields.map(() => undefined)
    for (const c of declaration.checks) this.addCheck(c)
  }

  private at(name: string): number {
    const i = this.index.get(name)
    if (i === undefined) throw new Error(`declared check names undeclared field "${name}"`)
    return i
  }

  private addCheck(c: DeclaredCheck): void {
    if (c.equal) {
      const [a, b] = c.equal
      this.equalChecks.push({ a: this.at(a), b: this.at(b), prefix: c.prefix, issue: { field: c.field ?? b, rule: c.rule } })
    } else if (c.not_before) {
      const [later, earlier] = c.not_before
      this.notBefore.push({ later: this.at(later), earlier: this.at(earlier), issue: { field: c.field ?? later, rule: c.rule } })
    } else if (c.one_group_of) {
      this.groups.push({ groups: c.one_group_of.map((g) => g.map((n) => this.at(n))), issue: { field: c.field ?? 'record', rule: c.rule } })
    }
  }

  /**
   * Checks one record's raw texts (`raw[i]` for `fields[i]`, undefined when the file does not carry it) and maps
   * it. `constants` are canonical values every record of the file carries (the flow's and its kind's).
   */
  build(raw: readonly (string | undefined)[], at: { recordIndex: number; line: number }, constants: CanonicalValues): ParsedRecord<DeclaredRecord> {
    const fields = this.fields
    const parsed = this.parsed
    let issues: RecordIssue[] | undefined
    let warnings: RecordIssue[] | undefined
    let skipped: RecordIssue[] | undefined
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as CompiledField
      const v = f.check(raw[i])
      if (v instanceof Broken) {
        if (f.warn) (warnings ??= []).push({ field: f.name, rule: v.rule })
        else if (f.skip && v.rule !== 'required') (skipped ??= []).push({ field: f.name, rule: v.rule })
        else (issues ??= []).push({ field: f.name, rule: v.rule })
        parsed[i] = undefined
      } else parsed[i] = v
    }
    for (const c of this.equalChecks) {
      if (comparable(raw[c.a], c.prefix) !== comparable(raw[c.b], c.prefix)) (issues ??= []).push(c.issue)
    }
    if (!issues) {
      for (const c of this.groups) {
        const given = c.groups.find((g) => g.some((i) => parsed[i] !== undefined))
        if (!given) issues = [c.issue]
        else for (const i of given) if (parsed[i] === undefined) (issues ??= []).push({ field: (fields[i] as CompiledField).name, rule: 'required' })
      }
      for (const c of this.notBefore) {
        const later = parsed[c.later]
        const earlier = parsed[c.earlier]
        if (typeof later === 'string' && typeof earlier === 'string' && later < earlier) (issues ??= []).push(c.issue)
      }
    }
    if (issues) {
      // Not enumerable: a failed record logged, serialised or printed by mistake never shows the values (a NIR).
      const failed: ParsedRecord<DeclaredRecord> = { ok: false, recordIndex: at.recordIndex, line: at.line, key: undefined, issues }
      Object.defineProperty(failed, 'partial', { value: this.partialValues(), enumerable: false })
      return failed
    }
    // Left out (`invalid: skip`): not for this département, so none of its values goes any further.
    if (skipped) return { ok: true, value: { recordIndex: at.recordIndex, line: at.line, values: {} }, skipped }
    // Every record gets the same keys in the same order (undefined when empty): one object shape per flow.
    const values: CanonicalValues = {}
    for (const id in constants) values[id as FieldId] = constants[id as FieldId]
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as CompiledField
      if (f.field === undefined) continue
      const v = parsed[i]
      values[f.field as FieldId] = f.dateOnly && v !== undefined ? (v as string).slice(0, 10) : v
    }
    const value = { recordIndex: at.recordIndex, line: at.line, values }
    return warnings ? { ok: true, value, warnings } : { ok: true, value }
  }

  /** The canonical values of a failed record's fields that passed their rules (ParsedRecord `partial`). */
  private partialValues(): CanonicalValues {
    const values: CanonicalValues = {}
    for (let i = 0; i < this.fields.length; i++) {
      const f = this.fields[i] as CompiledField
      const v = this.parsed[i]
      if (f.field !== undefined && v !== undefined) values[f.field as FieldId] = f.dateOnly ? (v as string).slice(0, 10) : v
    }
    return values
  }
}

function comparable(raw: string | undefined, prefix: number | undefined): string {
  const v = (raw ?? '').replace(/\s+/g, '').toUpperCase()
  return prefix === undefined ? v : v.slice(0, prefix)
}

/** The kind of a file from its name: the declaration's patterns, case-insensitive, first match wins. */
export function detectKind(fileName: string, kinds: readonly { kind: string; pattern: string }[]): string | undefined {
  return kinds.find(({ pattern }) => kindPattern(pattern).test(fileName))?.kind
}

function kindPattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'i')
  } catch (cause) {
    throw new Error(`kind pattern "${pattern}" is not a valid regular expression: fix format.kinds in the flow declaration`, { cause })
  }
}

/** The constant canonical values of a file of this kind: the flow's `values`, then its kind's. */
export function constantsFor(declaration: Pick<CommonDeclaration, 'values' | 'kinds'>, kind: string): CanonicalValues {
  const ofKind = declaration.kinds?.find((k) => k.kind === kind)?.values ?? {}
  return { ...declaration.values, ...ofKind }
}
