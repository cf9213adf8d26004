import type { Queryable } from '../db/db.ts'
import { dossierAnchorSql, orphanPersonAnchorSql, registrationAnchorSql } from './anchors.ts'
import { catalogueColumns, ident, selectList, type CanonicalTable } from './archive-columns.ts'
import { heldMatchKeys, standingHoldOn } from './held-rows.ts'
import type { Anchor } from './policy.ts'

/**
 * Phase one of a run, active base → archive: which rows are due (an anchor day on or before the cutoff plan.ts
 * computed), and moving them with what their policy keeps.
 */
export interface DueRow {
  id: number
  anchorDay: string
}

export interface DueQuery {
  flowIds: readonly string[]
  activeAnchor: Anchor
  /** The archive clock's anchor (the active anchor when the policy has no archive). */
  archiveAnchor: Anchor
  cutoff: string
  today: string
  afterId: number
  limit: number
  /** Under a policy without archive, a held row stays in the active base. */
  excludeHeld: boolean
}

/**
 * The due dossiers, written once for the run and its dry run: of the flows, past the active phase (anchor day on
 * or before the cutoff), and not held when the policy keeps held rows in the active base. Parameters are `$n`.
 */
function dueDossiers(q: Pick<DueQuery, 'activeAnchor' | 'excludeHeld'>, params: { flows: string; cutoff: string }): string {
  return `from dossiers d
     where d.flow_id = any(${params.flows}::text[])
       and ${dossierAnchorSql(q.activeAnchor)} <= ${params.cutoff}::date
       ${q.excludeHeld ? `and not ${standingHoldOn('d')}` : ''}`
}

/** Due dossiers of the flows, by id after `afterId`, locked for the chunk, with their archive anchor day. */
export async function selectDueDossiers(tx: Queryable, q: DueQuery): Promise<DueRow[]> {
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    `select d.id, coalesce(${dossierAnchorSql(q.archiveAnchor)}, $5::date)::text as anchor_day
     ${dueDossiers(q, { flows: '$1', cutoff: '$3' })}
       and d.id > $2
     order by d.id
     limit $4
     for update of d skip locked`,
    [q.flowIds, q.afterId, q.cutoff, q.limit, q.today],
  )
  return rows.map((r) => ({ id: r.id, anchorDay: r.anchor_day }))
}

export async function countDueDossiers(db: Queryable, q: Omit<DueQuery, 'afterId' | 'limit'>, destroyCutoff: string): Promise<{ due: number; alsoDestroyed: number }> {
  const { rows } = await db.query<{ due: number; also: number }>(
    `select count(*)::int as due,
            count(*) filter (where coalesce(${dossierAnchorSql(q.archiveAnchor)}, $4::date) <= $3::date and not ${standingHoldOn('d')})::int as also
     ${dueDossiers(q, { flows: '$1', cutoff: '$2' })}`,
    [q.flowIds, q.cutoff, destroyCutoff, q.today],
  )
  return { due: rows[0]!.due, alsoDestroyed: rows[0]!.also }
}

export interface ArchivedCounts {
  dossiers: number
  dossier_members: number
  persons: number
  state_changes: number
  france_travail_registrations: number
  /** Persons deleted from the active base (no active dossier refers to them any more). */
  persons_removed: number
  /** Their assignments, moved to archive.assignments. */
  assignments: number
}

export const noCounts = (): ArchivedCounts => ({
  dossiers: 0,
  dossier_members: 0,
  persons: 0,
  state_changes: 0,
  france_travail_registrations: 0,
  persons_removed: 0,
  assignments: 0,
})

/**
 * Moves dossiers (with their members, persons and state changes) to the archive, keeping only `kept` columns, then
 * deletes them from the active base; persons no active row refers to any more leave it too. One chunk, in `tx`.
 */
