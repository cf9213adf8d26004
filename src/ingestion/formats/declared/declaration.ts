import { z } from 'zod'
import { FIELD_TYPES, NORMALISATIONS, compileDatePattern } from './field-values.ts'
import { TARGETS, type TargetName } from './targets/index.ts'

/**
 * What the generic formats (csv-records, xml-records) share in a flow's `format:` block: the fields (where each
 * value is in the file → canonical field id, type, required, code list, length, pattern), the checks between
 * fields, the kinds of file told from the name, constant values, and the target the records become (see
 * targets/). Every problem is reported by load-flows.ts with its path in the YAML.
 */
/** The encodings a flow may declare (src/ingestion/decode/text-encoding.ts decodes them). */
export const ENCODINGS = ['windows-1252', 'iso-8859-1', 'iso-8859-15', 'utf-8'] as const

const Name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lowercase letters, digits and _ (it names the field in rejection rows)')
const Rule = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lowercase letters, digits and _')
const Pattern = z.string().refine((p) => {
  try {
    new RegExp(p)
    return true
  } catch {
    return false
  }
}, 'must be a JavaScript regular expression')
const DatePatterns = z
  .union([z.string(), z.array(z.string()).min(1)])
  .transform((v) => (typeof v === 'string' ? [v] : v))
  .refine((list) => list.every((p) => /YYYY/.test(p) && /MM/.test(p) && /DD/.test(p)), 'a date pattern needs YYYY, MM and DD (and may have HH, mm, ss, S)')

/** One field, whatever the format: how to check its value and which canonical field it becomes. */
export const fieldRules = {
  /** How rejection rows name the field (the column or element name, lowercase). */
  name: Name,
  /** The canonical field id (src/model/fields.ts) or target input it becomes; omitted: checked, never kept. */
  field: z.string().min(1).optional(),
  type: z.enum(FIELD_TYPES).default('text'),
  required: z.boolean().default(false),
  /** The values allowed (after normalisation): another is rule `<name>_code`. */
  codes: z.array(z.string().min(1)).min(1).optional(),
  /** Longest value (rule too_long). */
  max_length: z.number().int().min(1).optional(),
  /** Exact length (rule length). */
  length: z.number().int().min(1).optional(),
  /** A regular expression the value must match (rule `<name>_format`). */
  pattern: Pattern.optional(),
  normalise: z.array(z.enum(NORMALISATIONS)).default([]),
  /** Date or datetime patterns for this field, instead of the format's `date_format` / `datetime_format`. */
  format: DatePatterns.optional(),
  /**
   * What a value breaking its rules does: `reject` the record (default); `warn` — the value is taken as empty,
   * the record is kept with a warning (field and rule, counted in the file's summary), only for a field that is
   * not required, e.g. the dirty optional dates of the fichier-PE-CG (`2020`); `skip` — the record is not for this
   * département (SPIE `brsa` = N: France Travail's line about someone who is not an RSA beneficiary): it is left
   * out, neither stored nor rejected, and counted in the file's summary as skipped, by field and rule. A required
   * value that is missing is still a rejection. Not for member fields (a member cannot leave its record out).
   */
  invalid: z.enum(['reject', 'warn', 'skip']).default('reject'),
}

const Check = z
  .object({
    rule: Rule,
    /** The field the rejection row names (default: the second of `equal`, the first of `not_before`, `record`). */
    field: Name.optional(),
    /** Two fields whose texts must be equal (spaces removed, uppercased), compared on their first `prefix` characters. */
    equal: z.tuple([Name, Name]).optional(),
    prefix: z.number().int().min(1).optional(),
    /** [later, earlier]: when both have a value, the first may not be before the second. */
    not_before: z.tuple([Name, Name]).optional(),
    /**
     * Groups of fields of which one must be given whole: the first group with a value must be complete (each field
     * missing: `required`), and a record with none breaks `rule`.
     */
    one_group_of: z.array(z.array(Name).min(1)).min(2).optional(),
  })
  .strict()
  .refine((c) => [c.equal, c.not_before, c.one_group_of].filter((x) => x !== undefined).length === 1, 'give exactly one of equal, not_before, one_group_of')

export type DeclaredCheck = z.infer<typeof Check>

const Kind = z.string().regex(/^[a-z][a-z0-9_-]*$/)

