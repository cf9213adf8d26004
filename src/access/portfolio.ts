import type { Role } from '../purposes/purpose.ts'
import { parisDay } from '../calendar/paris-day.ts'
import type { Exclusion } from './exclusions.ts'

/**
 * Who may see whom: the pure rules of the partner API's row filter. A referent sees the persons assigned to them
 * now; a structure manager those assigned to their structure; after an assignment ends, its referent (or
 * structure) keeps read-only access for a grace period, then loses it. An instructor — an agent of the département,
 * the RSA authority, whose data this is — sees every person of the active base (never the archive). Every other
 * case, including a person the purpose may not process (exclusions.ts: limitation, opposition, archive), is "not
 * found" for the caller.
 *
 * Days are civil days in Europe/Paris; assignment dates are inclusive.
 */

export interface AssignmentSpan {
  /** `YYYY-MM-DD`, inclusive. */
  startsOn: string
  /** `YYYY-MM-DD`, inclusive; null while open. */
  endsOn: string | null
}

export type PortfolioRelation = 'referent' | 'structure' | 'departement'

export interface PortfolioAccess {
  via: PortfolioRelation
  /**
   * `current`: assigned today (or, through `departement`, in the active base); `grace`: the assignment ended,
   * access is read-only until `until`.
   */
  mode: 'current' | 'grace'
  readOnly: boolean
  /** Last day of access (`YYYY-MM-DD`): the assignment's end, or the end of the grace period; null when open. */
  until: string | null
}

export type AccessDecision =
  | { granted: true; access: PortfolioAccess }
  | { granted: false; reason: 'role_without_portfolio' | 'not_in_portfolio' | Exclusion }

/**
 * What gives a role access: assignments naming the user as referent, or naming the user's structure; for the
 * département's instructors, being in the active base.
 */
export function portfolioRelation(role: Role): PortfolioRelation | undefined {
  if (role === 'referent') return 'referent'
  if (role === 'structure-manager') return 'structure'
  if (role === 'instructor') return 'departement'
  return undefined
}

/** An instructor's access: not through an assignment, so no end and no grace period. */
const DEPARTEMENT_ACCESS: PortfolioAccess = { via: 'departement', mode: 'current', readOnly: false, until: null }

export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

/**
 * The SQL pre-filter equivalent to `accessThrough`: an assignment can grant access today when
 * `starts_on <= today and (ends_on is null or (ends_on >= starts_on and ends_on >= endedNoEarlierThan))`.
 */
export function portfolioWindow(now: Date, graceDays: number): { today: string; endedNoEarlierThan: string } {
  const today = parisDay(now)
  return { today, endedNoEarlierThan: addDays(today, -graceDays) }
}

/** The access one assignment gives today, if any. */
export function accessThrough(span: AssignmentSpan, via: PortfolioRelation, today: string, graceDays: number): PortfolioAccess | undefined {
  if (span.startsOn > today) return undefined
  if (span.endsOn === null) return { via, mode: 'current', readOnly: false, until: null }
  if (span.endsOn < span.startsOn) return undefined // cancelled before it began
  if (span.endsOn >= today) return { via, mode: 'current', readOnly: false, until: span.endsOn }
  const graceEnd = addDays(span.endsOn, graceDays)
  if (today <= graceEnd) return { via, mode: 'grace', readOnly: true, until: graceEnd }
  return undefined
}

/** The best access among a person's assignments to this caller: current beats grace; the later end wins. */
export function bestAccess(spans: readonly AssignmentSpan[], via: PortfolioRelation, now: Date, graceDays: number): PortfolioAccess | undefined {
  if (via === 'departement') return DEPARTEMENT_ACCESS
  const today = parisDay(now)
  let best: PortfolioAccess | undefined
  for (const span of spans) {
    const access = accessThrough(span, via, today, graceDays)
    if (!access) continue
    if (!best || rank(access) > rank(best)) best = access
  }
  return best
}

function rank(a: PortfolioAccess): number {
  if (a.mode === 'current') return a.until === null ? Number.MAX_SAFE_INTEGER : 2e8 + Number(a.until.replaceAll('-', ''))
  return Number(a.until!.replaceAll('-', ''))
}

/**
 * The decision for one person: `assignments` are the person's assignments that name this caller (as referent, or
 * their structure for a structure manager; none for an instructor); `exclusion` what keeps the caller's purpose
 * from processing the person now, if anything (`processingExclusion`, or its SQL twin `exclusionSql`).
 */
export function decideAccess(input: {
  role: Role
  assignments: readonly AssignmentSpan[]
  exclusion: Exclusion | undefined
  now: Date
  graceDays: number
}): AccessDecision {
  const via = portfolioRelation(input.role)
  if (!via) return { granted: false, reason: 'role_without_portfolio' }
  const access = bestAccess(input.assignments, via, input.now, input.graceDays)
  if (!access) return { granted: false, reason: 'not_in_portfolio' }
  if (input.exclusion) return { granted: false, reason: input.exclusion }
  return { granted: true, access }
}
