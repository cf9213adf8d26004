import { z } from 'zod'
import { hasCredentials, SftpEndpointSchema } from '../sftp/sftp-endpoint.ts'
import { FIELDS_BY_ID, type FieldId } from '../model/fields.ts'
import { closeMatches } from '../purposes/close-matches.ts'
import { HIERARCHY_KINDS, levelName, levelProblem, type LevelSpec } from './hierarchies.ts'

/**
 * The `statistics` section of a statistical purpose (`mappings/<id>.yaml`): which projected columns are
 * quasi-identifiers (with their generalisation hierarchy), sensitive attributes or measures, the disclosure rules
 * (k, maximum suppression rate, optional l-diversity), the recipients and the aggregate tables.
 *
 * Columns are the purpose's exposed names: the purpose's fields (and their transforms) decide what may leave;
 * this section decides how it is generalised and who receives it.
 */
const Id = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case (a-z, 0-9, -)')
const Column = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/)

const LevelSchema: z.ZodType<LevelSpec> = z.union([
  z.string().min(1),
  z.object({ name: z.string().min(1), map: z.record(z.string(), z.string().min(1)), other: z.string().min(1).optional() }).strict(),
])

export const QuasiIdentifierSchema = z.object({
  column: Column,
  hierarchy: z.enum(HIERARCHY_KINDS),
  /** From the least to the most generalised; the search never goes below the first one. */
  levels: z.array(LevelSchema).min(1),
}).strict()
export type QuasiIdentifier = z.infer<typeof QuasiIdentifierSchema>

/**
 * Where a recipient's extracts are pushed: declared like a flow's SFTP source (same names), plus the remote folder.
 * Host and port may name environment variables (`${VAR}`).
 */
export const SftpDestinationSchema = SftpEndpointSchema.refine(...hasCredentials)
export type SftpDestination = z.infer<typeof SftpDestinationSchema>

export const RecipientSchema = z.object({
  id: Id,
  name: z.string().min(1),
  /**
   * The organisation (as the API's tokens name it, e.g. its SIRET) whose statisticians may download this
   * recipient's extracts from `GET /v1/extracts`. Without it, extracts are only pushed or written to disk.
   */
  organisation: z.string().min(1).optional(),
  sftp: SftpDestinationSchema.optional(),
}).strict()
export type Recipient = z.infer<typeof RecipientSchema>

const DimensionSchema = z.object({ column: Column, level: z.string().min(1).optional() }).strict()
export type Dimension = z.infer<typeof DimensionSchema>

export const AggregateTableSchema = z.object({
  name: Id,
  description: z.string().optional(),
  /** Row dimensions (crossed when several) and optional column dimensions (crossed when several). */
  rows: z.array(DimensionSchema).min(1),
  columns: z.array(DimensionSchema).default([]),
  /** No published count of persons under this (INSEE rule for persons: 11). */
  threshold: z.number().int().min(2).default(11),
}).strict()
export type AggregateTable = z.infer<typeof AggregateTableSchema>

export const StatisticsSchema = z.object({
  k: z.number().int().min(2).default(11),
  max_suppression_rate: z.number().min(0).max(1).default(0.05),
  /** Name of the pseudonym column of microdata extracts. */
  pseudonym_column: Column.default('pseudonyme'),
  /** Who is counted: persons of a transmitted dossier, optionally only some roles (ROLEPERS: DEM, CJT...). */
  population: z.object({ roles: z.array(z.enum(['DEM', 'CJT', 'ENF', 'AUT', 'RDO'])).min(1).optional() }).strict().default({}),
  quasi_identifiers: z.array(QuasiIdentifierSchema).min(1),
  sensitive: z.array(Column).default([]),
  measures: z.array(Column).default([]),
  l_diversity: z.object({ attribute: Column, l: z.number().int().min(2) }).strict().optional(),
  recipients: z.array(RecipientSchema).min(1),
  aggregates: z.array(AggregateTableSchema).default([]),
  /** CSV field separator: `,` suits R and Python; `;` suits spreadsheets set to French. */
  csv_delimiter: z.enum([',', ';']).default(','),
  /** Start the CSV files (extract and codebook) with a UTF-8 byte order mark, for Excel; `passerelle extract --bom` too. */
  csv_bom: z.boolean().default(false),
}).strict()
export type Statistics = z.infer<typeof StatisticsSchema>

