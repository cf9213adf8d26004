import type { Queryable } from '../db/db.ts'

/** Legal holds as SQL: what the archive and destroy steps must leave in place. */
/** Standing holds, as a condition on an aliased dossier row (active or archived). */
export const standingHoldOn = (alias: string) =>
  `exists (select 1 from legal_holds h where h.released_at is null and h.organisme = ${alias}.organisme and h.numdemrsa = ${alias}.numdemrsa)`

/**
 * Match keys of every person member of a dossier under a standing hold, in the active base or the archive. Read
 * from the holds outwards (a few rows, index lookups) and handed to the next statement as a parameter: as a
 * `not in (subquery)`, the planner may hash whole archive tables for each chunk.
 */
export async function heldMatchKeys(tx: Queryable): Promise<string[]> {
  // Asked at every chunk: most runs have no standing hold, and the join below is not free.
  const standing = await tx.query('select 1 from legal_holds where released_at is null limit 1')
  if (standing.rows.length === 0) return []
  const { rows } = await tx.query<{ match_key: string }>(
    `select distinct k.match_key
     from legal_holds h
     cross join lateral (
       select p.match_key
       from dossiers d
       join dossier_members m on m.dossier_id = d.id
       join persons p on p.id = m.person_id
       where d.organisme = h.organisme
         and d.numdemrsa = h.numdemrsa
       union
       select ap.match_key
       from archive.dossiers ad
       join archive.dossier_members am on am.dossier_id = ad.id
       join archive.persons ap on ap.id = am.person_id
       where ad.organisme = h.organisme
         and ad.numdemrsa = h.numdemrsa
     ) k
     where h.released_at is null`,
  )
  return rows.map((r) => r.match_key)
}