/** The options every generic format takes beside its own (encoding, fields...). */
export const commonOptions = {
  encoding: z.enum(ENCODINGS).default('utf-8'),
  /** Date patterns of `date` fields, first match wins: YYYY, MM, DD, HH, mm, ss, S (fraction digits); others literal. */
  date_format: DatePatterns.default(['DD/MM/YYYY']),
  datetime_format: DatePatterns.default(['YYYY-MM-DD HH:mm:ss.S', 'YYYY-MM-DD HH:mm:ss']),
  /** Spellings of `boolean` fields (case-insensitive). */
  booleans: z
    .object({ true: z.array(z.string().min(1)).min(1), false: z.array(z.string().min(1)).min(1) })
    .default({ true: ['O', 'OUI', '1', 'true'], false: ['N', 'NON', '0', 'false'] }),
  /** A literal meaning "no value" (e.g. `NULL`; YAML reads a bare `NULL` as null, taken as the text NULL). */
  null_literal: z.union([z.string().min(1), z.null().transform(() => 'NULL')]).optional(),
  /** The kind of a file told from its name: regular expressions matched case-insensitively, first match wins. */
  kinds: z.array(z.object({ kind: Kind, pattern: Pattern, values: z.record(z.string(), z.string()).default({}) }).strict()).min(1).optional(),
  /** The kind of every file, when no `kinds` are given (default `records`). */
  kind: Kind.default('records'),
  /** Canonical values every record of the flow carries (e.g. a state the file type implies). */
  values: z.record(z.string(), z.string()).default({}),
  checks: z.array(Check).default([]),
  /** What the records become (src/ingestion/formats/declared/targets/). */
  target: z.enum(Object.keys(TARGETS) as [TargetName, ...TargetName[]]),
}

export interface CommonDeclaration {
  encoding: (typeof ENCODINGS)[number]
  date_format: string[]
  datetime_format: string[]
  booleans: { true: string[]; false: string[] }
  null_literal?: string | undefined
  kinds?: { kind: string; pattern: string; values: Record<string, string> }[] | undefined
  kind: string
  values: Record<string, string>
  checks: DeclaredCheck[]
  target: TargetName
  fields: {
    name: string
    field?: string | undefined
    type: (typeof FIELD_TYPES)[number]
    required: boolean
    codes?: string[] | undefined
    max_length?: number | undefined
    length?: number | undefined
    pattern?: string | undefined
    normalise: (typeof NORMALISATIONS)[number][]
    format?: string[] | undefined
    invalid: 'reject' | 'warn' | 'skip'
  }[]
}

/** Cross-checks of a declaration: names unique and known, canonical ids the target takes, patterns that compile. */
export function checkCommon(d: CommonDeclaration, ctx: z.RefinementCtx, memberFields: CommonDeclaration['fields'] = []): void {
  const names = new Set<string>()
  const all = [...d.fields.map((f, i) => ({ f, at: ['fields', i] })), ...memberFields.map((f, i) => ({ f, at: ['members', 'fields', i] }))]
  for (const { f, at } of all) {
    if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: [...at, 'name'], message: `field "${f.name}" is declared twice` })
    names.add(f.name)
    const i = at.at(-1) as number
    if (f.invalid === 'warn' && f.required) ctx.addIssue({ code: 'custom', path: [...at, 'invalid'], message: `field "${f.name}" is required: a value breaking its rules cannot be a warning (remove invalid: warn or required)` })
    if (f.invalid === 'skip' && at[0] === 'members') ctx.addIssue({ code: 'custom', path: [...at, 'invalid'], message: `member field "${f.name}": invalid: skip leaves a whole record out, so it is for the record's own fields only` })
    for (const p of f.format ?? []) {
      try {
        compileDatePattern(p)
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: [...at.slice(0, -1), i, 'format'], message: (error as Error).message })
      }
    }
  }
  for (const [i, c] of d.checks.entries()) {
    for (const n of [...(c.equal ?? []), ...(c.not_before ?? []), ...(c.one_group_of?.flat() ?? [])]) {
      if (!names.has(n)) ctx.addIssue({ code: 'custom', path: ['checks', i], message: `check "${c.rule}" names undeclared field "${n}" (declared: ${[...names].join(', ')})` })
    }
  }
  const target = TARGETS[d.target]
  const constants: Record<string, string>[] = d.kinds ? d.kinds.map((k) => ({ ...d.values, ...k.values })) : [d.values]
  for (const problem of target.check({ fields: d.fields, memberFields, constants })) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message })
}
