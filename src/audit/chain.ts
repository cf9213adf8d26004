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

/**
 * Deterministic JSON: object keys sorted (by UTF-16 code units) at every level, undefined members left out,
 * undefined array items as null. Written as plain loops: it runs for every audited request.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i])
    return out + ']'
  }
  const object = value as Record<string, unknown>
  const keys = Object.keys(object).sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    const member = object[key]
    if (member === undefined) continue
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member)
    first = false
  }
  return out + '}'
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
