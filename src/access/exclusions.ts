/**
 * The processing exclusions: when a purpose must leave a person out, whatever the caller's portfolio. Written once,
 * as a pure rule and as its SQL twin, and used by every exit — the partner API (portfolio-queries.ts), the
 * statistical extracts (statistics/queries.ts) and the rights exports (rights/access-export.ts).
 *
 * - **Limitation** (GDPR art. 18): from `since` until `lifted_at` (exclusive), no purpose processes the person; the
 *   data is only stored.
 * - **Opposition** (art. 21, granted by rights/erasure.ts): from `since` on, the purpose objected to no longer
 *   processes the person; the other purposes still do. An opposition is never lifted (a new consent would be a new
 *   purpose). Before `since` the processing was lawful: an extract as of an earlier instant still holds the person,
 *   exactly as for a limitation.
 * - **Archive**: a person who left the active base is in the archive schema, which no exit reads; the SQL below
 *   applies to rows of `persons` only, and the pure rule says `archived` for a person read from the archive.
 */
export type Exclusion = 'archived' | 'limited' | 'opposed'

export interface LimitationSpan {
  since: Date
  liftedAt: Date | null
}

export interface StandingOpposition {
  purpose: string
  since: Date
}

/** What the exclusions read about one person. */
export interface ExclusionFacts {
  place: 'active' | 'archive'
  limitations: readonly LimitationSpan[]
  oppositions: readonly StandingOpposition[]
}

export function limitationHolds(l: LimitationSpan, now: Date): boolean {
  return l.since.getTime() <= now.getTime() && (l.liftedAt === null || l.liftedAt.getTime() > now.getTime())
}

export function oppositionHolds(o: StandingOpposition, purposeId: string, now: Date): boolean {
  return o.purpose === purposeId && o.since.getTime() <= now.getTime()
}

/** Why `purposeId` may not process the person at `now`, or undefined when it may. Archive first, then limitation. */
export function processingExclusion(facts: ExclusionFacts, purposeId: string, now: Date): Exclusion | undefined {
  if (facts.place === 'archive') return 'archived'
  if (facts.limitations.some((l) => limitationHolds(l, now))) return 'limited'
  if (facts.oppositions.some((o) => oppositionHolds(o, purposeId, now))) return 'opposed'
  return undefined
}

const ALIAS = /^[a-z_][a-z0-9_]*$/
const PARAM = /^\$\d+$/

function checked(person: string, now: string, purpose: string): void {
  if (!ALIAS.test(person) || !PARAM.test(now) || !PARAM.test(purpose)) throw new Error('exclusion SQL: invalid alias or parameter')
}

/** SQL twin of `limitationHolds` for some limitation of the person (alias of a `persons` row), at parameter `now`. */
export function limitedSql(person: string, now: string): string {
  checked(person, now, '$0')
  return `exists (
      select 1
      from limitations l
      where l.person_id = ${person}.id
        and l.since <= ${now}::timestamptz
        and (l.lifted_at is null or l.lifted_at > ${now}::timestamptz)
    )`
}

/** SQL twin of `oppositionHolds` for some opposition of the person to the purpose at parameter `purpose`. */
export function opposedSql(person: string, now: string, purpose: string): string {
  checked(person, now, purpose)
  return `exists (
      select 1
      from rights_oppositions o
      where o.person_id = ${person}.id
        and o.purpose = ${purpose}::text
        and o.since <= ${now}::timestamptz
    )`
}

/**
 * SQL twin of `processingExclusion(...) !== undefined` for a row of `persons` (the active base: `archived` cannot
 * hold there): true when the purpose at parameter `purpose` may not process the person at parameter `now`.
 * Parameters are `$n` placeholders; `person` is a table alias.
 */
export function excludedSql(person: string, params: { now: string; purpose: string }): string {
  return `(${limitedSql(person, params.now)}
    or ${opposedSql(person, params.now, params.purpose)})`
}

/**
 * `not excludedSql(...)`, the condition every exit adds to its `where`: written as two `not exists` so that the
 * planner turns them into anti-joins over the whole population.
 */
export function processableSql(person: string, params: { now: string; purpose: string }): string {
  return `not ${limitedSql(person, params.now)}
    and not ${opposedSql(person, params.now, params.purpose)}`
}

/** SQL twin of `processingExclusion` for a row of `persons`: `'limited'`, `'opposed'` or null. */
export function exclusionSql(person: string, params: { now: string; purpose: string }): string {
  return `case
      when ${limitedSql(person, params.now)} then 'limited'
      when ${opposedSql(person, params.now, params.purpose)} then 'opposed'
    end`
}
