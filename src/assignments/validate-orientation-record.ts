import { z } from 'zod'
import { isSiret } from '../auth/siret.ts'
import type { ParsedRecord, RecordIssue } from '../ingestion/records/parsed-record.ts'
import { frenchDateToIso } from '../ingestion/france-travail/validate-france-travail-record.ts'
import { checkNir } from '../ingestion/validation/nir.ts'
import type { OrientationRow } from './orientation-row.ts'

/**
 * Per-record rules of the orientations file: the person named by NUMDEMRSA + ROLEPERS or by NIR + birth date,
 * a valid SIRET, an e-mail when a referent is named, real dates with the end not before the start. An invalid
 * record says which field broke which rule, never the value.
 */
export type OrientationColumn = 'numdemrsa' | 'rolepers' | 'organisme' | 'nir' | 'dtnai' | 'siret' | 'email' | 'debut' | 'fin'

export const ROLEPERS_CODES = ['DEM', 'CJT', 'ENF', 'AUT', 'RDO'] as const

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

function isoDateToIso(value: string): { ok: true; iso: string } | { ok: false; rule: 'date_format' | 'date_calendar' } {
  const m = ISO_DATE.exec(value)
  if (!m) return { ok: false, rule: 'date_format' }
  const d = new Date(`${value}T00:00:00Z`)
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value || Number(m[1]) < 1800) return { ok: false, rule: 'date_calendar' }
  return { ok: true, iso: value }
}

const date = (format: 'DD/MM/YYYY' | 'YYYY-MM-DD') =>
  z
    .string()
    .trim()
    .transform((value, ctx) => {
      if (value === '') return undefined
      const checked = format === 'DD/MM/YYYY' ? frenchDateToIso(value) : isoDateToIso(value)
      if (!checked.ok) {
        ctx.addIssue({ code: 'custom', message: checked.rule })
        return z.NEVER
      }
      return checked.iso
    })

const optional = (schema: z.ZodType<string>) =>
  z
    .string()
    .trim()
    .transform((value, ctx) => {
      if (value === '') return undefined
      const parsed = schema.safeParse(value)
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'invalid' })
        return z.NEVER
      }
      return parsed.data
    })

function fieldsFor(format: 'DD/MM/YYYY' | 'YYYY-MM-DD'): Record<OrientationColumn, z.ZodType> {
  return {
    numdemrsa: optional(z.string().toUpperCase().regex(/^[0-9A-Z]{1,11}$/, 'numdemrsa_format')),
    rolepers: optional(z.string().toUpperCase().refine((v) => (ROLEPERS_CODES as readonly string[]).includes(v), 'rolepers_code')),
    organisme: optional(z.string().toUpperCase().refine((v) => v === 'CAF' || v === 'MSA', 'organisme_code')),
    nir: optional(
      z.string().transform((value, ctx) => {
        const checked = checkNir(value)
        if (!checked.ok) {
          ctx.addIssue({ code: 'custom', message: checked.rule })
          return z.NEVER
        }
        return checked.nir13
      }),
    ),
    dtnai: date(format),
    siret: z
      .string()
      .transform((v) => v.replace(/\s+/g, ''))
      .refine((v) => v !== '', 'required')
      .refine((v) => v === '' || isSiret(v), 'siret_invalid'),
    email: optional(
      z
        .string()
        .max(254, 'too_long')
        .toLowerCase()
        .regex(/^[^\s@;,<>"]+@[^\s@;,<>"]+\.[^\s@;,<>"]+$/, 'email_format'),
    ),
    debut: date(format).refine((v) => v !== undefined, 'required'),
    fin: date(format),
  }
}

const schemas = new Map<string, z.ZodType<Record<string, unknown>>>()

function schemaFor(columns: readonly OrientationColumn[], format: 'DD/MM/YYYY' | 'YYYY-MM-DD'): z.ZodType<Record<string, unknown>> {
  const key = `${format}|${columns.join(',')}`
  let schema = schemas.get(key)
  if (!schema) {
    const fields = fieldsFor(format)
    schema = z.object(Object.fromEntries(columns.map((c) => [c, fields[c]]))) as z.ZodType<Record<string, unknown>>
    schemas.set(key, schema)
  }
  return schema
}

const RULE = /^[a-z0-9_]+$/

export interface OrientationPosition {
  columns: readonly OrientationColumn[]
  dateFormat: 'DD/MM/YYYY' | 'YYYY-MM-DD'
  recordIndex: number
  line: number
}

/** Checks one CSV record (its cells) against the file's columns. */
export function validateOrientationRecord(cells: readonly string[], at: OrientationPosition): ParsedRecord<OrientationRow> {
  const { columns, recordIndex, line } = at
  let record = cells
  while (record.length > columns.length && record[record.length - 1]?.trim() === '') record = record.slice(0, -1)
  if (record.length !== columns.length) return { ok: false, recordIndex, line, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] }
  const input: Record<string, string> = {}
  columns.forEach((c, i) => (input[c] = record[i] ?? ''))
  const parsed = schemaFor(columns, at.dateFormat).safeParse(input)
  const issues: RecordIssue[] = []
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.push({ field: String(issue.path[0] ?? 'record'), rule: RULE.test(issue.message) ? issue.message : issue.code })
    return { ok: false, recordIndex, line, key: undefined, issues }
  }
  const v = parsed.data as Partial<Record<OrientationColumn, string>>
  let person: OrientationRow['person'] | undefined
  if (v.nir !== undefined || v.dtnai !== undefined) {
    if (v.nir === undefined) issues.push({ field: 'nir', rule: 'required' })
    if (v.dtnai === undefined) issues.push({ field: 'dtnai', rule: 'required' })
    if (v.nir !== undefined && v.dtnai !== undefined) person = { by: 'nir', nir13: v.nir, dtnai: v.dtnai }
  } else if (v.numdemrsa !== undefined || v.rolepers !== undefined) {
    if (v.numdemrsa === undefined) issues.push({ field: 'numdemrsa', rule: 'required' })
    if (v.rolepers === undefined) issues.push({ field: 'rolepers', rule: 'required' })
    if (v.numdemrsa !== undefined && v.rolepers !== undefined) {
      person = { by: 'dossier', numdemrsa: v.numdemrsa, rolepers: v.rolepers, organisme: v.organisme as 'CAF' | 'MSA' | undefined }
    }
  } else {
    issues.push({ field: 'person', rule: 'person_identifier_missing' })
  }
  if (v.debut !== undefined && v.fin !== undefined && v.fin < v.debut) issues.push({ field: 'fin', rule: 'end_before_start' })
  if (issues.length > 0 || !person) return { ok: false, recordIndex, line, key: undefined, issues }
  return {
    ok: true,
    value: { recordIndex, line, person, siret: v.siret!, referentEmail: v.email, startsOn: v.debut!, endsOn: v.fin },
  }
}
