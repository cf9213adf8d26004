import { createHash } from 'node:crypto'

/**
 * Pure hash-chain rules of the audit log. An event's hash covers its sequence number, every field and the
 * previous event's hash, so changing, deleting or reordering any event breaks every later link.
 */
export const GENESIS_HASH = '0'.repeat(64)

export interface AuditEventInput {
  occurredAt: Date
  actor: string | null
  organisation: string | null
  purpose: string | null
  /** Short dotted name: `api.beneficiaire.read`, `retention.destroy`, `archive.show`, `extract.deliver`... */
  action: string
  /** Keyed pseudonym of the data subject (see subjectPseudonym), never a clear identity. */
  subject: string | null
  outcome: 'granted' | 'denied' | 'done' | 'failed'
  requestId: string | null
  clientAddress: string | null
  /** Counts, ids, reasons: never a personal value. */
  details: Record<string, unknown>
}

export interface ChainedEvent extends AuditEventInput {
  seq: number
  prevHash: string
  hash: string
}

/** Deterministic JSON: object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

export function eventHash(seq: number, prevHash: string, event: AuditEventInput): string {
  const body = canonicalJson({
    seq,
    prevHash,
    occurredAt: event.occurredAt.toISOString(),
    actor: event.actor,
    organisation: event.organisation,
    purpose: event.purpose,
    action: event.action,
    subject: event.subject,
    outcome: event.outcome,
    requestId: event.requestId,
    clientAddress: event.clientAddress,
    details: event.details,
  })
  return createHash('sha256').update(body).digest('hex')
}

export function chainEvents(last: { seq: number; hash: string }, events: readonly AuditEventInput[]): ChainedEvent[] {
  let seq = last.seq
  let prevHash = last.hash
  return events.map((event) => {
    seq += 1
    const hash = eventHash(seq, prevHash, event)
    const chained = { ...event, seq, prevHash, hash }
    prevHash = hash
    return chained
  })
}
