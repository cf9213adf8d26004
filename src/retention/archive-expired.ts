import { appendAuditEvents } from '../audit/audit-log.ts'
import type { Queryable } from '../db/db.ts'
import type { PolicyCutoffs } from './plan.ts'
import type { RetentionPolicy } from './policy.ts'
import {
  archiveDossiers,
  archiveOrphanPersons,
  archiveRegistrations,
  noCounts,
  selectDueDossiers,
  selectDueOrphanPersons,
  selectDueRegistrations,
  type ArchivedCounts,
  type DueRow,
} from './archive-queries.ts'
import type { CanonicalTable } from './archive-columns.ts'
import { retentionReceipt } from './receipt.ts'
import { betweenChunks, type RunContext } from './run-context.ts'

/**
 * Moves the active rows of a flow-data policy's flows that are past their active phase into the archive schema,
 * in chunks of `chunkSize` rows, one transaction each, each with its receipt. A crash leaves whole chunks done or
 * not; a rerun picks up what is still due. Under a policy without archive phase, rows go through the archive
 * (key fields only) when their destruction is due, and the destroy step of the same run removes them.
 */
export async function archiveExpired(
  ctx: RunContext,
  policy: RetentionPolicy,
  flowIds: readonly string[],
  cutoffs: PolicyCutoffs,
  kept: Map<CanonicalTable, Set<string>>,
): Promise<ArchivedCounts> {
  const total = noCounts()
  if (flowIds.length === 0) return total
  const hasArchive = policy.archive !== undefined
  const query = {
    flowIds,
    activeAnchor: policy.active.anchor,
    archiveAnchor: policy.archive?.anchor ?? policy.active.anchor,
    // Without an archive phase the data stays active until its destruction is due.
    cutoff: hasArchive ? cutoffs.activeAnchorCutoff : cutoffs.destroyAnchorCutoff,
    today: ctx.today,
    excludeHeld: !hasArchive,
  }
  const steps: { step: string; table: string; select: (tx: Queryable, afterId: number) => Promise<DueRow[]>; move: typeof archiveDossiers }[] = [
    { step: 'archive.dossiers', table: 'dossiers', select: (tx, afterId) => selectDueDossiers(tx, { ...query, afterId, limit: ctx.chunkSize }), move: archiveDossiers },
    {
      step: 'archive.france_travail_registrations',
      table: 'france_travail_registrations',
      select: (tx, afterId) => selectDueRegistrations(tx, { ...query, afterId, limit: ctx.chunkSize }),
      move: archiveRegistrations,
    },
    {
      step: 'archive.orphan_persons',
      table: 'persons',
      select: (tx, afterId) => selectDueOrphanPersons(tx, { flowIds, cutoff: query.cutoff, afterId, limit: ctx.chunkSize }),
      move: archiveOrphanPersons,
    },
  ]
  for (const s of steps) {
    let afterId = 0
    for (let index = 0; ; index++) {
      const done = await ctx.db.transaction(async (tx) => {
        const rows = await s.select(tx, afterId)
        if (rows.length === 0) return undefined
        const counts = await s.move(tx, rows, policy.id, kept, ctx.now)
        await appendAuditEvents(tx, [
          retentionReceipt({
            action: 'retention.archive',
            runId: ctx.runId,
            policyId: policy.id,
            phase: 'active',
            anchorCutoff: query.cutoff,
            today: ctx.today,
            counts: { ...counts },
            keys: rows.map((r) => `${s.table}:${r.id}`),
            occurredAt: ctx.now,
            chunk: index,
          }),
        ])
        await ctx.onChunk?.({ step: s.step, policyId: policy.id, index, rows: rows.length })
        return { last: rows.at(-1)!.id, counts }
      })
      if (!done) break
      afterId = done.last
      await betweenChunks(ctx)
      for (const k of Object.keys(total) as (keyof ArchivedCounts)[]) total[k] += done.counts[k]
      ctx.log.debug({ policyId: policy.id, step: s.step, chunk: index, rows: done.counts }, 'retention chunk archived')
    }
  }
  return total
}
