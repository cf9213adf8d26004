import type { Queryable } from '../db/db.ts'
import { heldMatchKeys, standingHoldOn } from './held-rows.ts'

/** Phase two of a run, archive → destroyed: the due archived rows, their destruction, and the counts of a dry run. */
/** Keyset cursor of the destroy steps: archived rows are walked in (anchor_day, id) order, the due index's order. */
export interface ArchiveCursor {
  day: string
  id: number
}

export const ARCHIVE_CURSOR_START: ArchiveCursor = { day: '0001-01-01', id: 0 }

export interface DestroyQuery {
  policyId: string
  cutoff: string
  after: ArchiveCursor
  limit: number
}

export interface DestroyedRows {
  /** `table:id` of every destroyed row (members as `dossier_members:dossier_id-person_id`), for the receipt hash. */
  keys: string[]
  counts: Record<string, number>
}

/**
 * Archived dossiers of the policy due for destruction and not held. No row lock: only the retention run writes the
 * archive, and it runs alone (its job lock).
 */
export async function selectDestroyableDossiers(tx: Queryable, q: DestroyQuery): Promise<{ ids: number[]; last: ArchiveCursor | undefined }> {
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    `select ad.id, ad.anchor_day::text as anchor_day
     from archive.dossiers ad
     where ad.policy_id = $1
       and ad.anchor_day <= $2::date
       and (ad.anchor_day, ad.id) > ($3::date, $4::bigint)
       and not ${standingHoldOn('ad')}
     order by ad.anchor_day, ad.id
     limit $5`,
    [q.policyId, q.cutoff, q.after.day, q.after.id, q.limit],
  )
  const last = rows.at(-1)
  return { ids: rows.map((r) => r.id), last: last && { day: last.anchor_day, id: last.id } }
}

/**
 * Hard-deletes archived dossiers with their members and state changes, then those of their persons that nothing
 * refers to any more and whose own clock is due. Released holds on these dossiers lose their NUMDEMRSA (only the
 * pseudonym stays) unless the dossier is still in the active base.
 */
export async function destroyArchivedDossiers(tx: Queryable, ids: readonly number[], personCutoff: string, policyId: string): Promise<DestroyedRows> {
  const keys: string[] = []
  const counts: Record<string, number> = { 'archive.dossiers': 0, 'archive.dossier_members': 0, 'archive.state_changes': 0, 'archive.persons': 0, legal_holds_redacted: 0 }
  if (ids.length === 0) return { keys, counts }
  const holds = await tx.query(
    `update legal_holds h
     set numdemrsa = null
     from archive.dossiers ad
     where ad.id = any($1::bigint[])
       and h.organisme = ad.organisme
       and h.numdemrsa = ad.numdemrsa
       and h.released_at is not null
       and not exists (select 1 from dossiers d where d.organisme = ad.organisme and d.numdemrsa = ad.numdemrsa)`,
    [ids],
  )
  counts.legal_holds_redacted = holds.rowCount
  const sc = await tx.query<{ id: number }>('delete from archive.state_changes where dossier_id = any($1::bigint[]) returning id', [ids])
  counts['archive.state_changes'] = sc.rowCount
  keys.push(...sc.rows.map((r) => `archive.state_changes:${r.id}`))
  const m = await tx.query<{ dossier_id: number; person_id: number }>(
    'delete from archive.dossier_members where dossier_id = any($1::bigint[]) returning dossier_id, person_id',
    [ids],
  )
  counts['archive.dossier_members'] = m.rowCount
  keys.push(...m.rows.map((r) => `archive.dossier_members:${r.dossier_id}-${r.person_id}`))
  const d = await tx.query<{ id: number }>('delete from archive.dossiers where id = any($1::bigint[]) returning id', [ids])
  counts['archive.dossiers'] = d.rowCount
  keys.push(...d.rows.map((r) => `archive.dossiers:${r.id}`))
  const persons = await destroyArchivedPersons(tx, { policyId, cutoff: personCutoff, ids: [...new Set(m.rows.map((r) => r.person_id))] })
  counts['archive.persons'] = persons.length
  keys.push(...persons.map((p) => `archive.persons:${p.id}`))
  const dependents = await destroyPersonDependents(tx, persons.map((p) => p.id))
  for (const [table, n] of Object.entries(dependents.counts)) counts[table] = n
  keys.push(...dependents.keys)
  return { keys, counts }
}

