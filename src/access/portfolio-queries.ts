import type { Queryable } from '../db/db.ts'
import { fieldRef, selectFields } from '../model/canonical-records.ts'
import type { CanonicalField } from '../model/fields.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { exclusionSql, processableSql, type Exclusion } from './exclusions.ts'
import type { AssignmentSpan, PortfolioRelation } from './portfolio.ts'

/**
 * Reads of the partner API: one person with the caller's assignments to them, a page of the caller's portfolio,
 * a person's history. The rules themselves live in portfolio.ts and exclusions.ts; these queries only pre-filter
 * with the same window, apply the exclusions' SQL twin and read the columns the purpose declares.
 */
export interface PortfolioCaller {
  relation: PortfolioRelation | undefined
  userId: number
  organisationId: number
  /** The token's purpose: the exclusions (exclusions.ts) are decided for it. */
  purposeId: string
}

export interface PersonRow {
  personId: number
  publicId: string
  matchKey: string
  updatedAt: Date
  /** What keeps the caller's purpose from processing the person now (exclusions.ts), if anything. */
  exclusion: Exclusion | undefined
  assignments: AssignmentSpan[]
  /** Declared fields, keyed by canonical field id (raw values). */
  values: Record<string, unknown>
}

const DOSSIER_TABLES = ['dossiers', 'dossier_members'] as const

/** The person's current dossier: a transmitted one first, then the latest transmitted. */
function dossierLateral(fields: readonly CanonicalField[]): string {
  const columns = ['d.id as dossier_id', 'd.updated_at as dossier_updated_at', ...selectFields(fields, DOSSIER_TABLES)]
  return `
    left join lateral (
      select ${columns.join(', ')}
      from dossier_members dm
      join dossiers d on d.id = dm.dossier_id
      where dm.person_id = p.id
      order by (d.transmission_state = 'transmitted') desc, d.transmitted_at desc, d.id desc
      limit 1
    ) dd on true
    left join france_travail_registrations ft on ft.person_key = p.match_key
    left join france_travail_orientations fo on fo.person_id = p.id`
}

function outerColumns(fields: readonly CanonicalField[]): string[] {
  return [
    ...selectFields(fields, ['persons', 'france_travail_registrations', 'france_travail_orientations']),
    ...fields.filter((f) => f.table === 'dossiers' || f.table === 'dossier_members').map((f) => `${fieldRef(f, 'dd')} as "${f.id}"`),
  ]
}

interface RawPersonRow {
  id: number
  public_id: string
  match_key: string
  updated_at: Date | string
  exclusion: Exclusion | null
  spans: AssignmentSpan[] | string | null
  [field: string]: unknown
}

function toPersonRow(r: RawPersonRow, fields: readonly CanonicalField[]): PersonRow {
  const spans = typeof r.spans === 'string' ? (JSON.parse(r.spans) as AssignmentSpan[]) : (r.spans ?? [])
  const values: Record<string, unknown> = {}
  for (const f of fields) values[f.id] = r[f.id]
  return {
    personId: r.id,
    publicId: r.public_id,
    matchKey: r.match_key,
    updatedAt: new Date(r.updated_at),
    exclusion: r.exclusion ?? undefined,
    assignments: spans.map((s) => ({ startsOn: String(s.startsOn).slice(0, 10), endsOn: s.endsOn === null ? null : String(s.endsOn).slice(0, 10) })),
    values,
  }
}

/** Which assignments name the caller (an instructor's access goes through none: see portfolio.ts). */
function relationCondition(relation: PortfolioRelation | undefined, ownerParam: string): string {
  if (relation === 'referent') return `a.referent_user_id = ${ownerParam}::bigint`
  if (relation === 'structure') return `a.organisation_id = ${ownerParam}::bigint`
  return `(false and ${ownerParam}::bigint is null)`
}