export async function archiveDossiers(
  tx: Queryable,
  rows: readonly DueRow[],
  policyId: string,
  kept: Map<CanonicalTable, Set<string>>,
  archivedAt: Date,
): Promise<ArchivedCounts> {
  const counts = noCounts()
  if (rows.length === 0) return counts
  const ids = rows.map((r) => r.id)
  const days = rows.map((r) => r.anchorDay)
  const dossierCols = catalogueColumns('dossiers').filter((c) => c !== 'organisme' && c !== 'numdemrsa')
  const personCols = catalogueColumns('persons')
  const memberCols = catalogueColumns('dossier_members')
  const keptD = kept.get('dossiers')!
  const keptP = kept.get('persons')!
  const keptM = kept.get('dossier_members')!
  const upd = (cols: string[]) => cols.map((c) => `${ident(c)} = excluded.${ident(c)}`).join(', ')

  // The chunk's persons are locked first (FOR UPDATE conflicts with the key-share lock a foreign-key check takes):
  // an import that is linking one of them to a new dossier commits before this goes on, and the statements below
  // see its memberships (whether a person stays); an import starting later waits for this chunk. The ingestion
  // locks already keep the flows' imports away; this holds for any writer, whatever lock it took.
  await tx.query(
    `select p.id
     from persons p
     where p.id in (select dm.person_id from dossier_members dm where dm.dossier_id = any($1::bigint[]))
     order by p.id
     for update of p`,
    [ids],
  )

  // One statement copies the chunk: the archived dossiers' and persons' ids come back from their inserts and are
  // joined in memory (hash joins) to place members and state changes, instead of probing the archive's indexes.
  // The chunk's dossiers are read once, one primary-key lookup per id: the `offset 0` keeps the lateral subquery
  // from being merged into a plain join, for which the planner scanned or hashed the whole dossiers table at each
  // chunk (a large run slowed down as it went); filtering with `id = any` instead made it expect 7 rows and pick
  // nested loops that compared every member with every person of the chunk.
  const copied = await tx.query<{ dossiers: number; persons: number; members: number; changes: number }>(
    `with a as (
       select * from unnest($1::bigint[], $2::date[]) as a (id, anchor_day)
     ),
     src as materialized (
       select d.*, a.anchor_day
       from a
       cross join lateral (select * from dossiers d where d.id = a.id offset 0) d
     ),
     ad as (
       insert into archive.dossiers (id, public_id, policy_id, flow_id, organisme, numdemrsa, ${dossierCols.join(', ')},
                                     transmission_state, not_transmitted_since, file_id, transmitted_at, anchor_day, archived_at)
       select d.id, d.public_id, $3, d.flow_id, d.organisme, d.numdemrsa, ${selectList(dossierCols, keptD, 'd')},
              d.transmission_state, d.not_transmitted_since, d.file_id, d.transmitted_at, d.anchor_day, $4
       from src d
       on conflict (organisme, numdemrsa) do update set
         policy_id = excluded.policy_id, flow_id = excluded.flow_id, ${upd(dossierCols)},
         transmission_state = excluded.transmission_state, not_transmitted_since = excluded.not_transmitted_since,
         file_id = excluded.file_id, transmitted_at = excluded.transmitted_at,
         anchor_day = greatest(archive.dossiers.anchor_day, excluded.anchor_day), archived_at = excluded.archived_at
       returning id, organisme, numdemrsa
     ),
     m as (
       select dm.*, d.organisme, d.numdemrsa, d.anchor_day
       from src d
       join dossier_members dm on dm.dossier_id = d.id
     ),
     -- A person's archive clock is the latest of its dossiers' (it is needed as long as any of them is). A person
     -- still a member of another active dossier stays in the active base: the archive row keeps only its keys
     -- (identity_active), so that the identity exists in one place.
     ap as (
       insert into archive.persons (id, public_id, policy_id, match_key, nir_index, ${personCols.join(', ')}, file_id, transmitted_at, anchor_day, archived_at, identity_active)
       select p.id, p.public_id, $3, p.match_key, p.nir_index, ${personCols.map((c) => (keptP.has(c) ? `case when s.stays then null else p.${ident(c)} end` : 'null')).join(', ')},
              p.file_id, p.transmitted_at, pm.anchor_day, $4, s.stays
       from (select person_id, max(anchor_day) as anchor_day from m group by person_id) pm
       join persons p on p.id = pm.person_id
       cross join lateral (
         select exists (select 1 from dossier_members dm where dm.person_id = p.id and dm.dossier_id <> all($1::bigint[])) as stays
       ) s
       on conflict (match_key) do update set
         policy_id = excluded.policy_id, nir_index = excluded.nir_index, ${upd(personCols)},
         file_id = excluded.file_id, transmitted_at = excluded.transmitted_at,
         anchor_day = greatest(archive.persons.anchor_day, excluded.anchor_day), archived_at = excluded.archived_at,
         identity_active = excluded.identity_active
       returning id, match_key
     ),
     am as (
       insert into archive.dossier_members (dossier_id, person_id, ${memberCols.join(', ')}, file_id, transmitted_at)
       select ad.id, ap.id, ${selectList(memberCols, keptM, 'm')}, m.file_id, m.transmitted_at
       from m
       join ad on ad.organisme = m.organisme and ad.numdemrsa = m.numdemrsa
       join persons p on p.id = m.person_id
       join ap on ap.match_key = p.match_key
       on conflict (dossier_id, person_id) do update set ${upd(memberCols)}, file_id = excluded.file_id, transmitted_at = excluded.transmitted_at
       returning 1
     ),
     asc_ as (
       insert into archive.state_changes (id, dossier_id, person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
       select sc.id, ad.id, sc.person_key, sc.field, sc.old_value, sc.new_value, sc.effective_date, sc.file_id, sc.transmitted_at
       from src d
       join ad on ad.organisme = d.organisme and ad.numdemrsa = d.numdemrsa
       join state_changes sc on sc.dossier_id = d.id
       on conflict (id) do nothing
       returning 1
     )
     select (select count(*) from ad)::int as dossiers, (select count(*) from ap)::int as persons,
            (select count(*) from am)::int as members, (select count(*) from asc_)::int as changes`,
    [ids, days, policyId, archivedAt],
  )
  const c = copied.rows[0]!
  counts.dossiers = c.dossiers
  counts.persons = c.persons
  counts.dossier_members = c.members
  counts.state_changes = c.changes

  // Set-based deletes of the children first: the cascades of the dossiers' deletion then find nothing to do.
  const persons = await tx.query<{ person_id: number }>('delete from dossier_members where dossier_id = any($1::bigint[]) returning person_id', [ids])
  await tx.query('delete from state_changes where dossier_id = any($1::bigint[])', [ids])
  await tx.query('delete from dossiers where id = any($1::bigint[])', [ids])
  // A person leaves the active base with their last active dossier, whatever France Travail still sends about
  // them (a registration holds no identity and is never served without an active person).
  const leaving = await tx.query<{ id: number }>(
    `select p.id
     from persons p
     where p.id = any($1::bigint[])
       and not exists (select 1 from dossier_members dm where dm.person_id = p.id)`,
    [[...new Set(persons.rows.map((r) => r.person_id))]],
  )
  const moved = await removeArchivedPersons(tx, leaving.rows.map((r) => r.id), archivedAt)
  counts.persons_removed = moved.persons
  counts.assignments = moved.assignments
  return counts
}

