import { randomBytes } from 'node:crypto'
import { processableSql } from '../access/exclusions.ts'
import type { Db, Queryable } from '../db/db.ts'
import { fieldRef, selectFields } from '../model/canonical-records.ts'
import type { CanonicalField } from '../model/fields.ts'

/**
 * SQL of the statistics feature: the population of an extract (one statement through a cursor), and the extracts table.
 */

/** One person of the population: the internal person key, and each declared field under its canonical id. */
export interface PopulationRow {
  match_key: string
  [fieldId: string]: unknown
}

export interface PopulationQuery {
  /** Catalogue fields the purpose reads. */
  fields: readonly CanonicalField[]
  /** Only these roles in the dossier (ROLEPERS); all when undefined. */
  roles: readonly string[] | undefined
  /** Persons under a limitation of processing at this instant, or opposed to this purpose, are left out. */
  now: Date
  purpose: string
  batchSize: number
}

const POPULATION_TABLES = ['persons', 'dossiers', 'dossier_members', 'france_travail_registrations'] as const

/**
 * Analyzes the population tables when the planner knows nothing or too little about them (never analyzed, or
 * more than 10 % of their rows changed since, as autovacuum would judge): without statistics the population
 * query's per-person lookup degenerates into scans. The embedded PGlite runs no autovacuum, so this matters after
 * every import there. Returns the tables analyzed.
 */
export async function refreshPlannerStatistics(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ relname: string }>(
    `select relname
     from pg_stat_user_tables
     where schemaname = current_schema()
       and relname = any($1::text[])
       and n_live_tup + n_mod_since_analyze > 0
       and ((last_analyze is null and last_autoanalyze is null) or n_mod_since_analyze > 50 + 0.1 * n_live_tup)`,
    [POPULATION_TABLES],
  )
  const stale = POPULATION_TABLES.filter((t) => rows.some((r) => r.relname === t))
  if (stale.length > 0) await db.query(`analyze ${stale.join(', ')}`)
  return stale
}

/**
 * The persons of the population, one row each, handed over in batches of `batchSize`. A person belongs to the
 * population when a dossier that is still transmitted holds them (with one of the roles, when given); their most
 * recently transmitted dossier is the one read. Persons the purpose may not process at `now` (a limitation of
 * processing, an opposition to the purpose: src/access/exclusions.ts) are left out.
 *
 * One statement read through a cursor: one snapshot (an import running meanwhile is either wholly in or wholly
 * out), hash joins over the four tables instead of a million index lookups, and memory bounded by the batch.
 * Rows come in no particular order.
 */
export async function readPopulation(db: Db, query: PopulationQuery, onBatch: (rows: PopulationRow[]) => void | Promise<void>): Promise<number> {
  const inner = selectFields(query.fields, ['dossiers', 'dossier_members'], (t) => (t === 'dossiers' ? 'd' : 'dm'))
  const outer = [
    ...selectFields(query.fields, ['persons', 'france_travail_registrations', 'france_travail_orientations']),
    ...query.fields.filter((f) => f.table === 'dossiers' || f.table === 'dossier_members').map((f) => `${fieldRef(f, 'dd')} as "${f.id}"`),
  ]
  const sql = `select p.match_key${outer.map((c) => `, ${c}`).join('')}
    from persons p
    join (
      select distinct on (dm.person_id) dm.person_id${inner.map((c) => `, ${c}`).join('')}
      from dossier_members dm
      join dossiers d on d.id = dm.dossier_id
      where d.transmission_state = 'transmitted'
        and ($1::text[] is null or dm.role = any($1::text[]))
      order by dm.person_id, d.transmitted_at desc, d.id desc
    ) dd on dd.person_id = p.id
    left join france_travail_registrations ft on ft.person_key = p.match_key
    left join france_travail_orientations fo on fo.person_id = p.id
    where ${processableSql('p', { now: '$2', purpose: '$3' })}`
  const cursor = `population_${randomBytes(6).toString('hex')}`
  return db.transaction(async (tx) => {
    // The one-dossier-per-person sort fits in memory for a département's population.
    await tx.query(`set local work_mem = '128MB'`)
    await tx.query(`declare ${cursor} no scroll cursor for ${sql}`, [query.roles ?? null, query.now.toISOString(), query.purpose])
    const fetch = () => {
      const pending = tx.query<PopulationRow>(`fetch forward ${Math.max(1, Math.floor(query.batchSize))} from ${cursor}`)
      // Awaited below; if handling a batch throws first, the transaction rolls back and this one fails unheard.
      pending.catch(() => {})
      return pending
    }
    let total = 0
    let next = fetch()
    for (;;) {
      const { rows } = await next
      if (rows.length === 0) break
      // Ask for the next batch before handling this one: the server prepares it meanwhile.
      next = fetch()
      total += rows.length
      await onBatch(rows)
    }
    await tx.query(`close ${cursor}`)
    return total
  })
}

