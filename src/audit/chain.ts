import { createHash, createHmac } from 'node:crypto'

/**
 * Pure hash-chain rules of the audit log. An event's hash covers its sequence number, every field and the
 * previous event's hash, so changing, deleting or reordering any event breaks every later link.
 *
 * Two hash versions. Version 1 (events written before migration 0100) is the unkeyed SHA-256 of the event, its
 * instant to the millisecond: anyone with write access to the database could recompute it. Version 2, written
 * from then on, is an HMAC-SHA256 with a key that is never in the database (Keys.audit.chain), over the same
 * fields plus `v: 2` and the instant to the microsecond as PostgreSQL stores it.
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
  /** Counts, ids, codes: never a personal value, never text an operator typed (that goes in `texts`). */
  details: Record<string, unknown>
  /**
   * Free text an operator typed (a reason, a reference), by field name: stored outside the chain in audit_texts,
   * the event keeping only a keyed digest of each (details.texts.<field>), so it can be erased later.
   */
  texts?: Record<string, string> | undefined
  /** The rows a text concerns, so it is erased with them (internal ids, the same in the archive). */
  textOwner?: { personId?: number | null; dossierId?: number | null } | undefined
}

export type HashVersion = 1 | 2

export interface ChainedEvent extends AuditEventInput {
  seq: number
  prevHash: string
  hash: string
  hashVersion: HashVersion
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

/** The fields an event's hash covers, its instant written as given. */
function hashedFields(seq: number, prevHash: string, event: AuditEventInput, occurredAt: string): Record<string, unknown> {
  return {
    seq,
    prevHash,
    occurredAt,
    actor: event.actor,
    organisation: event.organisation,
    purpose: event.purpose,
    action: event.action,
    subject: event.subject,
    outcome: event.outcome,
    requestId: event.requestId,
    clientAddress: event.clientAddress,
    details: event.details,
  }
}

/** Version 1: unkeyed SHA-256, the instant to the millisecond (every event written before migration 0100). */
export function eventHash(seq: number, prevHash: string, event: AuditEventInput): string {
  return createHash('sha256').update(canonicalJson(hashedFields(seq, prevHash, event, event.occurredAt.toISOString()))).digest('hex')
}

/**
 * An instant to the microsecond, as `audit verify` reads it back from PostgreSQL
 * (`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`): a JS Date has milliseconds, the
 * three more digits are zeros, and a stored instant moved by less than a millisecond no longer matches.
 */
export function microsecondInstant(occurredAt: Date): string {
  return occurredAt.toISOString().replace(/Z$/, '000Z')
}

/** Version 2: keyed, and the instant to the microsecond (`instant`, as stored). */
export function eventHashV2(key: Buffer, seq: number, prevHash: string, event: AuditEventInput, instant: string): string {
  return createHmac('sha256', key).update(canonicalJson({ v: 2, ...hashedFields(seq, prevHash, event, instant) })).digest('hex')
}

/** The keyed digest an event keeps of one of its free texts: bound to the event's seq and the field's name. */
export function auditTextDigest(key: Buffer, seq: number, field: string, text: string): string {
  return createHmac('sha256', key).update(`audit-text|${seq}|${field}|${text}`).digest('base64url')
}

/**
 * Chains events after `last` with version-2 hashes. Free texts leave the event: their digests go in
 * details.texts (committed to by the hash), the texts themselves are returned beside, for audit_texts.
 */
export function chainEvents(
  last: { seq: number; hash: string },
  events: readonly AuditEventInput[],
  keys: { chain: Buffer; text: Buffer },
): ChainedEvent[] {
  let seq = last.seq
  let prevHash = last.hash
  return events.map((input) => {
    seq += 1
    const { texts, textOwner, ...event } = input
    if (texts && Object.keys(texts).length > 0) {
      const digests: Record<string, string> = {}
      for (const [field, text] of Object.entries(texts)) digests[field] = auditTextDigest(keys.text, seq, field, text)
      event.details = { ...event.details, texts: digests }
    }
    const hash = eventHashV2(keys.chain, seq, prevHash, event, microsecondInstant(event.occurredAt))
    const chained: ChainedEvent = { ...event, texts, textOwner, seq, prevHash, hash, hashVersion: 2 }
    prevHash = hash
    return chained
  })
}
