import type { Queryable } from '../db/db.ts'
import type { MatchedBy, Outcome, RequestAction, RequestType, RightsRequest } from './rights-request.ts'

/** SQL of the rights requests and their actions. */
interface RequestRow {
  id: number
  type: RequestType
  purpose: string | null
  fields: string[] | string
  match_key: string | null
  nir_index: string | null
  subject: string
  matched_by: MatchedBy
  received_on: string
  due_on: string
  extended_due_on: string | null
  extension_reason: string | null
  state: 'open' | 'closed'
  outcome: Outcome | null
  limitation_id: number | null
  opened_by: string
  opened_at: Date | string
  closed_by: string | null
  closed_at: Date | string | null
}

const COLUMNS = `id, type, purpose, fields, match_key, nir_index, subject, matched_by, received_on::text as received_on, due_on::text as due_on,
  extended_due_on::text as extended_due_on, extension_reason, state, outcome, limitation_id, opened_by, opened_at, closed_by, closed_at`

/** PGlite hands text[] back as an array; pg too. A literal `{a,b}` is parsed just in case. */
function textArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value
  const inner = value.replace(/^\{|\}$/g, '')
  return inner === '' ? [] : inner.split(',').map((s) => s.replace(/^"|"$/g, ''))
}

function toRequest(r: RequestRow): RightsRequest {
  return {
    id: Number(r.id),
    type: r.type,
    purpose: r.purpose,
    fields: textArray(r.fields),
    matchKey: r.match_key,
    nirIndex: r.nir_index,
    subject: r.subject,
    matchedBy: r.matched_by,
    receivedOn: r.received_on,
    dueOn: r.due_on,
    extendedDueOn: r.extended_due_on,
    extensionReason: r.extension_reason,
    state: r.state,
    outcome: r.outcome,
    limitationId: r.limitation_id === null ? null : Number(r.limitation_id),
    openedBy: r.opened_by,
    openedAt: new Date(r.opened_at),
    closedBy: r.closed_by,
    closedAt: r.closed_at === null ? null : new Date(r.closed_at),
  }
}

export interface NewRequest {
  type: RequestType
  purpose: string | null
  fields: readonly string[]
  matchKey: string
  nirIndex: string
  subject: string
  matchedBy: MatchedBy
  receivedOn: string
  dueOn: string
  openedBy: string
  openedAt: Date
}

export async function insertRequest(tx: Queryable, r: NewRequest): Promise<RightsRequest> {
  const { rows } = await tx.query<RequestRow>(
    `insert into rights_requests (type, purpose, fields, match_key, nir_index, subject, matched_by, received_on, due_on, opened_by, opened_at)
     values ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9, $10, $11)
     returning ${COLUMNS}`,
    [r.type, r.purpose, r.fields, r.matchKey, r.nirIndex, r.subject, r.matchedBy, r.receivedOn, r.dueOn, r.openedBy, r.openedAt],
  )
  return toRequest(rows[0]!)
}

/** One request; `forUpdate` locks it for the rest of the transaction. */
export async function selectRequest(db: Queryable, id: number, forUpdate = false): Promise<RightsRequest | undefined> {
  const { rows } = await db.query<RequestRow>(
    `select ${COLUMNS}
     from rights_requests
     where id = $1
     ${forUpdate ? 'for update' : ''}`,
    [id],
  )
  return rows[0] && toRequest(rows[0])
}

/** Open requests (or every request), earliest deadline first. */
export async function selectRequests(db: Queryable, q: { includeClosed: boolean; limit: number }): Promise<RightsRequest[]> {
  const { rows } = await db.query<RequestRow>(
    `select ${COLUMNS}
     from rights_requests
     where ($1::boolean or state = 'open')
     order by (state = 'open') desc, coalesce(extended_due_on, due_on), id
     limit $2`,
    [q.includeClosed, q.limit],
  )
  return rows.map(toRequest)
}

/** Every request about the same person (by pseudonym), oldest first. */
export async function selectRequestsOfSubject(db: Queryable, subject: string): Promise<RightsRequest[]> {
  const { rows } = await db.query<RequestRow>(
    `select ${COLUMNS}
     from rights_requests
     where subject = $1
     order by id`,
    [subject],
  )
  return rows.map(toRequest)
}

export async function updateExtension(tx: Queryable, id: number, extendedDueOn: string, reason: string): Promise<void> {
  await tx.query('update rights_requests set extended_due_on = $2, extension_reason = $3 where id = $1', [id, extendedDueOn, reason])
}

export async function updateClosed(tx: Queryable, id: number, outcome: Outcome, actor: string, at: Date): Promise<void> {
  await tx.query(`update rights_requests set state = 'closed', outcome = $2, closed_by = $3, closed_at = $4 where id = $1`, [id, outcome, actor, at])
}

export async function updateLimitation(tx: Queryable, id: number, limitationId: number): Promise<void> {
  await tx.query('update rights_requests set limitation_id = $2 where id = $1', [id, limitationId])
}

/**
 * A closed request no longer needs the person's blind indexes (its steps are done; a later request about the same
 * person is linked by the pseudonym): they are cleared, unless a contested field of the request still awaits the
 * source's correction. Returns whether they were cleared.
 */
export async function forgetClosedRequestIndexes(tx: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await tx.query(
    `update rights_requests r
     set match_key = null, nir_index = null
     where r.id = $1
       and r.state = 'closed'
       and r.match_key is not null
       and not exists (select 1 from rights_contested_fields c where c.request_id = r.id and c.closed_at is null)`,
    [id],
  )
  return rowCount > 0
}

/** After a full erasure: the requests keep only the person's pseudonym. */
export async function forgetRequestIndexes(tx: Queryable, subject: string, matchKey: string): Promise<number> {
  const { rowCount } = await tx.query(
    `update rights_requests
     set match_key = null, nir_index = null
     where subject = $1 or match_key = $2`,
    [subject, matchKey],
  )
  return rowCount
}

export async function insertAction(tx: Queryable, requestId: number, a: Omit<RequestAction, 'id'>): Promise<void> {
  await tx.query(
    `insert into rights_request_actions (request_id, occurred_at, actor, action, details)
     values ($1, $2, $3, $4, $5::jsonb)`,
    [requestId, a.occurredAt, a.actor, a.action, JSON.stringify(a.details)],
  )
}

export async function selectActions(db: Queryable, requestId: number): Promise<RequestAction[]> {
  const { rows } = await db.query<{ id: number; occurred_at: Date | string; actor: string; action: string; details: Record<string, unknown> | string }>(
    `select id, occurred_at, actor, action, details
     from rights_request_actions
     where request_id = $1
     order by id`,
    [requestId],
  )
  return rows.map((r) => ({
    id: Number(r.id),
    occurredAt: new Date(r.occurred_at),
    actor: r.actor,
    action: r.action,
    details: typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : r.details,
  }))
}

/** The live persons row of a match key, if any. */
export async function selectPersonId(db: Queryable, matchKey: string): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>('select id from persons where match_key = $1', [matchKey])
  return rows[0] ? Number(rows[0].id) : undefined
}

/** The internal id of the person a match key names, in the active base or the archive (the same id in both). */
export async function personIdOf(tx: Queryable, matchKey: string): Promise<number | null> {
  const { rows } = await tx.query<{ id: number }>(
    `select id from persons where match_key = $1
     union all
     select id from archive.persons where match_key = $1
     limit 1`,
    [matchKey],
  )
  return rows[0] ? Number(rows[0].id) : null
}
