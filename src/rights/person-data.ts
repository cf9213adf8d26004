import type { Keys } from '../crypto/keys.ts'
import type { Queryable } from '../db/db.ts'
import { canonicalRecordFromRow } from '../model/canonical-records.ts'
import { CANONICAL_FIELDS, type CanonicalField } from '../model/fields.ts'

/**
 * Everything Passerelle holds on one person, read by their match key: their row, their dossiers and memberships,
 * their France Travail registration, in the active base and in the archive; the state changes of those; who
 * follows them (assignments) and the limitations that stood. Each row carries its provenance (the flow and the
 * transmission time); values are normalised as projection reads them (dates `YYYY-MM-DD`, NIR decrypted).
 *
 * Used by the access export (what to show), rectification (which rows to flag) and erasure (what to delete).
 */
export type CanonicalTable = CanonicalField['table']
export type Place = 'active' | 'archive'

export interface Provenance {
  flowId: string | null
  fileId: number | null
  /** ISO instant of the transmission the row comes from. */
  transmittedAt: string | null
}

export interface HeldRow {
  table: CanonicalTable
  place: Place
  /** persons.id, dossiers.id, france_travail_registrations.id (a membership: its dossier id). */
  rowId: number
  source: Provenance
  /** Non-null catalogue values by canonical field id. */
  values: Record<string, unknown>
}

export interface HeldMembership {
  dossier: HeldRow
  member: HeldRow
  /** How many persons the dossier holds (the person included). */
  memberCount: number
}

export interface HeldStateChange {
  place: Place
  onDossier: boolean
  dossierId: number | null
  field: string
  from: string | null
  to: string | null
  effectiveDate: string | null
  source: Provenance
}

export interface HeldAssignment {
  organisationName: string
  organisationType: string
  startsOn: string
  endsOn: string | null
}

export interface HeldPerson {
  matchKey: string
  /** persons.id, when the person has a live row. */
  personId: number | undefined
  /** archive.persons.id, when archived. */
  archivePersonId: number | undefined
  person: HeldRow | undefined
  archivedPerson: HeldRow | undefined
  memberships: HeldMembership[]
  archivedMemberships: HeldMembership[]
  registration: HeldRow | undefined
  archivedRegistration: HeldRow | undefined
  /** France Travail's orientation as last read through the partner API (active base only; its source is that read). */
  franceTravailOrientation: HeldRow | undefined
  stateChanges: HeldStateChange[]
  assignments: HeldAssignment[]
  limitations: { since: string; liftedAt: string | null }[]
  /**
   * Records of a France Travail file without a NIR held for an operator's decision (the matching queue) that name
   * the person: linked to them, or queued under their identity (birth name, first name, birth date). `possiblyOther`:
   * several persons bore that identity when it was queued, so it may be a homonym's.
   */
  queuedRecords: { flowId: string; state: string; reason: string; transmittedAt: string; possiblyOther: boolean }[]
  /** The flows any of this came from. */
  flows: Set<string>
}

type Raw = Record<string, unknown>

const FIELDS_OF = new Map<CanonicalTable, CanonicalField[]>()
for (const f of CANONICAL_FIELDS) {
  if (!FIELDS_OF.has(f.table)) FIELDS_OF.set(f.table, [])
  FIELDS_OF.get(f.table)!.push(f)
}

/** The catalogue fields of a table. */
export function tableFields(table: CanonicalTable): readonly CanonicalField[] {
  return FIELDS_OF.get(table) ?? []
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString())

/** Catalogue values of a raw row (columns by name), normalised; nulls left out. */
export function valuesOfRow(table: CanonicalTable, row: Raw, keys: Pick<Keys, 'nir'>): Record<string, unknown> {
  const fields = tableFields(table)
  const byId: Raw = {}
  for (const f of fields) byId[f.id] = row[f.column]
  const record = canonicalRecordFromRow(byId, fields, keys)
  const out: Record<string, unknown> = {}
  for (const [id, value] of Object.entries(record)) if (value !== null && value !== undefined) out[id] = value
  return out
}

function heldRow(table: CanonicalTable, place: Place, row: Raw, keys: Pick<Keys, 'nir'>, rowId: number): HeldRow {
  return {
    table,
    place,
    rowId,
    source: { flowId: (row.source_flow as string | null) ?? null, fileId: row.file_id == null ? null : Number(row.file_id), transmittedAt: iso(row.transmitted_at) },
    values: valuesOfRow(table, row, keys),
  }
}