/**
 * Deletes from the active base persons whose identity the archive now holds, after moving their assignments to
 * archive.assignments (under the archived person's id). Their limitations and contested-field flags keep the id.
 */
export async function removeArchivedPersons(tx: Queryable, ids: readonly number[], archivedAt: Date): Promise<{ persons: number; assignments: number }> {
  if (ids.length === 0) return { persons: 0, assignments: 0 }
  const a = await tx.query(
    `insert into archive.assignments (id, public_id, person_id, organisation_id, referent_user_id, starts_on, ends_on, source, file_id,
                                      created_by_user_id, created_at, updated_at, archived_at)
     select a.id, a.public_id, ap.id, a.organisation_id, a.referent_user_id, a.starts_on, a.ends_on, a.source, a.file_id,
            a.created_by_user_id, a.created_at, a.updated_at, $2
     from assignments a
     join persons p on p.id = a.person_id
     join archive.persons ap on ap.match_key = p.match_key
     where a.person_id = any($1::bigint[])
     on conflict (id) do nothing`,
    [ids, archivedAt],
  )
  await tx.query('delete from assignments where person_id = any($1::bigint[])', [ids])
  const p = await tx.query('delete from persons where id = any($1::bigint[])', [ids])
  return { persons: p.rowCount, assignments: a.rowCount }
}

