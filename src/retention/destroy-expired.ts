import { appendAuditEvents } from '../audit/audit-log.ts'
import type { Queryable } from '../db/db.ts'
import type { PolicyCutoffs } from './plan.ts'
import type { RetentionPolicy } from './policy.ts'
import {
  destroyArchivedDossiers,
  destroyArchivedPersons,
  destroyArchivedRegistrations,
  selectDestroyableDossiers,
  selectDestroyableRegistrations,
  type DestroyedRows,
} from './queries.ts'
import { retentionReceipt } from './receipt.ts'
import type { RunContext } from './run-context.ts'

/** Rows destroyed by one policy, per table. */
export type DestroyedCounts = Record<string, number>

/**
 * Hard-deletes the archived rows of a flow-data policy whose archive phase is over and that no legal hold keeps:
 * dossiers with their members and history, then persons nothing refers to any more, then France Travail
 * registrations with their history. Each chunk is one transaction ending with its destruction receipt
 * (`retention.destroy`: policy, phase, cutoff, counts per table, SHA-256 of the sorted internal ids).
 */
export async function destroyExpired(ctx: RunContext, policy: RetentionPolicy, cutoffs: PolicyCutoffs): Promise<DestroyedCounts> {
  const total: DestroyedCounts = {}
  const cutoff = cutoffs.destroyAnchorCutoff
  const steps: { step: string; run: (tx: Queryable, afterId: number) => Promise<{ last: number; destroyed: DestroyedRows } | undefined> }[] = [
    {
      step: 'destroy.dossiers',
      run: async (tx, afterId) => {
        const ids = await selectDestroyableDossiers(tx, { policyId: policy.id, cutoff, afterId, limit: ctx.chunkSize })
        if (ids.length === 0) return undefined
        return { last: ids.at(-1)!, destroyed: await destroyArchivedDossiers(tx, ids, cutoff, policy.id) }
      },
    },
    {
      step: 'destroy.persons',
      run: async (tx, afterId) => {
        const ids = await destroyArchivedPersons(tx, { policyId: policy.id, cutoff, afterId, limit: ctx.chunkSize })
        if (ids.length === 0) return undefined
        return { last: ids.at(-1)!, destroyed: { keys: ids.map((id) => `archive.persons:${id}`), counts: { 'archive.persons': ids.length } } }
      },
    },
    {
      step: 'destroy.france_travail_registrations',
      run: async (tx, afterId) => {
        const rows = await selectDestroyableRegistrations(tx, { policyId: policy.id, cutoff, afterId, limit: ctx.chunkSize })
        if (rows.length === 0) return undefined
        return { last: rows.at(-1)!.id, destroyed: await destroyArchivedRegistrations(tx, rows) }
      },
    },
  ]
  for (const s of steps) {
    let afterId = 0
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
      for (const [table, n] of Object.entries(done.destroyed.counts)) total[table] = (total[table] ?? 0) + n
      ctx.log.debug({ policyId: policy.id, step: s.step, chunk: index, counts: done.destroyed.counts }, 'retention chunk destroyed')
    }
  }
  return total
}