export interface ExtractRecord {
  id: number
  publicId: string
  kind: 'microdata' | 'aggregate'
  purpose: string
  recipient: string
  aggregate: string | null
  asOf: string
  filePath: string
  manifestPath: string
  sha256: string
  bytes: number
  rows: number
  k: number | null
  kReached: number | null
  suppressionRate: number | null
  generalisation: Record<string, string>
  keyVersion: number | null
  createdAt: Date
  deliveredAt: Date | null
  deliveredTo: string | null
}

export type NewExtract = Omit<ExtractRecord, 'id' | 'publicId' | 'createdAt' | 'deliveredAt' | 'deliveredTo'> & { publicId: string; createdAt: Date }

interface ExtractRow {
  id: number
  public_id: string
  kind: 'microdata' | 'aggregate'
  purpose: string
  recipient: string
  aggregate: string | null
  as_of: string
  file_path: string
  manifest_path: string
  sha256: string
  bytes: number | string
  rows: number
  k: number | null
  k_reached: number | null
  suppression_rate: string | number | null
  generalisation: Record<string, string> | string
  key_version: number | null
  created_at: Date | string
  delivered_at: Date | string | null
  delivered_to: string | null
}

function toExtract(r: ExtractRow): ExtractRecord {
  return {
    id: Number(r.id),
    publicId: r.public_id,
    kind: r.kind,
    purpose: r.purpose,
    recipient: r.recipient,
    aggregate: r.aggregate,
    asOf: r.as_of,
    filePath: r.file_path,
    manifestPath: r.manifest_path,
    sha256: r.sha256,
    bytes: Number(r.bytes),
    rows: r.rows,
    k: r.k,
    kReached: r.k_reached,
    suppressionRate: r.suppression_rate === null ? null : Number(r.suppression_rate),
    generalisation: typeof r.generalisation === 'string' ? (JSON.parse(r.generalisation) as Record<string, string>) : r.generalisation,
    keyVersion: r.key_version,
    createdAt: new Date(r.created_at),
    deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
    deliveredTo: r.delivered_to,
  }
}

const COLUMNS = `id, public_id, kind, purpose, recipient, aggregate, as_of, file_path, manifest_path, sha256, bytes, rows, k,
  k_reached, suppression_rate, generalisation, key_version, created_at, delivered_at, delivered_to`

export async function insertExtract(db: Queryable, e: NewExtract): Promise<ExtractRecord> {
  const { rows } = await db.query<ExtractRow>(
    `insert into extracts (public_id, kind, purpose, recipient, aggregate, as_of, file_path, manifest_path, sha256, bytes, rows, k,
       k_reached, suppression_rate, generalisation, key_version, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     returning ${COLUMNS}`,
    [
      e.publicId,
      e.kind,
      e.purpose,
      e.recipient,
      e.aggregate,
      e.asOf,
      e.filePath,
      e.manifestPath,
      e.sha256,
      e.bytes,
      e.rows,
      e.k,
      e.kReached,
      e.suppressionRate,
      JSON.stringify(e.generalisation),
      e.keyVersion,
      e.createdAt.toISOString(),
    ],
  )
  return toExtract(rows[0]!)
}

export async function markExtractDelivered(db: Queryable, id: number, at: Date, to: string): Promise<void> {
  await db.query(
    `update extracts
     set delivered_at = $2, delivered_to = $3
     where id = $1`,
    [id, at.toISOString(), to],
  )
}

/** The latest microdata extract of a purpose for a recipient (its levels are the floor of the next one). */
export async function latestMicrodataExtract(db: Queryable, purpose: string, recipient: string): Promise<ExtractRecord | undefined> {
  const { rows } = await db.query<ExtractRow>(
    `select ${COLUMNS}
     from extracts
     where purpose = $1
       and recipient = $2
       and kind = 'microdata'
     order by created_at desc, id desc
     limit 1`,
    [purpose, recipient],
  )
  return rows[0] ? toExtract(rows[0]) : undefined
}

/** Extracts of a purpose for some recipients, newest first. */
export async function listExtracts(db: Queryable, purpose: string, recipients: readonly string[], limit = 200): Promise<ExtractRecord[]> {
  const { rows } = await db.query<ExtractRow>(
    `select ${COLUMNS}
     from extracts
     where purpose = $1
       and recipient = any($2::text[])
     order by created_at desc, id desc
     limit $3`,
    [purpose, recipients, limit],
  )
  return rows.map(toExtract)
}

export async function findExtract(db: Queryable, publicId: string): Promise<ExtractRecord | undefined> {
  const { rows } = await db.query<ExtractRow>(
    `select ${COLUMNS}
     from extracts
     where public_id = $1`,
    [publicId],
  )
  return rows[0] ? toExtract(rows[0]) : undefined
}