export interface RegistrationDueQuery extends Omit<DueQuery, 'flowIds'> {
  flowIds: readonly string[]
}

/** The due France Travail registrations (their file's flow), written once like `dueDossiers`. */
function dueRegistrations(q: Pick<DueQuery, 'activeAnchor' | 'excludeHeld'>, params: { flows: string; cutoff: string; heldKeys: string }): string {
  return `from france_travail_registrations r
     join files f on f.id = r.file_id
     where f.flow_id = any(${params.flows}::text[])
       and ${registrationAnchorSql(q.activeAnchor)} <= ${params.cutoff}::date
       ${q.excludeHeld ? `and r.person_key <> all(${params.heldKeys}::text[])` : ''}`
}

/** Due France Travail registrations of the flows (their file's flow), locked for the chunk. */
export async function selectDueRegistrations(tx: Queryable, q: RegistrationDueQuery): Promise<DueRow[]> {
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    `select r.id, coalesce(${registrationAnchorSql(q.archiveAnchor)}, $5::date)::text as anchor_day
     ${dueRegistrations(q, { flows: '$1', cutoff: '$3', heldKeys: '$6' })}
       and r.id > $2
     order by r.id
     limit $4
     for update of r skip locked`,
    [q.flowIds, q.afterId, q.cutoff, q.limit, q.today, ...(q.excludeHeld ? [await heldMatchKeys(tx)] : [])],
  )
  return rows.map((r) => ({ id: r.id, anchorDay: r.anchor_day }))
}

export async function countDueRegistrations(db: Queryable, q: Omit<RegistrationDueQuery, 'afterId' | 'limit'>, destroyCutoff: string): Promise<{ due: number; alsoDestroyed: number }> {
  const { rows } = await db.query<{ due: number; also: number }>(
    `select count(*)::int as due,
            count(*) filter (where coalesce(${registrationAnchorSql(q.archiveAnchor)}, $4::date) <= $3::date and r.person_key <> all($5::text[]))::int as also
     ${dueRegistrations(q, { flows: '$1', cutoff: '$2', heldKeys: '$5' })}`,
    [q.flowIds, q.cutoff, destroyCutoff, q.today, await heldMatchKeys(db)],
  )
  return { due: rows[0]!.due, alsoDestroyed: rows[0]!.also }
}

/** Moves France Travail registrations (and their state changes) to the archive, then deletes them. */
export async function archiveRegistrations(
  tx: Queryable,
  rows: readonly DueRow[],
  policyId: string,
  kept: Map<CanonicalTable, Set<string>>,
  archivedAt: Date,
): Promise<ArchivedCounts> {
  const counts = noCounts()
  if (rows.length === 0) return counts
  const ids = rows.map((r) => r.id)
  const cols = catalogueColumns('france_travail_registrations')
  const keptR = kept.get('france_travail_registrations')!
  const r = await tx.query<{ person_key: string }>(
    `insert into archive.france_travail_registrations (id, policy_id, person_key, ${cols.join(', ')}, file_id, transmitted_at, anchor_day, archived_at)
     select r.id, $3, r.person_key, ${selectList(cols, keptR, 'r')}, r.file_id, r.transmitted_at, a.anchor_day, $4
     from unnest($1::bigint[], $2::date[]) as a (id, anchor_day)
     join france_travail_registrations r on r.id = a.id
     on conflict (person_key) do update set
       policy_id = excluded.policy_id, ${cols.map((c) => `${ident(c)} = excluded.${ident(c)}`).join(', ')},
       file_id = excluded.file_id, transmitted_at = excluded.transmitted_at,
       anchor_day = greatest(archive.france_travail_registrations.anchor_day, excluded.anchor_day), archived_at = excluded.archived_at
     returning person_key`,
    [ids, rows.map((x) => x.anchorDay), policyId, archivedAt],
  )
  counts.france_travail_registrations = r.rowCount
  const keys = r.rows.map((x) => x.person_key)
  const sc = await tx.query(
    `insert into archive.state_changes (id, dossier_id, person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select sc.id, null, sc.person_key, sc.field, sc.old_value, sc.new_value, sc.effective_date, sc.file_id, sc.transmitted_at
     from state_changes sc
     where sc.dossier_id is null
       and sc.person_key = any($1::text[])
     on conflict (id) do nothing`,
    [keys],
  )
  counts.state_changes = sc.rowCount
  await tx.query('delete from state_changes where dossier_id is null and person_key = any($1::text[])', [keys])
  await tx.query('delete from france_travail_registrations where id = any($1::bigint[])', [ids])
  return counts
}