export async function readHeldPerson(db: Queryable, keys: Pick<Keys, 'nir'>, matchKey: string): Promise<HeldPerson> {
  const flows = new Set<string>()
  const note = (r: HeldRow | undefined) => {
    if (r?.source.flowId) flows.add(r.source.flowId)
    return r
  }

  const p = (await db.query<Raw>(
    `select p.*, f.flow_id as source_flow
     from persons p
     left join files f on f.id = p.file_id
     where p.match_key = $1`,
    [matchKey],
  )).rows[0]
  const ap = (await db.query<Raw>(
    `select p.*, f.flow_id as source_flow
     from archive.persons p
     left join files f on f.id = p.file_id
     where p.match_key = $1`,
    [matchKey],
  )).rows[0]
  const personId = p ? Number(p.id) : undefined
  const archivePersonId = ap ? Number(ap.id) : undefined

  const memberships = personId === undefined ? [] : await readMemberships(db, keys, 'active', personId)
  const archivedMemberships = archivePersonId === undefined ? [] : await readMemberships(db, keys, 'archive', archivePersonId)

  const r = (await db.query<Raw>(
    `select r.*, f.flow_id as source_flow
     from france_travail_registrations r
     left join files f on f.id = r.file_id
     where r.person_key = $1`,
    [matchKey],
  )).rows[0]
  const ar = (await db.query<Raw>(
    `select r.*, f.flow_id as source_flow
     from archive.france_travail_registrations r
     left join files f on f.id = r.file_id
     where r.person_key = $1`,
    [matchKey],
  )).rows[0]

  // Provenance of an API read: the flow the catalogue names for the table, the read time as the transmission.
  const fo = personId === undefined ? undefined : (await db.query<Raw>(
    `select o.*, $2::text as source_flow, null as file_id, o.read_at as transmitted_at
     from france_travail_orientations o
     where o.person_id = $1`,
    [personId, tableFields('france_travail_orientations')[0]?.sources[0] ?? null],
  )).rows[0]

  const stateChanges: HeldStateChange[] = []
  for (const [place, schema, dossierIds] of [
    ['active', 'public', memberships.map((m) => m.dossier.rowId)],
    ['archive', 'archive', archivedMemberships.map((m) => m.dossier.rowId)],
  ] as const) {
    const { rows } = await db.query<Raw>(
      `select sc.id, sc.dossier_id, sc.field, sc.old_value, sc.new_value, sc.effective_date::text as effective_date, sc.file_id, sc.transmitted_at, f.flow_id as source_flow
       from ${schema}.state_changes sc
       left join files f on f.id = sc.file_id
       where sc.dossier_id = any($1::bigint[])
          or (sc.dossier_id is null and sc.person_key = $2)
       order by sc.transmitted_at, sc.id`,
      [dossierIds, matchKey],
    )
    for (const row of rows) {
      stateChanges.push({
        place,
        onDossier: row.dossier_id !== null,
        dossierId: row.dossier_id === null ? null : Number(row.dossier_id),
        field: String(row.field),
        from: (row.old_value as string | null) ?? null,
        to: (row.new_value as string | null) ?? null,
        effectiveDate: (row.effective_date as string | null) ?? null,
        source: { flowId: (row.source_flow as string | null) ?? null, fileId: row.file_id == null ? null : Number(row.file_id), transmittedAt: iso(row.transmitted_at) },
      })
    }
  }

  const assignments: HeldAssignment[] = []
  const limitations: HeldPerson['limitations'] = []
  // Assignments of the active person and those archived with the person; limitations keep the person's id in
  // either place (migration 0120).
  const personIds = [personId, archivePersonId].filter((id): id is number => id !== undefined)
  if (personIds.length > 0) {
    const a = await db.query<{ name: string; type: string; starts_on: string; ends_on: string | null }>(
      `select o.name, o.type, a.starts_on::text as starts_on, a.ends_on::text as ends_on
       from (
         select id, organisation_id, starts_on, ends_on from assignments where person_id = $1
         union all
         select id, organisation_id, starts_on, ends_on from archive.assignments where person_id = any($2::bigint[])
       ) a
       join organisations o on o.id = a.organisation_id
       order by a.starts_on, a.id`,
      [personId ?? null, archivePersonId === undefined ? [] : [archivePersonId]],
    )
    assignments.push(...a.rows.map((x) => ({ organisationName: x.name, organisationType: x.type, startsOn: x.starts_on, endsOn: x.ends_on })))
    const l = await db.query<{ since: Date | string; lifted_at: Date | string | null }>(
      'select since, lifted_at from limitations where person_id = any($1::bigint[]) order by since, id',
      [personIds],
    )
    limitations.push(...l.rows.map((x) => ({ since: iso(x.since)!, liftedAt: iso(x.lifted_at) })))
  }
  const queuedRecords: HeldPerson['queuedRecords'] = []
  if (personId !== undefined) {
    const q = await db.query<{ flow_id: string; state: string; reason: string; transmitted_at: Date | string; mine: boolean }>(
      `select q.flow_id, q.state, q.reason, q.transmitted_at, q.person_id is not distinct from $1 as mine
       from matching_queue q
       where q.person_id = $1
          or q.identity_index = (select p.identity_index from persons p where p.id = $1)
       order by q.transmitted_at, q.id`,
      [personId],
    )
    queuedRecords.push(...q.rows.map((x) => ({ flowId: x.flow_id, state: x.state, reason: x.reason, transmittedAt: iso(x.transmitted_at)!, possiblyOther: !x.mine && x.reason === 'ambiguous' })))
  }

  const held: HeldPerson = {
    matchKey,
    personId,
    archivePersonId,
    person: note(p ? heldRow('persons', 'active', p, keys, personId!) : undefined),
    archivedPerson: note(ap ? heldRow('persons', 'archive', ap, keys, archivePersonId!) : undefined),
    memberships,
    archivedMemberships,
    registration: note(r ? heldRow('france_travail_registrations', 'active', r, keys, Number(r.id)) : undefined),
    archivedRegistration: note(ar ? heldRow('france_travail_registrations', 'archive', ar, keys, Number(ar.id)) : undefined),
    franceTravailOrientation: note(fo ? heldRow('france_travail_orientations', 'active', fo, keys, Number(fo.person_id)) : undefined),
    stateChanges,
    assignments,
    limitations,
    queuedRecords,
    flows,
  }
  for (const m of [...memberships, ...archivedMemberships]) {
    note(m.dossier)
    note(m.member)
  }
  return held
}

