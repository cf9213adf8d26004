import type { Queryable } from '../db/db.ts'

/**
 * Searching the audit log (DPO endpoints and `passerelle audit search`): newest first, keyset on seq. A person is
 * searched by their audit pseudonym, as the subject of an event or among the persons a list request served.
 */
export interface AuditSearch {
  from?: Date | undefined
  to?: Date | undefined
  actor?: string | undefined
  organisation?: string | undefined
  purpose?: string | undefined
  action?: string | undefined
  outcome?: string | undefined
  requestId?: string | undefined
  subject?: string | undefined
  /** Only events with seq below this (the previous page's last seq). */
  beforeSeq?: number | undefined
  limit: number
}

export interface AuditEventRow {
  seq: number
  occurredAt: Date
  actor: string | null
  organisation: string | null
  purpose: string | null
  action: string
  subject: string | null
  outcome: 'granted' | 'denied' | 'done' | 'failed'
  requestId: string | null
  clientAddress: string | null
  details: Record<string, unknown>
}

export async function searchAuditEvents(db: Queryable, search: AuditSearch): Promise<AuditEventRow[]> {
  const params: unknown[] = []
  const where: string[] = []
  const p = (value: unknown) => {
    params.push(value)
    return `$${params.length}`
  }
  if (search.beforeSeq) where.push(`seq < ${p(search.beforeSeq)}`)
  if (search.from) where.push(`occurred_at >= ${p(search.from)}`)
  if (search.to) where.push(`occurred_at < ${p(search.to)}`)
  if (search.actor) where.push(`actor = ${p(search.actor.toLowerCase())}`)
  if (search.organisation) where.push(`organisation = ${p(search.organisation)}`)
  if (search.purpose) where.push(`purpose = ${p(search.purpose)}`)
  if (search.action) where.push(`action = ${p(search.action)}`)
  if (search.outcome) where.push(`outcome = ${p(search.outcome)}`)
  if (search.requestId) where.push(`request_id = ${p(search.requestId)}`)
  if (search.subject) {
    const s = p(search.subject)
    where.push(`(subject = ${s} or (details -> 'subjects') @> jsonb_build_array(${s}::text))`)
  }
  const { rows } = await db.query<{
    seq: number
    occurred_at: Date
    actor: string | null
    organisation: string | null
    purpose: string | null
    action: string
    subject: string | null
    outcome: AuditEventRow['outcome']
    request_id: string | null
    client_address: string | null
    details: Record<string, unknown> | string
  }>(
    `select seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details
     from audit_events
     ${where.length > 0 ? `where ${where.join('\n       and ')}` : ''}
     order by seq desc
     limit ${p(search.limit)}`,
    params,
  )
  return rows.map((r) => ({
    seq: r.seq,
    occurredAt: new Date(r.occurred_at),
    actor: r.actor,
    organisation: r.organisation,
    purpose: r.purpose,
    action: r.action,
    subject: r.subject,
    outcome: r.outcome,
    requestId: r.request_id,
    clientAddress: r.client_address,
    details: typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : r.details,
  }))
}
