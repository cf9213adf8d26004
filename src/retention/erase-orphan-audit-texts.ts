import type { Queryable } from '../db/db.ts'

/**
 * Texts whose person and dossier exist nowhere any more (neither in the active base nor in the archive): erased
 * after each retention run, so a text goes with the rows it concerns whichever way they went.
 */
export async function eraseOrphanAuditTexts(tx: Queryable): Promise<number> {
  const result = await tx.query(
    `delete from audit_texts t
     where (t.person_id is not null or t.dossier_id is not null)
       and (t.person_id is null
            or (not exists (select 1 from persons p where p.id = t.person_id)
                and not exists (select 1 from archive.persons ap where ap.id = t.person_id)))
       and (t.dossier_id is null
            or (not exists (select 1 from dossiers d where d.id = t.dossier_id)
                and not exists (select 1 from archive.dossiers ad where ad.id = t.dossier_id)))`,
  )
  return result.rowCount
}