async function readMemberships(db: Queryable, keys: Pick<Keys, 'nir'>, place: Place, personId: number): Promise<HeldMembership[]> {
  const schema = place === 'active' ? 'public' : 'archive'
  const members = await db.query<Raw>(
    `select dm.*, f.flow_id as source_flow,
            (select count(*)::int from ${schema}.dossier_members o where o.dossier_id = dm.dossier_id) as member_count
     from ${schema}.dossier_members dm
     left join files f on f.id = dm.file_id
     where dm.person_id = $1
     order by dm.dossier_id`,
    [personId],
  )
  if (members.rows.length === 0) return []
  const dossiers = await db.query<Raw>(
    `select d.*, d.flow_id as source_flow
     from ${schema}.dossiers d
     where d.id = any($1::bigint[])`,
    [members.rows.map((m) => m.dossier_id)],
  )
  const byId = new Map(dossiers.rows.map((d) => [Number(d.id), d]))
  return members.rows.flatMap((m) => {
    const d = byId.get(Number(m.dossier_id))
    if (!d) return []
    return [
      {
        dossier: heldRow('dossiers', place, d, keys, Number(d.id)),
        member: heldRow('dossier_members', place, m, keys, Number(m.dossier_id)),
        memberCount: Number(m.member_count),
      },
    ]
  })
}

/** Whether anything is held on the person at all. */
export function holdsAnything(held: HeldPerson): boolean {
  return Boolean(held.person || held.archivedPerson || held.registration || held.archivedRegistration || held.franceTravailOrientation || held.memberships.length || held.archivedMemberships.length)
}

/** Nothing held (a request whose person was erased, or never known). */
export function emptyHeldPerson(matchKey: string): HeldPerson {
  return {
    matchKey,
    personId: undefined,
    archivePersonId: undefined,
    person: undefined,
    archivedPerson: undefined,
    memberships: [],
    archivedMemberships: [],
    registration: undefined,
    archivedRegistration: undefined,
    franceTravailOrientation: undefined,
    stateChanges: [],
    assignments: [],
    limitations: [],
    queuedRecords: [],
    flows: new Set(),
  }
}
