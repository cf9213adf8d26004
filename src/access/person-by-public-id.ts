import type { Queryable } from '../db/db.ts'

/**
 * The one way from a person's public id (the only id that leaves: API, CLI, console) to their internal keys in
 * the active base. Reads the keys only, never an identity. The archive is not searched: only the data-subject
 * rights reach it (src/rights/identify-person.ts).
 */
export interface PersonKeys {
  personId: number
  matchKey: string
}

export async function findPersonByPublicId(db: Queryable, publicId: string): Promise<PersonKeys | undefined> {
  const { rows } = await db.query<{ id: number | string; match_key: string }>('select id, match_key from persons where public_id = $1', [publicId])
  const row = rows[0]
  return row && { personId: Number(row.id), matchKey: row.match_key }
}
