import type { Db } from '../../src/db/db.ts'

/**
 * The canonical state as a comparable value, independent of the order files were loaded in: dossiers, persons and
 * memberships keyed by their natural keys, with the name of the file that wrote each row instead of its id (ids
 * follow load order), and without columns that are random (public ids, NIR ciphertexts: the blind index stands for
 * the NIR) or say when a row was written. State history is not part of it: a record superseded by a newer one
 * leaves no history of its own.
 */
export async function canonicalState(db: Db): Promise<unknown> {
  const dossiers = await db.query<{ row: unknown }>(
    `select (to_jsonb(d) - 'id' - 'public_id' - 'file_id' - 'created_at' - 'updated_at') || jsonb_build_object('file', f.name) as row
     from dossiers d
     left join files f on f.id = d.file_id
     order by d.organisme, d.numdemrsa`,
  )
  const persons = await db.query<{ row: unknown }>(
    `select (to_jsonb(p) - 'id' - 'public_id' - 'nir_cipher' - 'file_id' - 'created_at' - 'updated_at') || jsonb_build_object('file', f.name) as row
     from persons p
     left join files f on f.id = p.file_id
     order by p.match_key`,
  )
  const members = await db.query<{ row: unknown }>(
    `select (to_jsonb(m) - 'id' - 'dossier_id' - 'person_id' - 'file_id' - 'created_at' - 'updated_at')
              || jsonb_build_object('numdemrsa', d.numdemrsa, 'match_key', p.match_key, 'file', f.name) as row
     from dossier_members m
     join dossiers d on d.id = m.dossier_id
     join persons p on p.id = m.person_id
     left join files f on f.id = m.file_id
     order by d.numdemrsa, p.match_key`,
  )
  return { dossiers: dossiers.rows.map((r) => r.row), persons: persons.rows.map((r) => r.row), members: members.rows.map((r) => r.row) }
}

/** Empties what files write, so that one database can replay several orders of the same files. */
export async function emptyLoadedData(db: Db): Promise<void> {
  await db.exec('truncate files, rejections, flow_progress, dossiers, persons, dossier_members, state_changes restart identity cascade')
}
