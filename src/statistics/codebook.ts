import { codeLabel, codeListOf, fieldCodes } from '../labels/code-labels.ts'
import { exposedLabel } from '../labels/field-labels.ts'
import { levelLabel, transformLabel } from '../labels/generalisation-labels.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { exposedName, type Purpose, type PurposeField } from '../purposes/purpose.ts'
import { csvLine } from './csv-file.ts'
import type { AggregateTable, QuasiIdentifier, Statistics } from './declaration.ts'
import { levelName, SUPPRESSED, type LevelSpec } from './hierarchies.ts'

/**
 * The codebook of an extract (pure): for each column of the CSV, its French label, its type, the generalisation
 * applied to it and what its codes mean (from the label catalogue, src/labels/). Written beside the extract as
 * `<extract>.codebook.csv` and inside the manifest, so that a statistician reads the file without asking anyone.
 *
 * Types are those a reader declares: `string` (codes, département, bands: `01` and `2A` stay text), `integer`,
 * `number`, `boolean` (`true`/`false`), `date`. `dtype_pandas` is what `pandas.read_csv(dtype=...)` takes:
 *
 *   cb = pd.read_csv('x.codebook.csv', dtype=str); df = pd.read_csv('x.csv', dtype=dict(zip(cb.colonne, cb.dtype_pandas)))
 */
export type CodebookType = 'string' | 'integer' | 'number' | 'boolean' | 'date'

export const PANDAS_DTYPES: Record<CodebookType, string> = {
  string: 'string',
  integer: 'Int64',
  number: 'Float64',
  boolean: 'boolean',
  // Read as text, then pd.to_datetime: a column of dates may hold an empty cell.
  date: 'string',
}

export interface CodebookColumn {
  name: string
  label: string
  type: CodebookType
  dtypePandas: string
  role: 'pseudonym' | 'quasi-identifier' | 'sensitive' | 'measure' | 'dimension' | 'count' | 'flag'
  /** The canonical field it comes from, when it does. */
  field?: string
  /** The hierarchy level the extract was generalised to (quasi-identifiers, table dimensions). */
  level?: string
  /** In French: what was done to the value before it left (`année seule ; tranche de 10 ans`), or `aucune`. */
  generalisation: string
  codes: { code: string; label: string }[]
}

export const PANDAS_ONE_LINER =
  "import pandas as pd; cb = pd.read_csv('<extrait>.codebook.csv', dtype=str, keep_default_na=False); df = pd.read_csv('<extrait>.csv', dtype=dict(zip(cb.colonne, cb.dtype_pandas)), keep_default_na=False, na_values=[''])"

export const EMPTY_CELL_MEANING = 'Une cellule vide signifie « valeur non renseignée » ; « * » signifie « valeur supprimée par la généralisation ».'

function baseType(field: PurposeField | undefined): CodebookType {
  if (!field) return 'string'
  switch (field.transform) {
    case 'year':
      return 'integer'
    case 'postcode-to-departement':
    case 'age-band':
    case 'truncate':
      return 'string'
    default:
      break
  }
  switch (FIELDS_BY_ID.get(field.field)?.type) {
    case 'integer':
      return 'integer'
    case 'decimal':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'date':
      return 'date'
    default:
      return 'string'
  }
}

/** The type of a column once generalised to `level`. */
function levelType(qi: QuasiIdentifier, level: LevelSpec, base: CodebookType): CodebookType {
  const name = levelName(level)
  if (name === SUPPRESSED || typeof level !== 'string') return 'string'
  switch (qi.hierarchy) {
    case 'date':
      return name === 'year' ? 'integer' : 'string'
    case 'commune':
      return 'string'
    case 'count':
      return name === 'exact' ? 'integer' : 'string'
    case 'categorical':
      return base
  }
}

function valueCodes(field: PurposeField | undefined, type: CodebookType): { code: string; label: string }[] {
  if (type === 'boolean') {
    return [
      { code: 'true', label: 'oui' },
      { code: 'false', label: 'non' },
    ]
  }
  if (!field || field.transform !== 'keep') return []
  return fieldCodes(field.field)
}

function levelCodes(qi: QuasiIdentifier, level: LevelSpec, field: PurposeField | undefined, type: CodebookType): { code: string; label: string }[] {
  const name = levelName(level)
  if (name === SUPPRESSED) return [{ code: SUPPRESSED, label: 'valeur supprimée (généralisation maximale)' }]
  if (typeof level !== 'string') {
    const list = field ? codeListOf(field.field) : undefined
    const groups = new Map<string, string[]>()
    for (const [code, group] of Object.entries(level.map)) groups.set(group, [...(groups.get(group) ?? []), code])
    const codes = [...groups].map(([group, members]) => ({
      code: group,
      label: `regroupe ${members.map((c) => (list && codeLabel(list, c) ? `${c} (${codeLabel(list, c)})` : c)).join(', ')}`,
    }))
    const other = level.other ?? 'autre'
    if (!groups.has(other)) codes.push({ code: other, label: 'tout autre code' })
    return codes
  }
  const cap = /^cap-(\d+)$/.exec(name)
  if (qi.hierarchy === 'count' && cap) return [{ code: `${cap[1]}+`, label: `${cap[1]} ou plus` }]
  if (qi.hierarchy === 'categorical') return valueCodes(field, type)
  return []
}

