import { z } from 'zod'
import type { ParsedRecord, RecordIssue } from '../records/parsed-record.ts'
import { checkNir } from '../validation/nir.ts'
import { dropTrailingEmptyCells, type FranceTravailColumn, type FranceTravailLayout } from './layouts.ts'
import type { FranceTravailFileKind, FranceTravailRow } from './row.ts'

/**
 * Per-record rules of the France Travail CSV files (flows.md §2.1), as WebRSA's importer applies them:
 * the column count of the file's layout, a valid NIR (13 characters, or 15 with a correct key) equal to `nir2`,
 * an 11-character identifiantpe, real DD/MM/YYYY dates, a non-empty code. An invalid record says which field
 * broke which rule, never the value. Names are checked but not handed on: no purpose stores France Travail's
 * copy of the identity (persons are matched on the NIR's 13 characters and the birth date).
 */

const DATE = /^(\d{2})\/(\d{2})\/(\d{4})$/
const IDENTIFIANT_PE = /^[0-9]{7}[A-Z0-9][0-9]{3}$/
const CODE_INSEE = /^(\d{5}|2[AB]\d{3})$/

/** `DD/MM/YYYY` → `YYYY-MM-DD` when it is a real calendar date, else the rule it breaks. */
export function frenchDateToIso(value: string): { ok: true; iso: string } | { ok: false; rule: 'date_format' | 'date_calendar' } {
  const match = DATE.exec(value)
  if (!match) return { ok: false, rule: 'date_format' }
  const [, dd, mm, yyyy] = match as unknown as [string, string, string, string]
  const day = Number(dd)
  const month = Number(mm)
  const year = Number(yyyy)
  if (year < 1800 || month < 1 || month > 12 || day < 1) return { ok: false, rule: 'date_calendar' }
  if (day > daysInMonth(year, month)) return { ok: false, rule: 'date_calendar' }
  return { ok: true, iso: `${yyyy}-${mm}-${dd}` }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29
  return DAYS_IN_MONTH[month - 1] as number
}

const date = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const checked = frenchDateToIso(value)
    if (!checked.ok) {
      ctx.addIssue({ code: 'custom', message: checked.rule })
      return z.NEVER
    }
    return checked.iso
  })

const name = z.string().trim().min(1, 'required').max(100, 'too_long')

/** Empty cells of optional columns become undefined. */
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, 'too_long')
    .transform((value) => (value === '' ? undefined : value))

const FIELDS: Record<FranceTravailColumn, z.ZodType> = {
  nir: z.string().transform((value, ctx) => {
    const checked = checkNir(value)
    if (!checked.ok) {
      ctx.addIssue({ code: 'custom', message: checked.rule })
      return z.NEVER
    }
    return checked.nir13
  }),
  // Compared with nir below; its own format is not a separate rule.
  nir2: z.string(),
  identifiantpe: z
    .string()
    .transform((value) => value.replace(/\s+/g, '').toUpperCase())
    .refine((value) => IDENTIFIANT_PE.test(value), 'identifiantpe_format'),
  nom: name,
  prenom: name,
  dtnai: date,
  date,
  code: z.string().trim().min(1, 'required').max(2, 'too_long'),
  motif: optionalText(250),
  codeinsee: z
    .string()
    .trim()
    .toUpperCase()
    .refine((value) => value === '' || CODE_INSEE.test(value), 'codeinsee_format')
    .transform((value) => (value === '' ? undefined : value)),
  localite: optionalText(250),
  adresse: optionalText(250),
  ale: optionalText(5),
}

const schemas = new WeakMap<FranceTravailLayout, z.ZodType<Record<string, unknown>>>()

function schemaFor(layout: FranceTravailLayout): z.ZodType<Record<string, unknown>> {
  let schema = schemas.get(layout)
  if (!schema) {
    schema = z.object(Object.fromEntries(layout.columns.map((column) => [column, FIELDS[column]]))) as z.ZodType<Record<string, unknown>>
    schemas.set(layout, schema)
  }
  return schema
}

const RULE = /^[a-z0-9_]+$/

function nir13Of(raw: string): string {
  return raw.replace(/\s+/g, '').toUpperCase().slice(0, 13)
}

function etatOf(kind: FranceTravailFileKind): FranceTravailRow['etat'] {
  if (kind === 'cessations') return 'cessation'
  if (kind === 'radiations') return 'radiation'
  return 'inscription'
}

export interface RecordPosition {
  kind: FranceTravailFileKind
  layout: FranceTravailLayout
  /** 0-based index of the data record (header excluded). */
  recordIndex: number
  /** 1-based physical line where the record starts. */
  line: number
}

/** Checks one CSV record (its cells, as csv-parse gives them) against the file's layout. */
export function validateFranceTravailRecord(cells: string[], at: RecordPosition): ParsedRecord<FranceTravailRow> {
  const { layout, recordIndex, line } = at
  const width = layout.columns.length
  const record = cells.length > width ? dropTrailingEmptyCells(cells, width) : cells
  if (record.length !== width) {
    return { ok: false, recordIndex, line, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] }
  }

  const input: Record<string, string> = {}
  for (let i = 0; i < width; i++) input[layout.columns[i] as string] = record[i] as string

  const issues: RecordIssue[] = []
  const parsed = schemaFor(layout).safeParse(input)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ field: String(issue.path[0] ?? 'record'), rule: RULE.test(issue.message) ? issue.message : issue.code })
    }
  }
  if (nir13Of(input.nir ?? '') !== nir13Of(input.nir2 ?? '')) issues.push({ field: 'nir2', rule: 'nir_mismatch' })
  if (issues.length > 0 || !parsed.success) return { ok: false, recordIndex, line, key: undefined, issues }

  const v = parsed.data as Record<string, string | undefined>
  return {
    ok: true,
    value: {
      recordIndex,
      line,
      nir13: v.nir as string,
      identifiantpe: v.identifiantpe as string,
      dtnai: v.dtnai as string,
      etat: etatOf(at.kind),
      date: v.date as string,
      code: v.code as string,
      motif: v.motif,
      codeinsee: v.codeinsee,
      localite: v.localite,
      adresse: v.adresse,
      ale: v.ale,
    },
  }
}
