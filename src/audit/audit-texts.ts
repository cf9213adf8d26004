import type { Queryable } from '../db/db.ts'

/**
 * Erasing the free texts of the audit log (audit_texts). The events keep their digests, so the chain still
 * verifies; a text once erased cannot be checked any more, which is the point.
 */

/** Texts about a person being erased: by their audit pseudonym, their row ids, and the dossiers going with them. */
export async function eraseAuditTexts(
  tx: Queryable,
  about: { subjects: readonly string[]; personIds: readonly number[]; dossierIds: readonly number[] },
): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `delete from audit_texts
     where subject = any($1::text[])
        or person_id = any($2::bigint[])
        or dossier_id = any($3::bigint[])
     returning seq || ':' || field as id`,
    [about.subjects, about.personIds, about.dossierIds],
  )
  return rows.map((r) => r.id)
}