/**
 * One person by public id, with the caller's assignments to them (all of them: the pure rules decide), whether a
 * processing exclusion holds at `now`, and the declared fields. Undefined when no person has this id.
 */
export async function findPersonForCaller(
  db: Queryable,
  input: { publicId: string; caller: PortfolioCaller; fields: readonly CanonicalField[]; now: Date },
): Promise<PersonRow | undefined> {
  const sql = cachedSql(input.fields, `person|${input.caller.relation}`, () => `
    select p.id, p.public_id, p.match_key,
           greatest(p.updated_at, dd.dossier_updated_at, ft.updated_at) as updated_at,
           ${exclusionSql('p', { now: '$3', purpose: '$4' })} as exclusion,
           (
             select json_agg(json_build_object('startsOn', a.starts_on, 'endsOn', a.ends_on))
             from assignments a
             where a.person_id = p.id
               and ${relationCondition(input.caller.relation, '$2')}
           ) as spans
           ${outerColumns(input.fields).map((c) => `, ${c}`).join('')}
    from persons p
    ${dossierLateral(input.fields)}
    where p.public_id = $1`)
  const owner = input.caller.relation === 'structure' ? input.caller.organisationId : input.caller.userId
  const { rows } = await db.query<RawPersonRow>(sql, [input.publicId, owner, input.now, input.caller.purposeId], { prepare: true })
  return rows[0] && toPersonRow(rows[0], input.fields)
}

const sqlCache = new WeakMap<readonly CanonicalField[], Map<string, string>>()

/** The SQL text of a query for one set of fields and variant, built once (the same text keeps its prepared plan). */
function cachedSql(fields: readonly CanonicalField[], variant: string, build: () => string): string {
  let byVariant = sqlCache.get(fields)
  if (!byVariant) {
    byVariant = new Map()
    sqlCache.set(fields, byVariant)
  }
  let sql = byVariant.get(variant)
  if (sql === undefined) {
    sql = build()
    byVariant.set(variant, sql)
  }
  return sql
}

export interface PortfolioFilters {
  etatDroit?: string | undefined
  soumisDroitsDevoirs?: boolean | undefined
  inscritFranceTravail?: boolean | undefined
  modifieDepuis?: Date | undefined
}

/** The canonical field each filter reads: a filter is usable only when the purpose exposes that field as is. */
export const FILTER_FIELDS = {
  etatDroit: 'dossier.etatDroit',
  soumisDroitsDevoirs: 'personne.soumisDroitsDevoirs',
  inscritFranceTravail: 'franceTravail.etat',
} as const satisfies Partial<Record<keyof PortfolioFilters, string>>

/**
 * A page of the caller's portfolio in persons.id order (keyset: stable while imports add persons), persons under a
 * limitation or who objected to the purpose excluded. Returns up to `limit + 1` rows so the caller knows whether a
 * next page exists. A referent's or structure's portfolio comes from the assignments open in the window; an
 * instructor's is the whole active base.
 */