/**
 * What refers to destroyed archived persons by id: their archived assignments, and their limitations and
 * contested-field flags unless the same id is active again (a person who came back keeps them).
 */
export async function destroyPersonDependents(tx: Queryable, personIds: readonly number[]): Promise<DestroyedRows> {
  const keys: string[] = []
  const counts: Record<string, number> = {}
  if (personIds.length === 0) return { keys, counts }
  // One statement (one round trip per destroy chunk): each delete is an index lookup per person.
  const { rows } = await tx.query<{ t: string; id: number }>(
    `with aa as (
       delete from archive.assignments where person_id = any($1::bigint[]) returning id
     ),
     l as (
       delete from limitations l where l.person_id = any($1::bigint[]) and not exists (select 1 from persons p where p.id = l.person_id) returning id
     ),
     c as (
       delete from rights_contested_fields c where c.person_id = any($1::bigint[]) and not exists (select 1 from persons p where p.id = c.person_id) returning id
     )
     select 'archive.assignments' as t, id from aa
     union all select 'limitations', id from l
     union all select 'rights_contested_fields', id from c`,
    [personIds],
  )
  for (const r of rows) {
    counts[r.t] = (counts[r.t] ?? 0) + 1
    keys.push(`${r.t}:${r.id}`)
  }
  return { keys, counts }
}

/**
 * Deletes archived persons of the policy that are due, referred to by no archived member and not members of a held
 * dossier: those of `ids` (the persons of dossiers just destroyed), or the next `limit` after `after`.
 */
export async function destroyArchivedPersons(
  tx: Queryable,
  q: { policyId: string; cutoff: string; ids?: readonly number[]; after?: ArchiveCursor; limit?: number },
): Promise<{ id: number; anchorDay: string }[]> {
  if (q.ids && q.ids.length === 0) return []
  const orphan = (alias: string, held: string) => `
         and not exists (select 1 from archive.dossier_members am where am.person_id = ${alias}.id)
         and ${alias}.match_key <> all(${held}::text[])`
  // Persons of the dossiers just destroyed: found by primary key (a range on the due index would read every due
  // person at each chunk). Otherwise the next due persons in (anchor_day, id) order, a chunk at a time.
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    q.ids
      ? `delete from archive.persons p
         where p.id = any($3::bigint[])
           and p.policy_id = $1
           and p.anchor_day <= $2::date ${orphan('p', '$4')}
         returning p.id, p.anchor_day::text as anchor_day`
      : `delete from archive.persons p
         where p.id in (
           select ap.id
           from archive.persons ap
           where ap.policy_id = $1
             and ap.anchor_day <= $2::date
             and (ap.anchor_day, ap.id) > ($3::date, $4::bigint) ${orphan('ap', '$6')}
           order by ap.anchor_day, ap.id
           limit $5
         )
         returning p.id, p.anchor_day::text as anchor_day`,
    q.ids
      ? [q.policyId, q.cutoff, q.ids, await heldMatchKeys(tx)]
      : [q.policyId, q.cutoff, q.after?.day ?? ARCHIVE_CURSOR_START.day, q.after?.id ?? 0, q.limit ?? 5000, await heldMatchKeys(tx)],
  )
  return rows
    .map((r) => ({ id: r.id, anchorDay: r.anchor_day }))
    .sort((a, b) => (a.anchorDay < b.anchorDay ? -1 : a.anchorDay > b.anchorDay ? 1 : a.id - b.id))
}

