import path from 'node:path'
import type { z } from 'zod'
import { DeclarationError } from '../declarations/declaration-error.ts'
import { readYamlDir } from '../declarations/read-yaml-dir.ts'
import { closeMatches } from './close-matches.ts'
import { CONTROLLER_FILE, readController } from './controller.ts'
import { PurposeFieldSchema, PurposeSchema, type Purpose } from './purpose.ts'

/** What reading `mappings/` gave: the valid purposes, the file each came from, and every problem found. */
export interface PurposesReading {
  purposes: Map<string, Purpose>
  /** Purpose id → file as messages name it (`mappings/orientation.yaml`). */
  files: Map<string, string>
  problems: string[]
}

/**
 * Loads and validates every `mappings/<id>.yaml` (or `.yml`); the file name is the purpose id. Throws a
 * DeclarationError listing every problem (file, key path, what is known) when any file is wrong. Entry points use
 * loadDeclarations (src/declarations/), which also cross-checks the purposes against the flows and policies.
 */
export function loadPurposes(dir: string): Map<string, Purpose> {
  const { purposes, problems } = readPurposes(dir)
  if (problems.length > 0) throw new DeclarationError(problems)
  return purposes
}

/** Same as loadPurposes, but hands back the problems instead of throwing. */
export function readPurposes(dir: string): PurposesReading {
  const reading = readYamlDir(dir, PurposeSchema, {
    kind: 'purpose',
    skip: [CONTROLLER_FILE],
    extraProblems: unknownKeys,
    describeIssue: (issue, raw) => `${keyPath(issue.path, raw)}: ${describeIssue(issue, raw)}`,
  })
  const declared = readController(dir)
  const problems = [...declared.problems, ...reading.problems]
  if (reading.files.size === 0 && reading.problems.length === 0) problems.push(`${path.basename(dir)}: no purpose declared (no <id>.yaml file)`)
  const purposes = new Map<string, Purpose>()
  for (const [id, purpose] of reading.entries) {
    const controller = purpose.controller ?? declared.controller
    if (!controller) {
      if (declared.problems.length === 0) {
        problems.push(`${reading.files.get(id)}: controller: missing (declare the controller once for every purpose in ${path.join(path.basename(dir), CONTROLLER_FILE)}: name, address, dpo: { email })`)
      }
      continue
    }
    purposes.set(id, { ...purpose, id, controller })
  }
  return { purposes, files: reading.files, problems }
}

const HINTS: Record<string, string> = {
  legal_basis: 'every purpose needs a legal basis: `legal_basis: { gdpr: 6(1)(e), national: "CASF art. ..." }`',
  'legal_basis.gdpr': 'the GDPR Art. 6(1) letter, e.g. 6(1)(e)',
  'legal_basis.national': 'the national text, e.g. "CASF art. R.262-103 et suivants ; décret n° 2009-716"',
  recipients: 'every purpose needs at least one recipient: `- { role: referent, organisation_types: [ccas] }`',
  retention: 'every purpose needs a retention policy name (declared under flows/retention/)',
  fields: 'every purpose declares at least one field: `- { field: personne.nom, as: nom }`',
  source_flows: 'every purpose names the flows its data comes from (flows/<id>.yaml)',
  data_subjects: 'every purpose lists its categories of data subjects',
  controller: 'the controller: declared once in mappings/controller.yaml, or here as `controller: { name: ..., contact: ... }`',
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  // Hints say what a required key holds: given only where the key itself is missing or empty.
  const key = issue.path.every((p) => typeof p === 'string') ? issue.path.join('.') : ''
  const hint = HINTS[key] ? ` (${HINTS[key]})` : ''
  const value = valueAt(raw, issue.path)
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `missing${hint}`
      return `expected ${issue.expected}, got ${describeType(value)}`
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${String(issue.minimum)}${hint}`
      if (issue.origin === 'string') return `must not be empty${hint}`
      return `${issue.message}${hint}`
    case 'invalid_value':
      return `unknown value ${JSON.stringify(value)} (known: ${issue.values.map(String).join(', ')})`
    default:
      return issue.message
  }
}

/** Keys the schema does not know, at every level the schema names (a typo must not be silently dropped). */
function unknownKeys(raw: unknown): string[] {
  if (!isRecord(raw)) return []
  const shape = PurposeSchema.shape
  const problems = unknownIn(raw, Object.keys(shape), '')
  const nested: Record<string, string[]> = {
    controller: ['name', 'contact'],
    legal_basis: ['gdpr', 'national'],
  }
  for (const [key, known] of Object.entries(nested)) {
    if (isRecord(raw[key])) problems.push(...unknownIn(raw[key], known, key))
  }
  const lists: Record<string, string[]> = {
    article9: ['category', 'condition'],
    recipients: ['role', 'organisation_types', 'description'],
    fields: Object.keys(PurposeFieldSchema.shape),
  }
  for (const [key, known] of Object.entries(lists)) {
    const list = raw[key]
    if (!Array.isArray(list)) continue
    list.forEach((item, i) => {
      if (isRecord(item)) problems.push(...unknownIn(item, known, keyPath([key, i], raw)))
    })
  }
  return problems
}

function unknownIn(obj: Record<string, unknown>, known: string[], at: string): string[] {
  return Object.keys(obj)
    .filter((k) => !known.includes(k))
    .map((k) => {
      const close = closeMatches(k, known, 1)
      return `${at ? `${at}.` : ''}${k}: unknown key${close.length ? `, did you mean "${close[0]}"?` : ''} (known: ${known.join(', ')})`
    })
}

/** `fields[3] (personne.nom).transform`: list indexes in brackets, with the field id when there is one. */
export function keyPath(segments: readonly PropertyKey[], raw: unknown): string {
  let out = ''
  let cursor: unknown = raw
  for (const segment of segments) {
    if (typeof segment === 'number') {
      out += `[${segment}]`
      cursor = Array.isArray(cursor) ? cursor[segment] : undefined
      if (isRecord(cursor) && typeof cursor.field === 'string') out += ` (${cursor.field})`
    } else {
      out += out ? `.${String(segment)}` : String(segment)
      cursor = isRecord(cursor) ? cursor[String(segment)] : undefined
    }
  }
  return out || '(root)'
}

function valueAt(raw: unknown, segments: readonly PropertyKey[]): unknown {
  let cursor = raw
  for (const segment of segments) {
    if (Array.isArray(cursor) && typeof segment === 'number') cursor = cursor[segment]
    else if (isRecord(cursor)) cursor = cursor[String(segment)]
    else return undefined
  }
  return cursor
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'a mapping' : typeof value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
