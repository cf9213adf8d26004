import type { Queryable } from '../db/db.ts'

/** The outbox topic of the département's orientation decisions sent to France Travail. */
export const ORIENTATION_TOPIC = 'francetravail.orientation'

/**
 * Writes one outbox message per assignment that changes a person's orientation, inside the caller's transaction
 * (the orientations flow's file transaction, or an admin's): the decision and its announcement commit together or
 * not at all. A change is an assignment (not cancelled) whose structure type differs from the person's previous
 * assignment's; a re-sent orientation finds its message already there (the idempotency key is the assignment's
 * public id). The payload holds the decision's facts only (structure type, start), never an identity.
 */
export async function enqueueOrientationChanges(tx: Queryable, assignmentIds: readonly number[]): Promise<number> {
  if (assignmentIds.length === 0) return 0
  const { rowCount } = await tx.query(
    `insert into outbox_messages (topic, person_id, payload, idempotency_key)
     select $2, a.person_id, jsonb_build_object('organisationType', o.type, 'startsOn', a.starts_on::text), 'orientation:' || a.public_id::text
     from assignments a
     join organisations o on o.id = a.organisation_id
     left join lateral (
       select po.type
       from assignments pa
       join organisations po on po.id = pa.organisation_id
       where pa.person_id = a.person_id
         and pa.id <> a.id
         and pa.starts_on < a.starts_on
         and (pa.ends_on is null or pa.ends_on >= pa.starts_on)
       order by pa.starts_on desc, pa.id desc
       limit 1
     ) previous on true
     where a.id = any($1::bigint[])
       and (a.ends_on is null or a.ends_on >= a.starts_on)
       and previous.type is distinct from o.type
     order by a.person_id, a.starts_on, a.id
     on conflict (idempotency_key) do nothing`,
    [assignmentIds, ORIENTATION_TOPIC],
  )
  return rowCount
}
