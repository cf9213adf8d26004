/**
 * Generalisation hierarchies of quasi-identifiers (pure). A hierarchy maps a projected value to its label at a
 * named level, from the least generalised level to the most. Every hierarchy also accepts the level `*`, which
 * suppresses the attribute entirely (declare it last only if the recipient can do without the attribute).
 *
 * - `date`: a date (`YYYY-MM-DD`), a year (`YYYY` or a number, e.g. after the purpose's `year` transform) →
 *   `month` (YYYY-MM) → `year` → `band-5` (1980-1984) → `band-10` (1980-1989) → `band-20`. Bands are of birth
 *   years, not ages, so a person's band does not change from one monthly extract to the next.
 * - `commune`: an INSEE commune code (75056, 2A004, 97411) → `commune` → `departement` (75, 2A, 974). A value
 *   that is already a département code (the `postcode-to-departement` transform) stays as is at `departement`.
 * - `count`: a small count such as the household size → `exact` → `cap-N` (values ≥ N become `N+`).
 * - `categorical`: a code → `keep`, or `{ name, map }` grouping codes (unmapped codes become `other`, default `autre`).
 */
export const HIERARCHY_KINDS = ['date', 'commune', 'count', 'categorical'] as const
export type HierarchyKind = (typeof HIERARCHY_KINDS)[number]

export type LevelSpec = string | { name: string; map: Record<string, string>; other?: string }

export const SUPPRESSED = '*'

export function levelName(level: LevelSpec): string {
  return typeof level === 'string' ? level : level.name
}

const DATE_LEVELS = ['month', 'year', 'band-5', 'band-10', 'band-20']
const COMMUNE_LEVELS = ['commune', 'departement']

/** Why a level is not valid for a hierarchy kind, or undefined when it is. */
export function levelProblem(kind: HierarchyKind, level: LevelSpec): string | undefined {
  const name = levelName(level)
  if (name === SUPPRESSED) return undefined
  switch (kind) {
    case 'date':
      return DATE_LEVELS.includes(name) && typeof level === 'string' ? undefined : `known levels: ${DATE_LEVELS.join(', ')}, *`
    case 'commune':
      return COMMUNE_LEVELS.includes(name) && typeof level === 'string' ? undefined : `known levels: ${COMMUNE_LEVELS.join(', ')}, *`
    case 'count':
      return typeof level === 'string' && (name === 'exact' || /^cap-[1-9][0-9]?$/.test(name)) ? undefined : 'known levels: exact, cap-N (N from 1 to 99), *'
    case 'categorical':
      if (typeof level === 'string') return name === 'keep' ? undefined : 'known levels: keep, { name, map }, *'
      return Object.keys(level.map).length > 0 ? undefined : 'a grouping level needs a non-empty map'
  }
}

/** The label of `value` at `level`; null stays null (a missing value is a category of its own). */
export function generalise(kind: HierarchyKind, level: LevelSpec, value: unknown): string | null {
  const name = levelName(level)
  if (name === SUPPRESSED) return SUPPRESSED
  if (value === null || value === undefined || value === '') return null
  switch (kind) {
    case 'date':
      return generaliseDate(name, value)
    case 'commune':
      return generaliseCommune(name, String(value).trim().toUpperCase())
    case 'count':
      return generaliseCount(name, value)
    case 'categorical': {
      const text = String(value)
      if (typeof level === 'string') return text
      return level.map[text] ?? level.other ?? 'autre'
    }
  }
}

function generaliseDate(level: string, value: unknown): string | null {
  const text = typeof value === 'number' ? String(value) : String(value).trim()
  const match = /^(\d{4})(?:-(\d{2})(?:-\d{2})?)?$/.exec(text)
  if (!match) return null
  const year = Number(match[1])
  switch (level) {
    case 'month':
      // A bare year cannot be made finer: it stays a year.
      return match[2] ? `${match[1]}-${match[2]}` : match[1]!
    case 'year':
      return match[1]!
    default: {
      const width = Number(level.slice('band-'.length))
      const low = Math.floor(year / width) * width
      return `${low}-${low + width - 1}`
    }
  }
}

/** The département of an INSEE commune code: two characters, three overseas (97x, 98x), Corsica 2A/2B. */
export function departementOfCommune(code: string): string | null {
  if (/^(97|98)\d{3}$/.test(code)) return code.slice(0, 3)
  if (/^(\d{2}|2A|2B)\d{3}$/.test(code)) return code.slice(0, 2)
  if (/^(\d{2}|2A|2B|97\d|98\d)$/.test(code)) return code
  return null
}

function generaliseCommune(level: string, code: string): string | null {
  if (level === 'commune') return /^(\d{2}|2A|2B)\d{3}$/.test(code) || /^(\d{2}|2A|2B|97\d|98\d)$/.test(code) ? code : null
  return departementOfCommune(code)
}

function generaliseCount(level: string, value: unknown): string | null {
  const n = typeof value === 'number' ? value : Number(String(value).trim())
  if (!Number.isInteger(n) || n < 0) return null
  if (level === 'exact') return String(n)
  const cap = Number(level.slice('cap-'.length))
  return n >= cap ? `${cap}+` : String(n)
}
