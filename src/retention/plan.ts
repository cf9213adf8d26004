import { parisDay } from '../calendar/paris-day.ts'
import { addDuration, cutoffFor, type CalendarDate, type Duration } from './duration.ts'
import { anchorDay, type AnchorFacts } from './anchors.ts'
import type { RetentionPhase, RetentionPolicy } from './policy.ts'

/**
 * The pure rules of retention: when each phase ends, and what a run must do with a row. When a clock starts is
 * anchors.ts. The SQL of archive-queries.ts and destroy-queries.ts applies the same rules to whole tables through
 * the cutoff days computed here (`anchor day <= cutoff` ⇔ `anchor day + duration <= today`), so a run never loads
 * rows to decide on them.
 */

export type RowFate = 'active' | 'archive' | 'destroy'

export interface RowDecision {
  fate: RowFate
  /** The day the active phase ends (the row moves to the archive), when its clock has started. */
  activeEnds: CalendarDate | null
  /** The day destruction is due, when known. */
  destroyDue: CalendarDate | null
  /** True when a legal hold is what keeps the row from being destroyed. */
  heldBack: boolean
}

function phaseEnd(phase: RetentionPhase, facts: AnchorFacts): CalendarDate | null {
  const day = anchorDay(phase.anchor, facts)
  return day === null ? null : addDuration(day, phase.duration)
}

/**
 * Where a row of the active base stands on `today`: still active, to archive, or to destroy (past both phases).
 * A held row may be archived but is never destroyed; under a policy without archive phase it stays active while
 * held (nowhere else keeps it whole).
 */
export function decideActiveRow(policy: RetentionPolicy, facts: AnchorFacts, today: CalendarDate, held: boolean): RowDecision {
  const activeEnds = phaseEnd(policy.active, facts)
  if (activeEnds === null || today < activeEnds) {
    return { fate: 'active', activeEnds, destroyDue: activeEnds && destroyDueFromActive(policy, facts, activeEnds), heldBack: false }
  }
  const destroyDue = destroyDueFromActive(policy, facts, today)
  if (!policy.archive) {
    if (held) return { fate: 'active', activeEnds, destroyDue, heldBack: true }
    return { fate: destroyDue !== null && today >= destroyDue ? 'destroy' : 'active', activeEnds, destroyDue, heldBack: false }
  }
  if (destroyDue !== null && today >= destroyDue) {
    // Due for destruction already: it goes through the archive and is destroyed in the same run, unless held.
    return { fate: held ? 'archive' : 'destroy', activeEnds, destroyDue, heldBack: held }
  }
  return { fate: 'archive', activeEnds, destroyDue, heldBack: false }
}

/** The archive clock's anchor day as a row enters the archive (the archiving day when that clock has not started). */
export function archiveAnchorDay(policy: RetentionPolicy, facts: AnchorFacts, archivedOn: CalendarDate): CalendarDate {
  if (!policy.archive) return archivedOn
  return anchorDay(policy.archive.anchor, facts) ?? archivedOn
}

function destroyDueFromActive(policy: RetentionPolicy, facts: AnchorFacts, archivedOn: CalendarDate): CalendarDate | null {
  if (!policy.archive) {
    const end = phaseEnd(policy.active, facts)
    return end === null ? null : addDuration(end, policy.destroyAfter)
  }
  return destroyDueFromArchiveAnchor(policy, archiveAnchorDay(policy, facts, archivedOn))
}

/** When an archived row whose archive clock started on `anchorDay` is due for destruction. */
export function destroyDueFromArchiveAnchor(policy: RetentionPolicy, archiveAnchor: CalendarDate): CalendarDate {
  const duration = policy.archive?.duration ?? policy.active.duration
  return addDuration(addDuration(archiveAnchor, duration), policy.destroyAfter)
}

/** Where an archived row stands on `today`. */
export function decideArchivedRow(policy: RetentionPolicy, archiveAnchor: CalendarDate, today: CalendarDate, held: boolean): RowDecision {
  const destroyDue = destroyDueFromArchiveAnchor(policy, archiveAnchor)
  const due = today >= destroyDue
  return { fate: due && !held ? 'destroy' : 'archive', activeEnds: null, destroyDue, heldBack: due && held }
}

/** The cutoff days of one policy on `today`: rows whose anchor day is on or before a cutoff are due. */
export interface PolicyCutoffs {
  policyId: string
  today: CalendarDate
  /** Active rows whose active-phase anchor day is <= this leave the active base. */
  activeAnchorCutoff: CalendarDate
  /** Archived rows whose archive anchor day is <= this are destroyed (rows of a policy without archive too). */
  destroyAnchorCutoff: CalendarDate
}

export function policyCutoffs(policy: RetentionPolicy, today: CalendarDate): PolicyCutoffs {
  const archiveDuration: Duration = policy.archive?.duration ?? policy.active.duration
  return {
    policyId: policy.id,
    today,
    activeAnchorCutoff: cutoffFor(today, policy.active.duration),
    destroyAnchorCutoff: cutoffFor(today, (day) => addDuration(addDuration(day, archiveDuration), policy.destroyAfter)),
  }
}

/** The plan of a run: today's civil day and each policy's cutoffs. */
export interface RetentionPlan {
  now: Date
  today: CalendarDate
  cutoffs: Map<string, PolicyCutoffs>
}

export function planRetention(policies: ReadonlyMap<string, RetentionPolicy>, now: Date): RetentionPlan {
  const today = parisDay(now)
  const cutoffs = new Map<string, PolicyCutoffs>()
  for (const policy of policies.values()) cutoffs.set(policy.id, policyCutoffs(policy, today))
  return { now, today, cutoffs }
}
