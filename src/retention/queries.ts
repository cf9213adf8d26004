import type { Queryable } from '../db/db.ts'
import { CANONICAL_FIELDS, type CanonicalField } from '../model/fields.ts'
import type { Anchor, RetentionPolicy } from './policy.ts'

/**
 * The SQL of retention, next to its feature. Every "is it due?" question is one comparison of an anchor day with
 * a cutoff day computed by plan.ts; the anchor-day expressions below are the SQL twins of plan.ts's
 * `dossierAnchorFacts`, `registrationAnchorFacts` and `orphanPersonAnchorFacts` (a test checks they agree).
 */
export type CanonicalTable = CanonicalField['table']

const IDENT = /^[a-z_][a-z0-9_]*$/
function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`retention: invalid SQL identifier "${name}"`)
  return name
}

const day = (column: string) => `(${column} at time zone 'Europe/Paris')::date`

/** SQL of a dossier's anchor day (alias `d`); null while that clock has not started. */
export function dossierAnchorSql(anchor: Anchor): string {
  const transmission = day('d.transmitted_at')
  switch (anchor) {
    case 'transmission':
    case 'event':
      return transmission
    case 'end_of_right':
      return `(case
        when d.etat_droit in ('5', '6') then coalesce(d.date_cloture, ${transmission})
        when d.etat_droit in ('1') then coalesce(d.date_refus, ${transmission})
        when d.transmission_state = 'not_transmitted' then coalesce(d.not_transmitted_since, ${transmission})
      end)`
    case 'last_activity':
      return `greatest(${day('d.created_at')}, ${day('(select max(sc.transmitted_at) from state_changes sc where sc.dossier_id = d.id)')})`
    case 'decision':
      return 'greatest(d.date_refus, d.date_cloture, d.date_suspension_droit, d.date_suspension_versement)'
  }
}

/** SQL of a France Travail registration's anchor day (alias `r`). */
export function registrationAnchorSql(anchor: Anchor): string {
  const transmission = day('r.transmitted_at')
  switch (anchor) {
    case 'transmission':
    case 'event':
      return transmission
    case 'end_of_right':
    case 'decision':
      return `(case when r.etat in ('cessation', 'radiation') then coalesce(r.date_etat, ${transmission}) end)`
    case 'last_activity':
      return `greatest(${day('r.created_at')}, ${day('(select max(sc.transmitted_at) from state_changes sc where sc.dossier_id is null and sc.person_key = r.person_key)')})`
  }
}

/** SQL of an orphan person's anchor day (alias `p`): every clock starts at its last transmission. */
export function orphanPersonAnchorSql(): string {
  return day('p.transmitted_at')
}

// ---------------------------------------------------------------------------------------------------------------
// Columns

/** Catalogue columns of a canonical table, and those that are row keys copied whatever the archive keeps. */
export function catalogueColumns(table: CanonicalTable): string[] {
  return CANONICAL_FIELDS.filter((f) => f.table === table).map((f) => f.column)
}

/** The catalogue columns an archived row of `policy` keeps, per table: key fields plus the archive's `keeps`. */
export function keptColumns(policy: RetentionPolicy): Map<CanonicalTable, Set<string>> {
  const keeps = new Set(policy.archive?.keeps ?? [])
  const kept = new Map<CanonicalTable, Set<string>>()
  for (const field of CANONICAL_FIELDS) {
    if (!kept.has(field.table)) kept.set(field.table, new Set())
    if (field.key || keeps.has(field.id)) kept.get(field.table)!.add(field.column)
  }
  return kept
}

/** Columns of the archive tables as the database has them (a field added later needs its archive column). */
export async function archiveTableColumns(db: Queryable): Promise<Map<string, Set<string>>> {
  const { rows } = await db.query<{ table_name: string; column_name: string }>(
    `select table_name, column_name
     from information_schema.columns
     where table_schema = 'archive'`,
  )
  const columns = new Map<string, Set<string>>()
  for (const row of rows) {
    if (!columns.has(row.table_name)) columns.set(row.table_name, new Set())
    columns.get(row.table_name)!.add(row.column_name)
  }
  return columns
}

/** `col` when kept, `null` otherwise, for an insert ... select from the active table aliased `src`. */
function selectList(columns: string[], kept: Set<string>, src: string): string {
  return columns.map((c) => (kept.has(c) ? `${src}.${ident(c)}` : 'null')).join(', ')
}

// ---------------------------------------------------------------------------------------------------------------
// Legal holds as SQL

/** Standing holds, as a condition on an aliased dossier row (active or archived). */
const standingHoldOn = (alias: string) =>
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

// ---------------------------------------------------------------------------------------------------------------
// Active base → archive

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

/** Due dossiers of the flows, by id after `afterId`, locked for the chunk, with their archive anchor day. */
export async function selectDueDossiers(tx: Queryable, q: DueQuery): Promise<DueRow[]> {
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    `select d.id, coalesce(${dossierAnchorSql(q.archiveAnchor)}, $5::date)::text as anchor_day
     from dossiers d
     where d.flow_id = any($1::text[])
       and d.id > $2
       and ${dossierAnchorSql(q.activeAnchor)} <= $3::date
       ${q.excludeHeld ? `and not ${standingHoldOn('d')}` : ''}
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
     from dossiers d
     where d.flow_id = any($1::text[])
       and ${dossierAnchorSql(q.activeAnchor)} <= $2::date
       ${q.excludeHeld ? `and not ${standingHoldOn('d')}` : ''}`,
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

/** Due France Travail registrations of the flows (their file's flow), locked for the chunk. */
export async function selectDueRegistrations(tx: Queryable, q: RegistrationDueQuery): Promise<DueRow[]> {
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    `select r.id, coalesce(${registrationAnchorSql(q.archiveAnchor)}, $5::date)::text as anchor_day
     from france_travail_registrations r
     join files f on f.id = r.file_id
     where f.flow_id = any($1::text[])
       and r.id > $2
       and ${registrationAnchorSql(q.activeAnchor)} <= $3::date
       ${q.excludeHeld ? 'and r.person_key <> all($6::text[])' : ''}
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
     from france_travail_registrations r
     join files f on f.id = r.file_id
     where f.flow_id = any($1::text[])
       and ${registrationAnchorSql(q.activeAnchor)} <= $2::date
       ${q.excludeHeld ? 'and r.person_key <> all($5::text[])' : ''}`,
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

/** Persons of the flows no active dossier refers to, past their active phase. */
export async function selectDueOrphanPersons(tx: Queryable, q: OrphanQuery): Promise<DueRow[]> {
  const { rows } = await tx.query<{ id: number; anchor_day: string }>(
    `select p.id, ${orphanPersonAnchorSql()}::text as anchor_day
     from persons p
     join files f on f.id = p.file_id
     where f.flow_id = any($1::text[])
       and p.id > $2
       and ${ORPHAN_DUE('$3')}
       and ${ORPHAN}
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
     from persons p
     join files f on f.id = p.file_id
     where f.flow_id = any($1::text[])
       and ${ORPHAN_DUE('$2')}
       and ${ORPHAN}`,
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

// ---------------------------------------------------------------------------------------------------------------
// Archive → destroyed

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
