import type { Queryable } from '../db/db.ts'

/**
 * The one way from a person's public id (the only id that leaves: API, CLI, console) to their internal keys. Reads
 * the keys only, never an identity. The archive is searched only when asked (the DPO's "who accessed this file"):
 * no route serving data reaches it.
 */
export interface PersonKeys {
  personId: number
  matchKey: string
  place: 'active' | 'archive'
}

export async function findPersonByPublicId(db: Queryable, publicId: string, options: { includeArchive?: boolean } = {}): Promise<PersonKeys | undefined> {
  const { rows } = await db.query<{ id: number | string; match_key: string; place: 'active' | 'archive' }>(
    options.includeArchive
      ? `select id, match_key, 'active' as place from persons where public_id = $1
         union all
         select id, match_key, 'archive' as place from archive.persons where public_id = $1
         limit 1`
      : `select id, match_key, 'active' as place from persons where public_id = $1`,
    [publicId],
  )
  const row = rows[0]
  return row && { personId: Number(row.id), matchKey: row.match_key, place: row.place }
}