function generalisationOf(field: PurposeField | undefined, qi?: QuasiIdentifier, level?: LevelSpec): string {
  const parts: string[] = []
  if (field && field.transform !== 'keep') parts.push(transformLabel(field.transform, field.length))
  if (qi && level !== undefined) {
    const name = levelName(level)
    const identity = name === 'keep' || name === 'exact' || (name === 'year' && field?.transform === 'year') || (name === 'departement' && field?.transform === 'postcode-to-departement')
    if (!identity) parts.push(levelLabel(qi.hierarchy, name))
  }
  return parts.join(' ; ') || 'aucune'
}

function qualified(label: string, qi: QuasiIdentifier | undefined, level: LevelSpec | undefined): string {
  if (!qi || level === undefined) return label
  const name = levelName(level)
  if (name === SUPPRESSED) return `${label} (supprimé)`
  if (/^band-\d+$/.test(name) || /^cap-\d+$/.test(name) || typeof level !== 'string') return `${label}, ${levelLabel(qi.hierarchy, name)}`
  return label
}

/** One column of the purpose, at a level of its hierarchy when it is a quasi-identifier. */
function purposeColumn(purpose: Purpose, stats: Statistics, name: string, role: CodebookColumn['role'], levelOfColumn?: string): CodebookColumn {
  const field = purpose.fields.find((f) => f.transform !== 'omit' && exposedName(f) === name)
  const qi = stats.quasi_identifiers.find((q) => q.column === name)
  const level = qi && levelOfColumn !== undefined ? qi.levels.find((l) => levelName(l) === levelOfColumn) ?? levelOfColumn : undefined
  const base = baseType(field)
  const type = qi && level !== undefined ? levelType(qi, level, base) : base
  const label = field ? exposedLabel(field.field, field.transform, field.length) : name
  return {
    name,
    label: qualified(label, qi, level),
    type,
    dtypePandas: PANDAS_DTYPES[type],
    role,
    ...(field ? { field: field.field } : {}),
    ...(level !== undefined ? { level: levelName(level) } : {}),
    generalisation: generalisationOf(field, qi, level),
    codes: qi && level !== undefined ? levelCodes(qi, level, field, type) : valueCodes(field, type),
  }
}

/** The codebook of a microdata extract: pseudonym, quasi-identifiers at their chosen levels, sensitive attributes, measures. */
export function microdataCodebook(purpose: Purpose, stats: Statistics, generalisation: Readonly<Record<string, string>>): CodebookColumn[] {
  return [
    {
      name: stats.pseudonym_column,
      label: 'Pseudonyme de la personne (propre au destinataire, stable d’un extrait à l’autre sous la même clé)',
      type: 'string',
      dtypePandas: PANDAS_DTYPES.string,
      role: 'pseudonym',
      generalisation: 'pseudonyme à clé (HMAC-SHA256), sans lien calculable avec l’identité',
      codes: [],
    },
    ...stats.quasi_identifiers.map((qi) => purposeColumn(purpose, stats, qi.column, 'quasi-identifier', generalisation[qi.column] ?? levelName(qi.levels[0]!))),
    ...stats.sensitive.map((c) => purposeColumn(purpose, stats, c, 'sensitive')),
    ...stats.measures.map((c) => purposeColumn(purpose, stats, c, 'measure')),
  ]
}

/** The codebook of an aggregate table: its dimensions at their levels, the count, the secret flag. */
export function aggregateCodebook(purpose: Purpose, stats: Statistics, table: AggregateTable): CodebookColumn[] {
  const dimension = (d: { column: string; level?: string | undefined }) => {
    const qi = stats.quasi_identifiers.find((q) => q.column === d.column)
    const column = purposeColumn(purpose, stats, d.column, 'dimension', qi ? (d.level ?? levelName(qi.levels[0]!)) : undefined)
    // A dimension also holds the margins' `Total`: it is read as text whatever its values.
    return { ...column, type: 'string' as const, dtypePandas: PANDAS_DTYPES.string, codes: [...column.codes, { code: 'Total', label: 'total (marge du tableau)' }] }
  }
  return [
    ...table.rows.map(dimension),
    ...table.columns.map(dimension),
    {
      name: 'effectif',
      label: 'Nombre de personnes (vide quand la case est soumise au secret)',
      type: 'integer',
      dtypePandas: PANDAS_DTYPES.integer,
      role: 'count',
      generalisation: `secret statistique : aucun effectif publié sous ${table.threshold}, secret secondaire`,
      codes: [],
    },
    {
      name: 'secret',
      label: 'Case soumise au secret statistique',
      type: 'integer',
      dtypePandas: PANDAS_DTYPES.integer,
      role: 'flag',
      generalisation: 'aucune',
      codes: [
        { code: '0', label: 'effectif publié' },
        { code: '1', label: 'effectif non publié (secret primaire ou secondaire)' },
      ],
    },
  ]
}

export const CODEBOOK_HEADER = ['colonne', 'libelle', 'type', 'dtype_pandas', 'generalisation', 'niveau', 'champ', 'codes'] as const

/** The codebook as CSV (one line per column; codes as `code = libellé`, separated by ` | `). */
export function codebookCsv(columns: readonly CodebookColumn[], delimiter: string): string {
  let out = csvLine([...CODEBOOK_HEADER], delimiter)
  for (const c of columns) {
    out += csvLine([c.name, c.label, c.type, c.dtypePandas, c.generalisation, c.level ?? '', c.field ?? '', c.codes.map((x) => `${x.code} = ${x.label}`).join(' | ')], delimiter)
  }
  return out
}
