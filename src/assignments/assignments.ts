import type { Queryable } from '../db/db.ts'
import { enqueueOrientationChanges } from '../outbox/enqueue-orientation.ts'

/**
 * Assignment rows: who follows whom. Written by the orientations flow and by admins; one current orientation per
 * person (the référent unique): a newer start ends the previous assignment the day before.
 */
export interface NewAssignment {
  personId: number
  organisationId: number
  referentUserId: number | null
  startsOn: string
  endsOn: string | null
}

export interface Assignment {
  id: number
  publicId: string
  personPublicId: string
  organisation: { publicId: string; siret: string; name: string }
  referent: { publicId: string; email: string } | null
  startsOn: string
  endsOn: string | null
  source: 'orientations' | 'admin'
  fileId: number | null
  createdAt: Date
  updatedAt: Date
}

/**
 * Inserts or updates assignments on their natural key (person, structure, referent, start): a re-sent orientation
 * updates its end date. Then ends the assignments each new start supersedes. Returns the ids written.
 */
export async function upsertAssignments(
  tx: Queryable,
  rows: readonly NewAssignment[],
  origin: { source: 'orientations'; fileId: number } | { source: 'admin'; userId: number },
): Promise<number[]> {
  const ids: number[] = []
  const chunk = 5000
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk)
    const { rows: written } = await tx.query<{ id: number }>(
      `insert into assignments (person_id, organisation_id, referent_user_id, starts_on, ends_on, source, file_id, created_by_user_id)
       select person_id, organisation_id, referent_user_id, starts_on, ends_on, $6, $7, $8
       from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::date[], $5::date[])
         as r (person_id, organisation_id, referent_user_id, starts_on, ends_on)
       on conflict (person_id, organisation_id, coalesce(referent_user_id, 0), starts_on) do update set
         ends_on = excluded.ends_on,
         source = excluded.source,
         file_id = excluded.file_id,
         updated_at = now()
       returning id`,
      [
        part.map((r) => r.personId),
        part.map((r) => r.organisationId),
        part.map((r) => r.referentUserId),
        part.map((r) => r.startsOn),
        part.map((r) => r.endsOn),
        origin.source,
        origin.source === 'orientations' ? origin.fileId : null,
        origin.source === 'admin' ? origin.userId : null,
      ],
    )
    ids.push(...written.map((r) => r.id))
  }
  await endSupersededAssignments(tx, [...new Set(rows.map((r) => r.personId))])
  // The transactional outbox: an orientation that changes is announced to France Travail in this same transaction.
  await enqueueOrientationChanges(tx, ids)
  return ids
}

/**
 * For each person, in order of start (then of last write), an assignment still open when the next one starts is
 * ended the day before. An assignment superseded on its own start day ends before it begins: cancelled.
 */
export async function endSupersededAssignments(tx: Queryable, personIds: readonly number[]): Promise<number> {
  if (personIds.length === 0) return 0
  const result = await tx.query(
    `with ordered as (
       select id, ends_on,
              lead(starts_on) over (partition by person_id order by starts_on, updated_at, id) as next_start
       from assignments
       where person_id = any($1::bigint[])
     )
     update assignments a
     set ends_on = o.next_start - 1,
         updated_at = now()
     from ordered o
     where a.id = o.id
       and o.next_start is not null
       and (o.ends_on is null or o.ends_on >= o.next_start)`,
    [personIds],
  )
  return result.rowCount
}

interface AssignmentRow {
  id: number
  public_id: string
  person_public_id: string
  organisation_public_id: string
  siret: string
  organisation_name: string
  referent_public_id: string | null
  referent_email: string | null
  starts_on: string
  ends_on: string | null
  source: 'orientations' | 'admin'
  file_id: number | null
  created_at: Date
  updated_at: Date
}

const SELECT = `
  select a.id, a.public_id, p.public_id as person_public_id,
         o.public_id as organisation_public_id, o.siret, o.name as organisation_name,
         u.public_id as referent_public_id, u.email as referent_email,
         a.starts_on, a.ends_on, a.source, a.file_id, a.created_at, a.updated_at
  from assignments a
  join persons p on p.id = a.person_id
  join organisations o on o.id = a.organisation_id
  left join users u on u.id = a.referent_user_id`

const toAssignment = (r: AssignmentRow): Assignment => ({
  id: r.id,
  publicId: r.public_id,
  personPublicId: r.person_public_id,
  organisation: { publicId: r.organisation_public_id, siret: r.siret, name: r.organisation_name },
  referent: r.referent_public_id ? { publicId: r.referent_public_id, email: r.referent_email! } : null,
  startsOn: r.starts_on,
  endsOn: r.ends_on,
  source: r.source,
  fileId: r.file_id,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
})

export async function findAssignmentByPublicId(db: Queryable, publicId: string): Promise<Assignment | undefined> {
  const { rows } = await db.query<AssignmentRow>(`${SELECT} where a.public_id = $1`, [publicId])
  return rows[0] && toAssignment(rows[0])
}

export async function findAssignmentById(db: Queryable, id: number): Promise<Assignment | undefined> {
  const { rows } = await db.query<AssignmentRow>(`${SELECT} where a.id = $1`, [id])
  return rows[0] && toAssignment(rows[0])
}

/** Assignments in id order, optionally of one person, referent or structure. */
export async function listAssignments(
  db: Queryable,
  filter: { personId?: number; referentUserId?: number; organisationId?: number; afterId?: number; limit: number },
): Promise<Assignment[]> {
  const { rows } = await db.query<AssignmentRow>(
    `${SELECT}
     where a.id > $1
       and ($2::bigint is null or a.person_id = $2)
       and ($3::bigint is null or a.referent_user_id = $3)
       and ($4::bigint is null or a.organisation_id = $4)
     order by a.id
     limit $5`,
    [filter.afterId ?? 0, filter.personId ?? null, filter.referentUserId ?? null, filter.organisationId ?? null, filter.limit],
  )
  return rows.map(toAssignment)
}

/** Sets (or clears) an assignment's end date. */
export async function setAssignmentEnd(db: Queryable, id: number, endsOn: string | null): Promise<void> {
  await db.query(
    `update assignments
     set ends_on = $2,
         updated_at = now()
     where id = $1`,
    [id, endsOn],
  )
}
