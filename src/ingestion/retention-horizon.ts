import { FileRejection } from './file-rejection.ts'
import type { IngestDeps, IngestOptions, LocalFile } from './ingest-file.ts'
import type { Flow } from '../flows/flow.ts'
import { parisDay } from '../calendar/paris-day.ts'
import { cutoffFor, type CalendarDate } from '../retention/duration.ts'
import type { RetentionPolicy } from '../retention/policy.ts'

/** The oldest creation day a file of the flow may have, and the declaration that sets it. */
export interface RetentionHorizon {
  /** A file created on or before this day (Europe/Paris) is older than the horizon. */
  cutoff: CalendarDate
  policyId: string
  duration: string
}

/**
 * The retention horizon of a flow: what its retention policy keeps in the active base (`active.duration`), counted
 * back from today. A file created before it brings data whose active phase would be over the day it is loaded, at
 * best, and whose records every later file supersedes: it is refused rather than loaded and archived at once.
 * Undefined when the flow names no policy known here.
 */
export function retentionHorizon(flow: Pick<Flow, 'retention'>, policies: ReadonlyMap<string, RetentionPolicy>, now: Date): RetentionHorizon | undefined {
  const policy = flow.retention ? policies.get(flow.retention) : undefined
  if (!policy) return undefined
  return { cutoff: cutoffFor(parisDay(now), policy.active.duration), policyId: policy.id, duration: policy.active.durationText }
}

export function isBeyondHorizon(horizon: RetentionHorizon, createdAt: Date): boolean {
  return parisDay(createdAt) <= horizon.cutoff
}

/** Refuses (`beyond_retention_horizon`) a file created on or before its flow's retention horizon. */
export function checkHorizon(deps: Pick<IngestDeps, 'retention'>, flow: Flow, file: Pick<LocalFile, 'name'>, createdAt: Date, options: Pick<IngestOptions, 'now'>): void {
  if (!deps.retention) return
  const horizon = retentionHorizon(flow, deps.retention, (options.now ?? (() => new Date()))())
  if (horizon && isBeyondHorizon(horizon, createdAt)) {
    throw new FileRejection(
      'beyond_retention_horizon',
      `${file.name}: created ${createdAt.toISOString()}, on or before ${horizon.cutoff}, the retention horizon of flow ${flow.id}` +
        ` (policy ${horizon.policyId} keeps data active ${horizon.duration}): its data would be due to leave the active base as it is loaded`,
    )
  }
}
