import type { Queryable } from '../db/db.ts'
import type { Role } from '../purposes/purpose.ts'

/** An agent of a partner organisation, with one role. */
export interface User {
  id: number
  publicId: string
  email: string
  displayName: string
  role: Role
  active: boolean
  organisation: { id: number; publicId: string; siret: string; name: string; type: string }
  createdAt: Date
}

interface UserRow {
  id: number
  public_id: string
  email: string
  display_name: string
  role: Role
  active: boolean
  created_at: Date
  organisation_id: number
  organisation_public_id: string
  siret: string
  organisation_name: string
  organisation_type: string
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  publicId: r.public_id,
  email: r.email,
  displayName: r.display_name,
  role: r.role,
  active: r.active,
  organisation: { id: r.organisation_id, publicId: r.organisation_public_id, siret: r.siret, name: r.organisation_name, type: r.organisation_type },
  createdAt: new Date(r.created_at),
})

const SELECT = `
  select u.id, u.public_id, u.email, u.display_name, u.role, u.active, u.created_at,
         o.id as organisation_id, o.public_id as organisation_public_id, o.siret, o.name as organisation_name, o.type as organisation_type
  from users u
  join organisations o on o.id = u.organisation_id`

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase()
}

/** Creates a user; returns undefined when the e-mail is already taken. */
export async function createUser(
  db: Queryable,
  input: { email: string; displayName: string; role: Role; organisationId: number },
): Promise<User | undefined> {
  const { rows } = await db.query<{ id: number }>(
    `insert into users (email, display_name, role, organisation_id)
     values ($1, $2, $3, $4)
     on conflict (email) do nothing
     returning id`,
    [normaliseEmail(input.email), input.displayName, input.role, input.organisationId],
  )
  return rows[0] ? findUserById(db, rows[0].id) : undefined
}

export async function findUserById(db: Queryable, id: number): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`${SELECT} where u.id = $1`, [id])
  return rows[0] && toUser(rows[0])
}

export async function findUserByEmail(db: Queryable, email: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`${SELECT} where u.email = $1`, [normaliseEmail(email)])
  return rows[0] && toUser(rows[0])
}

export async function findUserByPublicId(db: Queryable, publicId: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`${SELECT} where u.public_id = $1`, [publicId])
  return rows[0] && toUser(rows[0])
}

/** Users in id order, optionally of one organisation. */
export async function listUsers(db: Queryable, filter: { organisationId?: number; afterId?: number; limit: number }): Promise<User[]> {
  const { rows } = await db.query<UserRow>(
    `${SELECT}
     where u.id > $1
       and ($2::bigint is null or u.organisation_id = $2)
     order by u.id
     limit $3`,
    [filter.afterId ?? 0, filter.organisationId ?? null, filter.limit],
  )
  return rows.map(toUser)
}

/** Changes a user's display name, role or active flag. */
export async function updateUser(
  db: Queryable,
  id: number,
  changes: { displayName?: string; role?: Role; active?: boolean },
): Promise<User | undefined> {
  await db.query(
    `update users
     set display_name = coalesce($2, display_name),
         role = coalesce($3, role),
         active = coalesce($4, active),
         updated_at = now()
     where id = $1`,
    [id, changes.displayName ?? null, changes.role ?? null, changes.active ?? null],
  )
  return findUserById(db, id)
}