export interface OrphanQuery {
  flowIds: readonly string[]
  cutoff: string
  afterId: number
  limit: number
}

/** A person no active dossier refers to (France Travail registrations do not keep a person in the active base). */
const ORPHAN = `
  not exists (select 1 from dossier_members dm where dm.person_id = p.id)`

/**
 * Due: past the person's own clock, or already archived with their identity (a person an earlier version kept in
 * the active base for a France Travail registration after their last dossier left: their identity is in two places).
 */
const ORPHAN_DUE = (cutoff: string) => `
  (${orphanPersonAnchorSql()} <= ${cutoff}::date
   or exists (select 1 from archive.persons ap where ap.match_key = p.match_key and not ap.identity_active))`

/** The due persons no active dossier refers to (their file's flow), written once like `dueDossiers`. */
function dueOrphans(params: { flows: string; cutoff: string }): string {
  return `from persons p
     join files f on f.id = p.file_id
     where f.flow_id = any(${params.flows}::text[])
       and ${ORPHAN_DUE(params.cutoff)}
       and ${ORPHAN}`
}

/** Persons of the flows no active dossier refers to, past their active phase. */
export async function selectDueOrphanPersons(tx: Queryable, q: OrphanQuery): Promise<DueRow[]> {
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    `select p.id, ${orphanPersonAnchorSql()}::text as anchor_day
     ${dueOrphans({ flows: '$1', cutoff: '$3' })}
       and p.id > $2
     order by p.id
     limit $4
     for update of p skip locked`,
    [q.flowIds, q.afterId, q.cutoff, q.limit],
  )
  return rows.map((r) => ({ id: r.id, anchorDay: r.anchor_day }))
}

export async function countDueOrphanPersons(db: Queryable, q: Omit<OrphanQuery, 'afterId' | 'limit'>): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n
     ${dueOrphans({ flows: '$1', cutoff: '$2' })}`,
    [q.flowIds, q.cutoff],
  )
  return rows[0]!.n
}

export async function archiveOrphanPersons(
  tx: Queryable,
  rows: readonly DueRow[],
  policyId: string,
  kept: Map<CanonicalTable, Set<string>>,
  archivedAt: Date,
): Promise<ArchivedCounts> {
  const counts = noCounts()
  if (rows.length === 0) return counts
  const ids = rows.map((r) => r.id)
  const personCols = catalogueColumns('persons')
  const keptP = kept.get('persons')!
  const p = await tx.query(
    `insert into archive.persons (id, public_id, policy_id, match_key, nir_index, ${personCols.join(', ')}, file_id, transmitted_at, anchor_day, archived_at)
     select p.id, p.public_id, $3, p.match_key, p.nir_index, ${selectList(personCols, keptP, 'p')}, p.file_id, p.transmitted_at, a.anchor_day, $4
     from unnest($1::bigint[], $2::date[]) as a (id, anchor_day)
     join persons p on p.id = a.id
     on conflict (match_key) do update set
       policy_id = excluded.policy_id, nir_index = excluded.nir_index,
       ${personCols.map((c) => `${ident(c)} = excluded.${ident(c)}`).join(', ')},
       file_id = excluded.file_id, transmitted_at = excluded.transmitted_at,
       anchor_day = greatest(archive.persons.anchor_day, excluded.anchor_day), archived_at = excluded.archived_at,
       identity_active = false`,
    [ids, rows.map((r) => r.anchorDay), policyId, archivedAt],
  )
  counts.persons = p.rowCount
  const moved = await removeArchivedPersons(tx, ids, archivedAt)
  counts.persons_removed = moved.persons
  counts.assignments = moved.assignments
  return counts
}

