import { auditEventOfRow, type AuditEventRow, type StoredEventRow } from '../audit/event-row.ts'
import type { Queryable } from '../db/db.ts'

export type { AuditEventRow }

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
  const { rows } = await db.query<Omit<StoredEventRow, 'instant' | 'prev_hash' | 'hash' | 'hash_version'>>(
    `select seq, occurred_at, actor, organisation, purpose, action, subject, outcome, request_id, client_address, details
     from audit_events
     ${where.length > 0 ? `where ${where.join('\n       and ')}` : ''}
     order by seq desc
     limit ${p(search.limit)}`,
    params,
  )
  return rows.map(auditEventOfRow)
}