export async function selectDestroyableRegistrations(tx: Queryable, q: DestroyQuery): Promise<{ rows: { id: number; personKey: string }[]; last: ArchiveCursor | undefined }> {
  const { rows } = await tx.query<{ id: number; person_key: string; anchor_day: string }>(
    `select ar.id, ar.person_key, ar.anchor_day::text as anchor_day
     from archive.france_travail_registrations ar
     where ar.policy_id = $1
       and ar.anchor_day <= $2::date
       and (ar.anchor_day, ar.id) > ($3::date, $4::bigint)
       and ar.person_key <> all($6::text[])
     order by ar.anchor_day, ar.id
     limit $5`,
    [q.policyId, q.cutoff, q.after.day, q.after.id, q.limit, await heldMatchKeys(tx)],
  )
  const last = rows.at(-1)
  return { rows: rows.map((r) => ({ id: r.id, personKey: r.person_key })), last: last && { day: last.anchor_day, id: last.id } }
}

export async function destroyArchivedRegistrations(tx: Queryable, rows: readonly { id: number; personKey: string }[]): Promise<DestroyedRows> {
  const keys: string[] = []
  const counts: Record<string, number> = { 'archive.france_travail_registrations': 0, 'archive.state_changes': 0 }
  if (rows.length === 0) return { keys, counts }
  const sc = await tx.query<{ id: number }>(
    'delete from archive.state_changes where dossier_id is null and person_key = any($1::text[]) returning id',
    [rows.map((r) => r.personKey)],
  )
  counts['archive.state_changes'] = sc.rowCount
  keys.push(...sc.rows.map((r) => `archive.state_changes:${r.id}`))
  const r = await tx.query<{ id: number }>('delete from archive.france_travail_registrations where id = any($1::bigint[]) returning id', [rows.map((x) => x.id)])
  counts['archive.france_travail_registrations'] = r.rowCount
  keys.push(...r.rows.map((x) => `archive.france_travail_registrations:${x.id}`))
  return { keys, counts }
}

export interface DestroyCounts {
  dossiers: number
  persons: number
  registrations: number
  heldBack: number
}

/** What the destroy step would do (dry run), and how many due rows a hold keeps. */
export async function countDestroyable(db: Queryable, policyId: string, cutoff: string): Promise<DestroyCounts> {
  const { rows } = await db.query<{ dossiers: number; held: number; persons: number; registrations: number; held_r: number }>(
    `select
       (select count(*)::int from archive.dossiers ad where ad.policy_id = $1 and ad.anchor_day <= $2::date and not ${standingHoldOn('ad')}) as dossiers,
       (select count(*)::int from archive.dossiers ad where ad.policy_id = $1 and ad.anchor_day <= $2::date and ${standingHoldOn('ad')}) as held,
       (select count(*)::int from archive.persons ap where ap.policy_id = $1 and ap.anchor_day <= $2::date and ap.match_key <> all($3::text[])
          and not exists (select 1 from archive.dossier_members am join archive.dossiers ad on ad.id = am.dossier_id
                          where am.person_id = ap.id and (ad.anchor_day > $2::date or ad.policy_id <> $1 or ${standingHoldOn('ad')}))) as persons,
       (select count(*)::int from archive.france_travail_registrations ar where ar.policy_id = $1 and ar.anchor_day <= $2::date and ar.person_key <> all($3::text[])) as registrations,
       (select count(*)::int from archive.france_travail_registrations ar where ar.policy_id = $1 and ar.anchor_day <= $2::date and ar.person_key = any($3::text[])) as held_r`,
    [policyId, cutoff, await heldMatchKeys(db)],
  )
  const r = rows[0]!
  return { dossiers: r.dossiers, persons: r.persons, registrations: r.registrations, heldBack: r.held + r.held_r }
}

/**
 * Refreshes the planner's statistics of the archive tables. A run can move hundreds of thousands of rows into the
 * archive (a first run on years of backlog): planned on the statistics of a nearly empty archive, each destroy
 * chunk would read every due row instead of walking the due index to its limit, and the run would slow down
 * quadratically.
 */
export async function refreshArchiveStatistics(db: Queryable): Promise<void> {
  await db.exec('analyze archive.dossiers, archive.dossier_members, archive.persons, archive.state_changes, archive.france_travail_registrations')
}

