import type { Queryable } from '../db/db.ts'

/** The matching queue as an operator lists it: ids, codes and counts; the sealed identity only on request. */
export type QueueState = 'pending' | 'linked' | 'discarded'
export type QueueReason = 'ambiguous' | 'not_found' | 'identifier_conflict'

export interface QueuedRecord {
  id: number
  flowId: string
  state: QueueState
  reason: QueueReason
  /** Persons of the active base bearing the identity now (their public ids): whom an operator chooses from. */
  candidates: string[]
  /** The record carries a France Travail identifier (linking it lets later files match by it). */
  hasIdentifier: boolean
  fileId: number
  recordIndex: number
  line: number | null
  transmittedAt: Date
  personPublicId: string | null
  resolvedBy: string | null
  resolvedAt: Date | null
  /** Sealed identity (queued-identity.ts); null once resolved. Never printed as is. */
  identitySealed: Buffer | null
}

interface Row {
  id: string | number
  flow_id: string
  state: QueueState
  reason: QueueReason
  candidates: string[] | null
  has_identifier: boolean
  file_id: string | number
  record_index: number
  line: number | null
  transmitted_at: Date
  person_public_id: string | null
  resolved_by: string | null
  resolved_at: Date | null
  identity_sealed: Buffer | Uint8Array | null
}

const SELECT = `
  select q.id, q.flow_id, q.state, q.reason,
         array(select p.public_id::text from persons p where p.identity_index = q.identity_index order by p.public_id) as candidates,
         q.identifier_index is not null as has_identifier, q.file_id, q.record_index, q.line, q.transmitted_at,
         (select p.public_id::text from persons p where p.id = q.person_id) as person_public_id,
         q.resolved_by, q.resolved_at, q.identity_sealed
  from matching_queue q`

function toQueued(r: Row): QueuedRecord {
  return {
    id: Number(r.id),
    flowId: r.flow_id,
    state: r.state,
    reason: r.reason,
    candidates: r.candidates ?? [],
    hasIdentifier: r.has_identifier,
    fileId: Number(r.file_id),
    recordIndex: r.record_index,
    line: r.line,
    transmittedAt: new Date(r.transmitted_at),
    personPublicId: r.person_public_id,
    resolvedBy: r.resolved_by,
    resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
    identitySealed: r.identity_sealed ? Buffer.from(r.identity_sealed) : null,
  }
}

/** Oldest first (the longest waiting on top); pending only unless a state is given. */
export async function listQueue(db: Queryable, options: { state?: QueueState; flowId?: string; limit: number }): Promise<QueuedRecord[]> {
  const { rows } = await db.query<Row>(
    `${SELECT}
     where q.state = $1
       and ($2::text is null or q.flow_id = $2)
     order by q.transmitted_at, q.id
     limit $3`,
    [options.state ?? 'pending', options.flowId ?? null, options.limit],
  )
  return rows.map(toQueued)
}

export async function countPending(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from matching_queue where state = 'pending'`)
  return rows[0]!.n
}

export async function findQueued(db: Queryable, id: number, options: { forUpdate?: boolean } = {}): Promise<QueuedRecord | undefined> {
  const { rows } = await db.query<Row>(`${SELECT} where q.id = $1${options.forUpdate ? ' for update of q' : ''}`, [id])
  return rows[0] ? toQueued(rows[0]) : undefined
}