/**
 * What the checks need from a purpose (src/purposes/purpose.ts `Purpose`): its `statistics` section arrives as
 * the raw YAML object, validated here.
 */
export interface StatisticalPurposeLike {
  id: string
  fields: readonly { field: string; as?: string | undefined; transform: string; length?: number | undefined; consent?: { field: string } | undefined }[]
  statistics?: unknown
}

/**
 * Canonical fields that identify a person directly: a statistical purpose may not declare them at all,
 * whatever the transform (a truncated name or street is still a name or a street).
 */
export const DIRECT_IDENTIFIER_FIELDS: ReadonlySet<string> = new Set<FieldId>([
  'personne.nir',
  'personne.nom',
  'personne.nomNaissance',
  'personne.prenom',
  'personne.prenom2',
  'personne.prenom3',
  'dossier.numdemrsa',
  'dossier.matricule',
  'personne.identifiantPoleEmploi',
  'franceTravail.identifiant',
  'adresse.numeroVoie',
  'adresse.nomVoie',
  'adresse.complementDestinataire',
  'adresse.complement',
  'adresse.lieuDit',
  'adresse.horsFrance',
  'franceTravail.adresse',
  // Ways to reach the person, and the France Travail adviser's own identity (a third party's personal data).
  'dossier.telephone',
  'dossier.email',
  'franceTravail.conseiller',
  'franceTravail.conseillerPrenom',
  'franceTravail.conseillerEmail',
])

const MAX_LATTICE_NODES = 100_000

function exposed(field: StatisticalPurposeLike['fields'][number]): string {
  return field.as ?? field.field.split('.').at(-1)!
}

/**
 * Cross-checks a statistical purpose's declaration against its fields and the catalogue. Returns the problems
 * (empty when sound), each naming the purpose, the key and what is known.
 */
export function checkStatistics(purpose: StatisticalPurposeLike): string[] {
  return readStatistics(purpose).problems
}

