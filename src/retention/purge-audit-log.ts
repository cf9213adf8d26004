import { appendAuditEvents } from '../audit/audit-log.ts'
import { verifyAuditChain } from '../audit/verify-chain.ts'
import { parisMidnight } from '../calendar/paris-day.ts'
import { addDuration } from './duration.ts'
import type { PolicyCutoffs } from './plan.ts'
import { hashIds, retentionReceipt } from './receipt.ts'
import { betweenChunks, type RunContext } from './run-context.ts'

const AUDIT_LOCK = 'passerelle:audit'

/**
 * The audit log's own retention: deletes the oldest events whose day is on or before the cutoff, always a prefix
 * of the chain (an event is deleted only when every earlier one is too), and records in `audit_truncations` the
 * last deleted event's sequence number and hash, where `verifyAuditChain` restarts. Each chunk holds the audit
 * lock, so appends wait for it, and ends with its own receipt. A chunk is verified against the chain before it goes
 * (a backdated or otherwise changed event stops the purge).
 *
 * Retention receipts are copied to `retention_receipts` before their events go (they carry no personal value and
 * prove a destruction for as long as anyone may ask): `verifyRetentionReceipts` checks each one still matches its
 * hash.
 */
export async function purgeAuditLog(ctx: RunContext, policyId: string, cutoffs: PolicyCutoffs): Promise<number> {
  const boundary = parisMidnight(addDuration(cutoffs.destroyAnchorCutoff, { years: 0, months: 0, days: 1 }))
  let total = 0
  for (let index = 0; ; index++) {
    const deleted = await ctx.db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [AUDIT_LOCK])
      const { rows } = await tx.query<{ first: number | null; upto: number | null }>(
        `select
           (select min(seq) from audit_events) as first,
           coalesce((select min(seq) - 1 from audit_events where occurred_at >= $1), (select max(seq) from audit_events)) as upto`,
        [boundary],
      )
      const first = rows[0]?.first ?? null
      const upto = rows[0]?.upto ?? null
      if (first === null || upto === null || upto < first) return 0
      const end = Math.min(upto, first + ctx.chunkSize - 1)
      // The events about to go must be the chain's: a changed date (to make recent events look old enough to
      // purge) or any other change stops the purge, so that a receipt and a checkpoint never certify a forged cut.
      const verdict = await verifyAuditChain(tx, 5000, new Set(), end)
      if (!verdict.ok) {
        throw new Error(`audit log: event ${verdict.brokenAt} does not match the chain (${verdict.reason}): nothing purged; run passerelle audit verify`)
      }
      const last = await tx.query<{ hash: string }>('select hash from audit_events where seq = $1', [end])
      await tx.query(
        `insert into retention_receipts (seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version)
         select seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details, prev_hash, hash, hash_version
         from audit_events
         where seq <= $1
           and action like 'retention.%'
         on conflict (seq) do nothing`,
        [end],
      )
      // What this chunk keeps, named in its own receipt (in the chain, keyed): `audit verify` finds the kept
      // receipts deleted later, even all of them.
      const kept = (await tx.query<{ seq: string }>('select seq::text as seq from retention_receipts where seq between $1 and $2 order by seq', [first, end])).rows.map((r) => r.seq)
      const result = await tx.query('delete from audit_events where seq <= $1', [end])
      // Free texts go with their events (the chain keeps only their digests, gone too).
      await tx.query('delete from audit_texts where seq <= $1', [end])
      await tx.query('insert into audit_truncations (upto_seq, last_hash, truncated_at) values ($1, $2, $3)', [end, last.rows[0]!.hash, ctx.now])
      const keys: string[] = []
      for (let seq = first; seq <= end; seq++) keys.push(`audit_events:${seq}`)
      await appendAuditEvents(tx, [
        retentionReceipt({
          action: 'retention.destroy',
          runId: ctx.runId,
          policyId,
          phase: 'active',
          anchorCutoff: cutoffs.destroyAnchorCutoff,
          today: ctx.today,
          counts: { audit_events: result.rowCount },
          keys,
          occurredAt: ctx.now,
          chunk: index,
          extra: { uptoSeq: end, fromSeq: first, keptReceipts: { count: kept.length, sha256: hashIds(kept) } },
        }),
      ])
      await ctx.onChunk?.({ step: 'destroy.audit_events', policyId, index, rows: result.rowCount })
      return result.rowCount
    })
    if (deleted === 0) break
    total += deleted
    await betweenChunks(ctx)
  }
  return total
}
