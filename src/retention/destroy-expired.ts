import { appendAuditEvents } from '../audit/audit-log.ts'
import type { Queryable } from '../db/db.ts'
import type { PolicyCutoffs } from './plan.ts'
import type { RetentionPolicy } from './policy.ts'
import {
  destroyArchivedDossiers,
  destroyArchivedPersons,
  destroyPersonDependents,
  destroyArchivedRegistrations,
  selectDestroyableDossiers,
  selectDestroyableRegistrations,
  ARCHIVE_CURSOR_START,
  type ArchiveCursor,
  type DestroyedRows,
} from './destroy-queries.ts'
import { retentionReceipt } from './receipt.ts'
import { betweenChunks, type RunContext } from './run-context.ts'

/** Rows destroyed by one policy, per table. */
export type DestroyedCounts = Record<string, number>

/**
 * Rows per destroy transaction: a tenth of the archive's. Deleting goes about five times faster per row than
 * archiving, in denser bursts: with chunks of the same size the API's p99 reached about three times its idle value
 * while destroying, with chunks a tenth the size about twice (bench/retention.bench.ts), still far above the
 * required rate.
 */
export function destroyChunkSize(chunkSize: number): number {
  return Math.max(1, Math.floor(chunkSize / 10))
}

/**
 * Hard-deletes the archived rows of a flow-data policy whose archive phase is over and that no legal hold keeps:
 * dossiers with their members and history, then persons nothing refers to any more, then France Travail
 * registrations with their history. Each chunk is one transaction ending with its destruction receipt
 * (`retention.destroy`: policy, phase, cutoff, counts per table, SHA-256 of the sorted internal ids).
 */
export async function destroyExpired(ctx: RunContext, policy: RetentionPolicy, cutoffs: PolicyCutoffs): Promise<DestroyedCounts> {
  const total: DestroyedCounts = {}
  const cutoff = cutoffs.destroyAnchorCutoff
  const destroyChunk = destroyChunkSize(ctx.chunkSize)
  type Step = (tx: Queryable, after: ArchiveCursor) => Promise<{ last: ArchiveCursor; destroyed: DestroyedRows } | undefined>
  const steps: { step: string; run: Step }[] = [
    {
      step: 'destroy.dossiers',
      run: async (tx, after) => {
        const { ids, last } = await selectDestroyableDossiers(tx, { policyId: policy.id, cutoff, after, limit: destroyChunk })
        if (!last) return undefined
        return { last, destroyed: await destroyArchivedDossiers(tx, ids, cutoff, policy.id) }
      },
    },
    {
      step: 'destroy.persons',
      run: async (tx, after) => {
        const persons = await destroyArchivedPersons(tx, { policyId: policy.id, cutoff, after, limit: destroyChunk })
        const last = persons.at(-1)
        if (!last) return undefined
        const dependents = await destroyPersonDependents(tx, persons.map((p) => p.id))
        return {
          last: { day: last.anchorDay, id: last.id },
          destroyed: { keys: [...persons.map((p) => `archive.persons:${p.id}`), ...dependents.keys], counts: { 'archive.persons': persons.length, ...dependents.counts } },
        }
      },
    },
    {
      step: 'destroy.france_travail_registrations',
      run: async (tx, after) => {
        const { rows, last } = await selectDestroyableRegistrations(tx, { policyId: policy.id, cutoff, after, limit: destroyChunk })
        if (!last) return undefined
        return { last, destroyed: await destroyArchivedRegistrations(tx, rows) }
      },
    },
  ]
  for (const s of steps) {
    let afterId: ArchiveCursor = ARCHIVE_CURSOR_START
    for (let index = 0; ; index++) {
      const done = await ctx.db.transaction(async (tx) => {
        const result = await s.run(tx, afterId)
        if (!result) return undefined
        await appendAuditEvents(tx, [
          retentionReceipt({
            action: 'retention.destroy',
            runId: ctx.runId,
            policyId: policy.id,
            phase: 'archive',
            anchorCutoff: cutoff,
            today: ctx.today,
            counts: result.destroyed.counts,
            keys: result.destroyed.keys,
            occurredAt: ctx.now,
            chunk: index,
          }),
        ])
        await ctx.onChunk?.({ step: s.step, policyId: policy.id, index, rows: result.destroyed.keys.length })
        return result
      })
      if (!done) break
      afterId = done.last
      await betweenChunks(ctx)
      for (const [table, n] of Object.entries(done.destroyed.counts)) total[table] = (total[table] ?? 0) + n
      ctx.log.debug({ policyId: policy.id, step: s.step, chunk: index, counts: done.destroyed.counts }, 'retention chunk destroyed')
    }
  }
  return total
}