export async function listPortfolio(
  db: Queryable,
  input: {
    caller: PortfolioCaller
    fields: readonly CanonicalField[]
    window: { today: string; endedNoEarlierThan: string }
    afterPersonId: number
    limit: number
    filters: PortfolioFilters
    now: Date
  },
): Promise<PersonRow[]> {
  const { caller } = input
  if (!caller.relation) return []
  const params: unknown[] = []
  const param = (value: unknown) => {
    params.push(value)
    return `$${params.length}`
  }
  const after = param(input.afterPersonId)
  const limit = param(input.limit + 1)
  const conditions: string[] = [processableSql('p', { now: param(input.now), purpose: param(caller.purposeId) })]
  const f = input.filters
  if (f.etatDroit !== undefined) conditions.push(`${fieldRef(FIELDS_BY_ID.get(FILTER_FIELDS.etatDroit)!, 'dd')} = ${param(f.etatDroit)}`)
  if (f.soumisDroitsDevoirs !== undefined) {
    conditions.push(`coalesce(${fieldRef(FIELDS_BY_ID.get(FILTER_FIELDS.soumisDroitsDevoirs)!, 'dd')}, false) = ${param(f.soumisDroitsDevoirs)}`)
  }
  if (f.inscritFranceTravail !== undefined) conditions.push(`coalesce(ft.etat = 'inscription', false) = ${param(f.inscritFranceTravail)}`)
  if (f.modifieDepuis !== undefined) conditions.push(`greatest(p.updated_at, dd.dossier_updated_at, ft.updated_at) >= ${param(f.modifieDepuis)}`)

  let from: string
  let spans: string
  if (caller.relation === 'departement') {
    from = 'persons p'
    spans = 'null::json'
    conditions.unshift(`p.id > ${after}`)
  } else {
    const owner = caller.relation === 'referent' ? `a.referent_user_id = ${param(caller.userId)}` : `a.organisation_id = ${param(caller.organisationId)}`
    const today = param(input.window.today)
    const endedNoEarlierThan = param(input.window.endedNoEarlierThan)
    from = `(
      select a.person_id, json_agg(json_build_object('startsOn', a.starts_on, 'endsOn', a.ends_on)) as spans
      from assignments a
      where ${owner}
        and a.person_id > ${after}
        and a.starts_on <= ${today}
        and (a.ends_on is null or (a.ends_on >= a.starts_on and a.ends_on >= ${endedNoEarlierThan}))
      group by a.person_id
    ) a
    join persons p on p.id = a.person_id`
    spans = 'a.spans'
  }
  const sql = cachedSql(input.fields, `list|${caller.relation}|${conditions.join('|')}`, () => `
    select p.id, p.public_id, p.match_key,
           greatest(p.updated_at, dd.dossier_updated_at, ft.updated_at) as updated_at,
           null as exclusion,
           ${spans} as spans
           ${outerColumns(input.fields).map((c) => `, ${c}`).join('')}
    from ${from}
    ${dossierLateral(input.fields)}
    where ${conditions.join('\n      and ')}
    order by p.id
    limit ${limit}`)
  const { rows } = await db.query<RawPersonRow>(sql, params, { prepare: true })
  return rows.map((r) => toPersonRow(r, input.fields))
}

export interface StateChangeRow {
  id: number
  field: string
  onDossier: boolean
  oldValue: string | null
  newValue: string | null
  effectiveDate: string | null
  transmittedAt: Date
}

/** State changes of a person's dossiers and France Travail registration, oldest first, keyset on id. */
export async function listPersonStateChanges(
  db: Queryable,
  input: { personId: number; matchKey: string; afterId: number; limit: number },
): Promise<StateChangeRow[]> {
  const { rows } = await db.query<{
    id: number
    field: string
    on_dossier: boolean
    old_value: string | null
    new_value: string | null
    effective_date: string | null
    transmitted_at: Date
  }>(
    `select sc.id, sc.field, (sc.dossier_id is not null) as on_dossier, sc.old_value, sc.new_value, sc.effective_date, sc.transmitted_at
     from (
       -- Two index scans (by dossier, by person key), not one OR: with the OR the planner walked the primary key
       -- of the whole table, filtering every change of every person (4.3 ms at 12,500 changes, growing with it).
       select sc.* from dossier_members dm join state_changes sc on sc.dossier_id = dm.dossier_id where dm.person_id = $1 and sc.id > $3
       union
       select sc.* from state_changes sc where sc.person_key = $2 and sc.id > $3
     ) sc
     order by sc.id
     limit $4`,
    [input.personId, input.matchKey, input.afterId, input.limit + 1],
    { prepare: true },
  )
  return rows.map((r) => ({
    id: r.id,
    field: r.field,
    onDossier: r.on_dossier,
    oldValue: r.old_value,
    newValue: r.new_value,
    effectiveDate: r.effective_date,
    transmittedAt: new Date(r.transmitted_at),
  }))
}
