import type { AuditEventInput } from './chain.ts'

/**
 * An audit event as the database holds it (a row of audit_events or retention_receipts) and as the code reads it
 * back: one row type for the chain's verification, the DPO's search and the CLI.
 */
export interface StoredEventRow {
  seq: number
  occurred_at: Date | string
  instant: string
  actor: string | null
  organisation: string | null
  purpose: string | null
  action: string
  subject: string | null
  outcome: AuditEventInput['outcome']
  request_id: string | null
  client_address: string | null
  details: Record<string, unknown> | string
  prev_hash: string
  hash: string
  hash_version: number
}

/** An event as stored (a row of audit_events or retention_receipts), as it was hashed. */
export function eventOfRow(row: Omit<StoredEventRow, 'seq' | 'instant' | 'prev_hash' | 'hash' | 'hash_version'>): AuditEventInput {
  return {
    occurredAt: new Date(row.occurred_at),
    actor: row.actor,
    organisation: row.organisation,
    purpose: row.purpose,
    action: row.action,
    subject: row.subject,
    outcome: row.outcome,
    requestId: row.request_id,
    clientAddress: row.client_address,
    details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
  }
}


/** An event read back for a search: what was appended, and its place in the chain. */
export type AuditEventRow = Omit<AuditEventInput, 'texts' | 'textOwner'> & { seq: number }

export function auditEventOfRow(row: Omit<StoredEventRow, 'instant' | 'prev_hash' | 'hash' | 'hash_version'>): AuditEventRow {
  return { seq: Number(row.seq), ...eventOfRow(row) }
}
