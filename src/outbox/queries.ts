import { limitedSql } from '../access/exclusions.ts'
import type { Queryable } from '../db/db.ts'

export interface OutboxMessage {
  id: number
  topic: string
  personId: number
  personPublicId: string | null
  payload: Record<string, unknown>
  idempotencyKey: string
  state: 'pending' | 'delivered' | 'dead' | 'withdrawn'
  attempts: number
  nextAttemptAt: Date
  lastError: string | null
  createdAt: Date
  deliveredAt: Date | null
}

type Row = {
  id: number
  topic: string
  person_id: number
  person_public_id: string | null
  payload: Record<string, unknown>
  idempotency_key: string
  state: OutboxMessage['state']
  attempts: number
  next_attempt_at: Date
  last_error: string | null
  created_at: Date
  delivered_at: Date | null
}

const toMessage = (r: Row): OutboxMessage => ({
  id: Number(r.id),
  topic: r.topic,
  personId: Number(r.person_id),
  personPublicId: r.person_public_id,
  payload: r.payload,
  idempotencyKey: r.idempotency_key,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: new Date(r.next_attempt_at),
  lastError: r.last_error,
  createdAt: new Date(r.created_at),
  deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
})

const COLUMNS = `m.id, m.topic, m.person_id, p.public_id::text as person_public_id, m.payload, m.idempotency_key, m.state, m.attempts,
  m.next_attempt_at, m.last_error, m.created_at, m.delivered_at`

/**
 * Messages due for delivery: pending, due, and the oldest not delivered of their person (in order per person: a
 * later decision waits for an earlier one, even dead-lettered, until an admin replays or it is delivered). A message
 * of a person under a limitation is held, pending, until it is lifted (a limitation leaves the person out of every
 * processing, sending included).
 */
export async function dueMessages(db: Queryable, topic: string, limit: number): Promise<OutboxMessage[]> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS}
     from outbox_messages m
     left join persons p on p.id = m.person_id
     where m.topic = $1
       and m.state = 'pending'
       and m.next_attempt_at <= now()
       and not exists (
         select 1 from outbox_messages e
         where e.topic = m.topic and e.person_id = m.person_id and e.state in ('pending', 'dead') and e.id < m.id
       )
       and (p.id is null or not ${limitedSql('p', '$3')})
     order by m.id
     limit $2`,
    [topic, limit, new Date().toISOString()],
  )
  return rows.map(toMessage)
}

/**
 * Withdraws, among `ids`, the orientation messages whose decision no longer holds, and returns their ids: the
 * assignment they announce was cancelled (ends before it starts) or removed, or a decision of the person starting
 * later has already been delivered (sending this one would overwrite it at France Travail). Checked just before
 * sending, so a cancellation or a late back-dated decision between enqueue and delivery is never sent.
 */
export async function withdrawStale(db: Queryable, topic: string, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return []
  const { rows } = await db.query<{ id: number }>(
    `with checked as (
       select m.id,
              case
                when a.id is null or (a.ends_on is not null and a.ends_on < a.starts_on) then 'withdrawn_cancelled'
                when exists (
                  select 1 from outbox_messages d
                  where d.topic = m.topic and d.person_id = m.person_id and d.state = 'delivered'
                    and (d.payload ->> 'startsOn') > (m.payload ->> 'startsOn')
                ) then 'withdrawn_superseded'
              end as reason
       from outbox_messages m
       left join assignments a
         on a.public_id = case when m.idempotency_key ~ '^orientation:[0-9a-f-]{36}$' then substring(m.idempotency_key from 13)::uuid end
       where m.id = any($1::bigint[]) and m.topic = $2 and m.state = 'pending'
     )
     update outbox_messages m
     set state = 'withdrawn', last_error = c.reason
     from checked c
     where m.id = c.id and c.reason is not null
     returning m.id`,
    [ids, topic],
  )
  return rows.map((r) => Number(r.id))
}

export async function markDelivered(db: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return
  await db.query(`update outbox_messages set state = 'delivered', delivered_at = now(), attempts = attempts + 1, last_error = null where id = any($1::bigint[])`, [ids])
}

/** One failed attempt: retried after a backoff, dead-lettered once `maxAttempts` is reached. `error` is a code, never a value. */
export async function markFailed(db: Queryable, failures: readonly { id: number; error: string; dead?: boolean }[], maxAttempts: number, backoffSeconds: number): Promise<void> {
  if (failures.length === 0) return
  await db.query(
    `update outbox_messages m
     set attempts = m.attempts + 1,
         last_error = f.error,
         state = case when f.dead or m.attempts + 1 >= $4 then 'dead' else 'pending' end,
         next_attempt_at = now() + make_interval(secs => $5 * power(2, least(m.attempts, 10)))
     from unnest($1::bigint[], $2::text[], $3::boolean[]) as f (id, error, dead)
     where m.id = f.id`,
    [failures.map((f) => f.id), failures.map((f) => f.error), failures.map((f) => f.dead ?? false), maxAttempts, backoffSeconds],
  )
}

export async function listOutbox(db: Queryable, filter: { state?: OutboxMessage['state'] | undefined; limit: number }): Promise<OutboxMessage[]> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS}
     from outbox_messages m
     left join persons p on p.id = m.person_id
     where ($1::text is null or m.state = $1)
     order by m.id desc
     limit $2`,
    [filter.state ?? null, filter.limit],
  )
  return rows.map(toMessage)
}

/** Replays dead messages (all, or the ids given): pending again, attempts reset, due now. Returns how many. */
export async function retryDead(db: Queryable, ids?: readonly number[]): Promise<number> {
  const { rowCount } = await db.query(
    `update outbox_messages
     set state = 'pending', attempts = 0, next_attempt_at = now()
     where state = 'dead' and ($1::bigint[] is null or id = any($1::bigint[]))`,
    [ids && ids.length > 0 ? ids : null],
  )
  return rowCount
}

export interface OutboxDepth {
  topic: string
  pending: number
  dead: number
  oldestPendingSeconds: number
}

export async function outboxDepth(db: Queryable): Promise<OutboxDepth[]> {
  const { rows } = await db.query<{ topic: string; pending: number; dead: number; oldest: number | null }>(
    `select topic,
            count(*) filter (where state = 'pending')::int as pending,
            count(*) filter (where state = 'dead')::int as dead,
            extract(epoch from now() - min(created_at) filter (where state = 'pending'))::float8 as oldest
     from outbox_messages
     where state <> 'delivered'
     group by topic`,
  )
  return rows.map((r) => ({ topic: r.topic, pending: r.pending, dead: r.dead, oldestPendingSeconds: r.oldest ?? 0 }))
}