/** The parsed statistics section (undefined when absent or invalid) and every problem found. */
/** The keys the statistics object at `path` (from zod's issue path) may have. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  const names = path.filter((segment): segment is string => typeof segment === 'string')
  const last = names.at(-1)
  const shapes: Record<string, string[]> = {
    quasi_identifiers: Object.keys(QuasiIdentifierSchema.shape),
    levels: ['name', 'map', 'other'],
    recipients: Object.keys(RecipientSchema.shape),
    aggregates: Object.keys(AggregateTableSchema.shape),
    rows: Object.keys(DimensionSchema.shape),
    columns: Object.keys(DimensionSchema.shape),
    population: ['roles'],
    l_diversity: ['attribute', 'l'],
  }
  return (last !== undefined ? shapes[last] : undefined) ?? Object.keys(StatisticsSchema.shape)
}

export function readStatistics(purpose: StatisticalPurposeLike): { statistics: Statistics | undefined; problems: string[] } {
  if (purpose.statistics === undefined) return { statistics: undefined, problems: [] }
  const parsed = StatisticsSchema.safeParse(purpose.statistics)
  if (!parsed.success) {
    return {
      statistics: undefined,
      problems: parsed.error.issues.flatMap((issue) => {
        const at = `purpose "${purpose.id}": statistics${issue.path.length > 0 ? `.${issue.path.join('.')}` : ''}`
        if (issue.code !== 'unrecognized_keys') return [`${issue.path.length > 0 ? at : `${at}.(root)`}: ${issue.message}`]
        // A misspelt setting would otherwise leave its default in force (k: 11 for a `K: 50`) without a word.
        const known = knownKeysAt(issue.path)
        return issue.keys.map((key) => {
          const close = closeMatches(key, known, 1)
          return `${at}.${key}: unknown key${close.length ? `, did you mean "${close[0]}"?` : ''} (known: ${known.join(', ')})`
        })
      }),
    }
  }
  const problems = crossCheck(purpose, parsed.data)
  return { statistics: problems.length === 0 ? parsed.data : undefined, problems }
}

function crossCheck(purpose: StatisticalPurposeLike, stats: Statistics): string[] {
  const where = `purpose "${purpose.id}": statistics`
  const problems: string[] = []
  const columns = new Map<string, StatisticalPurposeLike['fields'][number]>()
  for (const field of purpose.fields) {
    if (field.transform === 'omit') continue
    const def = FIELDS_BY_ID.get(field.field)
    // A free text of the contact or identifier categories reaches the person, whatever the list above forgot.
    if (DIRECT_IDENTIFIER_FIELDS.has(field.field) || (def?.type === 'text' && (def.category === 'contact' || def.category === 'identifiant'))) {
      problems.push(`purpose "${purpose.id}": field "${field.field}" identifies a person directly and may not be declared by a statistical purpose`)
    }
    if (field.consent) {
      // An extract projects column by column (fieldwise-projection.ts): a column that also reads its consent cannot be.
      problems.push(`purpose "${purpose.id}": field "${field.field}" is conditioned on consent (${field.consent.field}); a statistical purpose declares no consent-conditioned field`)
    }
    columns.set(exposed(field), field)
  }
  const known = [...columns.keys()].join(', ')
  const roles = new Map<string, string>()
  const claim = (column: string, role: string, key: string) => {
    if (!columns.has(column)) {
      problems.push(`${where}.${key}: "${column}" is not a column of the purpose (known: ${known})`)
      return
    }
    const previous = roles.get(column)
    if (previous) problems.push(`${where}.${key}: "${column}" is already declared as ${previous}`)
    else roles.set(column, role)
  }
  stats.quasi_identifiers.forEach((qi, i) => {
    claim(qi.column, 'a quasi-identifier', `quasi_identifiers[${i}]`)
    const names = new Set<string>()
    qi.levels.forEach((level, j) => {
      const problem = levelProblem(qi.hierarchy, level)
      if (problem) problems.push(`${where}.quasi_identifiers[${i}].levels[${j}]: "${levelName(level)}" is not a level of hierarchy "${qi.hierarchy}" (${problem})`)
      if (names.has(levelName(level))) problems.push(`${where}.quasi_identifiers[${i}]: level "${levelName(level)}" is declared twice`)
      names.add(levelName(level))
    })
    const field = columns.get(qi.column)
    if (field?.field === 'personne.dateNaissance' && qi.levels.some((l) => levelName(l) === 'month')) {
      problems.push(`${where}.quasi_identifiers[${i}]: a birth date leaves at most as a year (no level "month")`)
    }
    if (field && qi.hierarchy === 'date' && field.transform !== 'keep' && field.transform !== 'year') {
      problems.push(`${where}.quasi_identifiers[${i}]: hierarchy "date" needs a date or a year, but "${qi.column}" leaves through transform "${field.transform}" (use hierarchy "categorical")`)
    }
  })
  stats.sensitive.forEach((c, i) => claim(c, 'a sensitive attribute', `sensitive[${i}]`))
  stats.measures.forEach((c, i) => {
    claim(c, 'a measure', `measures[${i}]`)
    const field = columns.get(c)
    const type = field ? FIELDS_BY_ID.get(field.field)?.type : undefined
    if (field && type !== 'integer' && type !== 'decimal') {
      problems.push(`${where}.measures[${i}]: "${c}" is a ${type ?? 'unknown'} field; measures are integer or decimal fields`)
    }
  })
  for (const [column, field] of columns) {
    if (roles.has(column)) continue
    problems.push(`${where}: column "${column}" (field "${field.field}") is neither a quasi-identifier, a sensitive attribute nor a measure: classify it`)
  }
  // Personal attributes an attacker can know from elsewhere must be generalised and counted, never passed as is.
  for (const [column, field] of columns) {
    const def = FIELDS_BY_ID.get(field.field)
    const role = roles.get(column)
    if (def && role && role !== 'a quasi-identifier' && (def.category === 'etat-civil' || def.category === 'adresse' || def.type === 'date')) {
      problems.push(`${where}: "${column}" (${def.category}, ${def.type}) must be a quasi-identifier with a hierarchy, not ${role}`)
    }
  }
  if (columns.has(stats.pseudonym_column)) {
    problems.push(`${where}.pseudonym_column: "${stats.pseudonym_column}" is also the name of a purpose column`)
  }
  if (stats.l_diversity && !stats.sensitive.includes(stats.l_diversity.attribute)) {
    problems.push(`${where}.l_diversity.attribute: "${stats.l_diversity.attribute}" is not a sensitive attribute (declared: ${stats.sensitive.join(', ') || 'none'})`)
  }
  const nodes = stats.quasi_identifiers.reduce((n, qi) => n * qi.levels.length, 1)
  if (nodes > MAX_LATTICE_NODES) {
    problems.push(`${where}.quasi_identifiers: ${nodes} combinations of levels to search (at most ${MAX_LATTICE_NODES}): declare fewer levels or quasi-identifiers`)
  }
  const recipientIds = new Set<string>()
  stats.recipients.forEach((r, i) => {
    if (recipientIds.has(r.id)) problems.push(`${where}.recipients[${i}]: recipient id "${r.id}" is declared twice`)
    recipientIds.add(r.id)
  })
  problems.push(...checkAggregates(purpose.id, stats, roles))
  return problems
}

function checkAggregates(purposeId: string, stats: Statistics, roles: Map<string, string>): string[] {
  const where = `purpose "${purposeId}": statistics.aggregates`
  const problems: string[] = []
  const names = new Set<string>()
  const qiByColumn = new Map(stats.quasi_identifiers.map((qi) => [qi.column, qi]))
  const levelUsed = new Map<string, { level: string; table: string }>()
  stats.aggregates.forEach((table, i) => {
    if (names.has(table.name)) problems.push(`${where}[${i}]: table name "${table.name}" is declared twice`)
    names.add(table.name)
    const dims = [...table.rows, ...table.columns]
    const seen = new Set<string>()
    for (const dim of dims) {
      if (seen.has(dim.column)) problems.push(`${where}[${i}] ("${table.name}"): dimension "${dim.column}" appears twice`)
      seen.add(dim.column)
      const role = roles.get(dim.column)
      if (role !== 'a quasi-identifier' && role !== 'a sensitive attribute') {
        problems.push(`${where}[${i}] ("${table.name}"): dimension "${dim.column}" must be a quasi-identifier or a sensitive attribute`)
        continue
      }
      const qi = qiByColumn.get(dim.column)
      if (!qi) {
        if (dim.level) problems.push(`${where}[${i}] ("${table.name}"): "${dim.column}" has no hierarchy, so no level`)
        continue
      }
      const level = dim.level ?? levelName(qi.levels[0]!)
      if (!qi.levels.some((l) => levelName(l) === level)) {
        problems.push(`${where}[${i}] ("${table.name}"): "${level}" is not a declared level of "${dim.column}" (declared: ${qi.levels.map(levelName).join(', ')})`)
      }
      // Tables of one dimension at two levels of its hierarchy are linked hierarchically (the coarser totals
      // are sums of the finer cells); the suppression here protects linked margins, not hierarchies.
      const previous = levelUsed.get(dim.column)
      if (previous && previous.level !== level) {
        problems.push(
          `${where}[${i}] ("${table.name}"): "${dim.column}" is used at level "${level}" here and "${previous.level}" in "${previous.table}"; ` +
            'tables of one hierarchy at two levels are not protected jointly: use one level',
        )
      } else if (!previous) levelUsed.set(dim.column, { level, table: table.name })
    }
  })
  return problems
}

export class DeclarationProblem extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'DeclarationProblem'
  }
}

/** The checked statistics section of a purpose, or a thrown DeclarationProblem naming every problem. */
export function statisticsOf(purpose: StatisticalPurposeLike): Statistics {
  if (purpose.statistics === undefined) {
    throw new DeclarationProblem([`purpose "${purpose.id}" declares no statistics section: it is not a statistical purpose`])
  }
  const { statistics, problems } = readStatistics(purpose)
  if (!statistics) throw new DeclarationProblem(problems)
  return statistics
}
