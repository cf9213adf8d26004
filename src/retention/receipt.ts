import { createHash } from 'node:crypto'
import type { AuditEventInput } from '../audit/chain.ts'

/**
 * Receipts of retention, appended to the audit log in the same transaction as the change they prove. A receipt
 * holds the policy, the phase, the cutoff, counts per table and a SHA-256 of the sorted internal ids concerned:
 * no personal value, yet the DPO can prove that given rows were destroyed (hash the ids from a backup or an
 * earlier export and compare).
 */
export type RetentionAction = 'retention.archive' | 'retention.destroy' | 'retention.minimise'

/** SHA-256 (hex) of the sorted `table:id` keys, one per line. */
export function hashIds(keys: readonly string[]): string {
  const sorted = [...keys].sort()
  return createHash('sha256').update(sorted.join('\n')).digest('hex')
}

export interface ReceiptInput {
  action: RetentionAction
  runId: string
  policyId: string
  /** `active` (rows leaving the active base), `archive` (rows destroyed from the archive), or the gateway data kind. */
  phase: string
  /** Rows whose anchor day is on or before this day were due. */
  anchorCutoff: string
  /** The civil day the run decided for. */
  today: string
  counts: Record<string, number>
  keys: readonly string[]
  occurredAt: Date
  chunk: number
  extra?: Record<string, unknown>
}

export function retentionReceipt(r: ReceiptInput): AuditEventInput {
  return {
    occurredAt: r.occurredAt,
    actor: 'passerelle:retention',
    organisation: null,
    purpose: null,
    action: r.action,
    subject: null,
    outcome: 'done',
    requestId: r.runId,
    clientAddress: null,
    details: {
      policy: r.policyId,
      phase: r.phase,
      anchorCutoff: r.anchorCutoff,
      today: r.today,
      counts: r.counts,
      ids: { count: r.keys.length, sha256: hashIds(r.keys) },
      chunk: r.chunk,
      ...(r.extra ?? {}),
    },
  }
}
