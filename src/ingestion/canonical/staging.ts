import type { Keys } from '../../crypto/keys.ts'
import { encryptNir } from '../../crypto/nir-cipher.ts'
import { encodeCopy, type EncodedCopy, type Queryable } from '../../db/db.ts'
import { BENEFICIARY_FLOWS, CANONICAL_FIELDS, type CanonicalField, type FieldType } from '../../model/fields.ts'
import type { Breathe } from '../breather.ts'
import type { MappedFoyer, MappedRegistration } from './map-records.ts'

/**
 * Per-file staging: parsed records are COPYed into temporary tables (dropped at commit) and merged into the
 * canonical tables with a few set-based statements: CNAF foyers batch by batch (while the next batch is parsed),
 * France Travail rows once at the end of the file. Everything happens in the file's transaction, so a file is
 * loaded whole or not at all.
 *
 * Minimisation is applied here, before anything reaches the database: a catalogue field that no purpose stores
 * is written as NULL (and a merge overwrites what an earlier configuration stored).
 */
type CanonicalTable = CanonicalField['table']

export const SQL_TYPES: Record<FieldType, string> = {
  text: 'text',
  code: 'text',
  date: 'date',
  boolean: 'boolean',
  integer: 'integer',
  decimal: 'numeric(11, 2)',
  nir: 'bytea',
}

/**
 * Catalogue fields of a table that a beneficiary record (VRSB0801, a whole foyer snapshot) writes, structural keys
 * of the staging rows excepted. Fields only another flow sends (the instruction flow's contacts and DSP) are not
 * written, so a beneficiary file never clears them.
 */
function fieldsOf(table: CanonicalTable): CanonicalField[] {
  const structural: Record<CanonicalTable, string[]> = {
    dossiers: ['organisme', 'numdemrsa'],
    persons: [],
    dossier_members: [],
    france_travail_registrations: [],
    // Not loaded from files: the partner API's orientation reads write it (src/exchange/france-travail-api/).
    france_travail_orientations: [],
  }
  return CANONICAL_FIELDS.filter(
    (f) => f.table === table && !structural[table].includes(f.column) && (table === 'france_travail_registrations' || f.sources.some((s) => BENEFICIARY_FLOWS.includes(s))),
  )
}

const DOSSIER_FIELDS = fieldsOf('dossiers')
const PERSON_FIELDS = fieldsOf('persons')
const MEMBER_FIELDS = fieldsOf('dossier_members')
const FT_FIELDS = fieldsOf('france_travail_registrations')

const cols = (fields: CanonicalField[]) => fields.map((f) => f.column)
const ddl = (fields: CanonicalField[]) => fields.map((f) => `${f.column} ${SQL_TYPES[f.type]}`).join(', ')

export async function createStagingTables(tx: Queryable): Promise<void> {
  await tx.exec(`
    create temp table stage_dossiers (record_index integer not null, organisme text not null, numdemrsa text not null, ${ddl(DOSSIER_FIELDS)}) on commit drop;
    create temp table stage_persons (record_index integer not null, match_key text not null, nir_index text, identity_index text, ${ddl(PERSON_FIELDS)}) on commit drop;
    create temp table stage_members (record_index integer not null, organisme text not null, numdemrsa text not null, match_key text not null, ${ddl(MEMBER_FIELDS)}) on commit drop;
    create temp table stage_registrations (record_index integer not null, line integer not null, person_key text not null, ${ddl(FT_FIELDS)}) on commit drop;
  `)
}

/** Which canonical fields are stored: the union of the purposes' fields and the key fields. */
export type StoredFields = ReadonlySet<string>

/** The values of `fields` as stored: NULL for a field no purpose stores (and not a key), the NIR encrypted. */
export function masked(fields: readonly CanonicalField[], stored: StoredFields, values: Record<string, unknown>, keys: Keys): unknown[] {
  return fields.map((f) => {
    if (!stored.has(f.id) && !f.key) return null
    const value = values[f.id]
    if (value === undefined || value === null) return null
    if (f.type === 'nir') return encryptNir(keys.nir, String(value))
    return value
  })
}

/**
 * One batch of foyers, minimised, NIRs encrypted and encoded for COPY into the staging tables: pure CPU work, done
 * while the database merges the previous batch; `stageEncoded` sends it. The loader hands at most one foyer per
 * dossier and no person twice in a foyer (later records of a dossier are `duplicate_dossier` rejections): a
 * duplicate here is a bug and throws, it is never collapsed. A person met in two foyers of the file (two dossiers)
 * is a member of both; their identity columns are those of the later record, as a later file would update them.
 */
export async function encodeFoyerStage(
  foyers: readonly { recordIndex: number; mapped: MappedFoyer }[],
  stored: StoredFields,
  keys: Keys,
  breathe: Breathe = () => undefined,
): Promise<EncodedCopy[]> {
  const dossierKeys = new Set<string>()
  const dossiers: unknown[][] = []
  const persons = new Map<string, unknown[]>()
  const members: unknown[][] = []
  for (const { recordIndex, mapped } of foyers) {
    await breathe()
    const organisme = mapped.dossier['dossier.organisme']
    const numdemrsa = mapped.dossier['dossier.numdemrsa']
    const dossierKey = `${organisme}|${numdemrsa}`
    if (dossierKeys.has(dossierKey)) throw new Error(`staging: record ${recordIndex} repeats a dossier of its batch (the loader must reject it)`)
    dossierKeys.add(dossierKey)
    dossiers.push([recordIndex, organisme, numdemrsa, ...masked(DOSSIER_FIELDS, stored, mapped.dossier, keys)])
    const inFoyer = new Set<string>()
    for (const p of mapped.persons) {
      if (inFoyer.has(p.matchKey)) throw new Error(`staging: record ${recordIndex} names a person twice (the loader must reject it)`)
      inFoyer.add(p.matchKey)
      persons.set(p.matchKey, [recordIndex, p.matchKey, p.nirIndex, p.identityIndex, ...masked(PERSON_FIELDS, stored, p.values, keys)])
      members.push([recordIndex, organisme, numdemrsa, p.matchKey, ...masked(MEMBER_FIELDS, stored, p.member, keys)])
    }
  }
  return [
    encodeCopy('stage_dossiers', ['record_index', 'organisme', 'numdemrsa', ...cols(DOSSIER_FIELDS)], dossiers),
    encodeCopy('stage_persons', ['record_index', 'match_key', 'nir_index', 'identity_index', ...cols(PERSON_FIELDS)], [...persons.values()]),
    encodeCopy('stage_members', ['record_index', 'organisme', 'numdemrsa', 'match_key', ...cols(MEMBER_FIELDS)], members),
  ]
}

/** Sends staging rows encoded by `encodeFoyerStage`. */
export async function stageEncoded(tx: Queryable, copies: readonly EncodedCopy[]): Promise<void> {
  for (const copy of copies) await tx.copyEncoded(copy)
}

export async function stageRegistrations(
  tx: Queryable,
  rows: readonly { recordIndex: number; line: number; mapped: MappedRegistration }[],
  stored: StoredFields,
  keys: Keys,
): Promise<void> {
  await tx.copyRows(
    'stage_registrations',
    ['record_index', 'line', 'person_key', ...cols(FT_FIELDS)],
    rows.map(({ recordIndex, line, mapped }) => [recordIndex, line, mapped.personKey, ...masked(FT_FIELDS, stored, mapped.values, keys)]),
  )
}

/**
 * The registration columns of the staging rows (catalogue fields of france_travail_registrations), their DDL, and a
 * record's values minimised for them: for src/matching/, which stages records without a NIR the same way until they
 * are matched (then moved into stage_registrations) or queued.
 */
export const REGISTRATION_COLUMNS: readonly string[] = cols(FT_FIELDS)
export const REGISTRATION_DDL = ddl(FT_FIELDS)
export function maskRegistration(values: Record<string, unknown>, stored: StoredFields, keys: Keys): unknown[] {
  return masked(FT_FIELDS, stored, values, keys)
}

/**
 * The conflict clause of every write of a registration (a file's merge, an operator's link in src/matching/): the
 * person's row takes the incoming state unless the stored one is more recent.
 */
export const REGISTRATION_UPSERT = `on conflict (person_key) do update set
       ${FT_FIELDS.map((c) => `${c.column} = excluded.${c.column}`).join(',\n       ')},
       file_id = excluded.file_id,
       transmitted_at = excluded.transmitted_at,
       updated_at = now()
     where france_travail_registrations.date_etat is null
        or excluded.date_etat is null
        or excluded.date_etat >= france_travail_registrations.date_etat`

export interface MergeContext {
  flowId: string
  fileId: number
  transmittedAt: Date
  /** Effective date of state changes (DTREF of a CNAF file, the file date otherwise). */
  effectiveDate: string
  /**
   * CNAF: stocks of the flow created after this file and already loaded (it lands late). A dossier this file
   * writes was in none of them (else its content would be newer and this record superseded), so it has been no
   * longer transmitted since the first of them, as decided by the last: what the chronological order would say.
   */
  newerStocks?: NewerStocks
}

export interface NewerStocks {
  /** DTREF of the first loaded stock created after the file. */
  firstReferenceDate: string
  /** Creation time of the last one. */
  lastTransmittedAt: Date
}

/** The loaded stocks of a flow created after `transmittedAt`, if any (see MergeContext.newerStocks). */
export async function findNewerStocks(tx: Queryable, flowId: string, transmittedAt: Date): Promise<NewerStocks | undefined> {
  const { rows } = await tx.query<{ first_reference_date: string | null; last_transmitted_at: Date | null }>(
    `select (array_agg(reference_date::text order by transmitted_at))[1] as first_reference_date,
            max(transmitted_at) as last_transmitted_at
     from files
     where flow_id = $1
       and kind = 'stock'
       and status = 'loaded'
       and transmitted_at > $2`,
    [flowId, transmittedAt],
  )
  const r = rows[0]
  if (!r?.last_transmitted_at || !r.first_reference_date) return undefined
  return { firstReferenceDate: r.first_reference_date, lastTransmittedAt: new Date(r.last_transmitted_at) }
}

const set = (columns: string[]) => columns.map((c) => `${c} = excluded.${c}`).join(',\n  ')

/** In the dossiers upsert: the stored transmission state was decided by a file created after the incoming record. */
const decidedLater = 'coalesce(dossiers.state_as_of, dossiers.transmitted_at) > excluded.transmitted_at'

/**
 * Merges the staged batch (one row per dossier: later records of a dossier are rejected by the loader) into the canonical tables: dossiers with their state
 * history, persons, then each dossier's members (a foyer is a whole snapshot), and empties the staging tables for
 * the next batch. Batches are merged while the next one is parsed, so the database works alongside the parser.
 */
export async function mergeFoyers(
  tx: Queryable,
  ctx: MergeContext,
): Promise<{ dossiers: number; persons: number; members: number; superseded: number }> {
  const d = cols(DOSSIER_FIELDS)
  const p = cols(PERSON_FIELDS)
  const m = cols(MEMBER_FIELDS)
  const superseded = await dropSuperseded(tx, ctx)
  await tx.query(
    `insert into state_changes (dossier_id, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select d.id, 'etat_droit', d.etat_droit, s.etat_droit, $1, $2, $3
     from stage_dossiers s
     join dossiers d on d.organisme = s.organisme and d.numdemrsa = s.numdemrsa
     where d.etat_droit is distinct from s.etat_droit`,
    [ctx.effectiveDate, ctx.fileId, ctx.transmittedAt],
  )
  await tx.query(
    `insert into state_changes (dossier_id, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select d.id, 'transmission_state', d.transmission_state, 'transmitted', $1, $2, $3
     from stage_dossiers s
     join dossiers d on d.organisme = s.organisme and d.numdemrsa = s.numdemrsa
     where d.transmission_state <> 'transmitted'
       and coalesce(d.state_as_of, d.transmitted_at) <= $3`,
    [ctx.effectiveDate, ctx.fileId, ctx.transmittedAt],
  )
  // Upsert, and open the history of the dossiers seen for the first time, in one statement.
  const upsert = await tx.query<{ dossiers: number }>(
    `with upserted as (
       insert into dossiers (flow_id, organisme, numdemrsa, ${d.join(', ')}, transmission_state, not_transmitted_since, file_id, transmitted_at, state_as_of)
       select $1, organisme, numdemrsa, ${d.join(', ')},
              case when $6::timestamptz is null then 'transmitted' else 'not_transmitted' end, $5::date, $2, $3, greatest($3, $6::timestamptz)
       from stage_dossiers
       on conflict (organisme, numdemrsa) do update set
         flow_id = excluded.flow_id,
         ${set(d)},
         -- A newer stock marked the dossier absent: its content is this record's, its state stays the stock's.
         -- (This record re-transmitted it, so it has been absent since the first newer stock.)
         transmission_state = case when ${decidedLater} then dossiers.transmission_state else 'transmitted' end,
         not_transmitted_since = case
           when ${decidedLater} and dossiers.transmission_state = 'not_transmitted' then coalesce($5::date, dossiers.not_transmitted_since)
           when ${decidedLater} then dossiers.not_transmitted_since
         end,
         file_id = excluded.file_id,
         transmitted_at = excluded.transmitted_at,
         state_as_of = greatest(coalesce(dossiers.state_as_of, dossiers.transmitted_at), excluded.state_as_of),
         updated_at = now()
       returning id, (xmax = 0) as inserted, etat_droit
     ),
     opened as (
       insert into state_changes (dossier_id, field, old_value, new_value, effective_date, file_id, transmitted_at)
       select id, 'etat_droit', null, etat_droit, $4, $2, $3
       from upserted
       where inserted
     )
     select count(*)::int as dossiers
     from upserted`,
    [ctx.flowId, ctx.fileId, ctx.transmittedAt, ctx.effectiveDate, ctx.newerStocks?.firstReferenceDate ?? null, ctx.newerStocks?.lastTransmittedAt ?? null],
  )
  const persons = await tx.query(
    `insert into persons (match_key, nir_index, identity_index, ${p.join(', ')}, file_id, transmitted_at)
     select match_key, nir_index, identity_index, ${p.join(', ')}, $1, $2
     from stage_persons
     on conflict (match_key) do update set
       nir_index = excluded.nir_index,
       identity_index = excluded.identity_index,
       ${set(p)},
       file_id = excluded.file_id,
       transmitted_at = excluded.transmitted_at,
       updated_at = now()
     where persons.transmitted_at <= excluded.transmitted_at`,
    [ctx.fileId, ctx.transmittedAt],
  )
  await tx.query(
    `delete from dossier_members dm
     using dossiers d, stage_dossiers s
     where dm.dossier_id = d.id
       and d.organisme = s.organisme
       and d.numdemrsa = s.numdemrsa`,
  )
  const members = await tx.query(
    `insert into dossier_members (dossier_id, person_id, ${m.join(', ')}, file_id, transmitted_at)
     select d.id, p.id, ${m.map((c) => `sm.${c}`).join(', ')}, $1, $2
     from stage_members sm
     join dossiers d on d.organisme = sm.organisme and d.numdemrsa = sm.numdemrsa
     join persons p on p.match_key = sm.match_key`,
    [ctx.fileId, ctx.transmittedAt],
  )
  await tx.exec('truncate stage_dossiers, stage_persons, stage_members')
  return { dossiers: upsert.rows[0]?.dossiers ?? 0, persons: persons.rowCount, members: members.rowCount, superseded }
}

/**
 * Order per dossier: a staged dossier whose content was written by a file created after this one is superseded,
 * and taken out of the batch with its members (a foyer is one snapshot). Its persons stay staged: each person is
 * ordered on their own (the persons upsert keeps whichever identity is newer), as the chronological order would
 * have written them before the newer record replaced the foyer. A tie (same creation time) applies, as files load.
 * The dossier's transmission state is ordered apart (`state_as_of`, see the upsert).
 */
async function dropSuperseded(tx: Queryable, ctx: MergeContext): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `with superseded as (
       delete from stage_dossiers s
       using dossiers d
       where d.organisme = s.organisme
         and d.numdemrsa = s.numdemrsa
         and d.transmitted_at > $1
       returning s.organisme, s.numdemrsa
     )
     select count(*)::int as n
     from superseded`,
    [ctx.transmittedAt],
  )
  const n = rows[0]?.n ?? 0
  if (n === 0) return 0
  await tx.exec(
    `delete from stage_members sm
     where not exists (select 1 from stage_dossiers s where s.organisme = sm.organisme and s.numdemrsa = sm.numdemrsa)`,
  )
  return n
}

/**
 * A monthly stock replaces the producer's active set: a dossier of this flow absent from the stock is marked
 * no longer transmitted (never deleted: retention decides). Dossiers whose record was rejected in this file are
 * not treated as absent, nor are dossiers a file created after the stock has seen (a stock that lands late does
 * not drop what a newer daily file sent, nor what its own superseded records name). Marking a dossier absent
 * decides its state as of the stock: an older file arriving later does not bring it back.
 */
export async function markAbsentFromStock(tx: Queryable, ctx: MergeContext, rejectedKeys: readonly string[]): Promise<number> {
  // Every dossier of the file was merged with this file's id, and every superseded one is newer than the file: the
  // flow's other transmitted dossiers, decided before this file, are absent.
  const absent = `
    from dossiers d
    where d.flow_id = $1
      and d.transmission_state = 'transmitted'
      and d.file_id <> $2
      and coalesce(d.state_as_of, d.transmitted_at) < $5
      and not (d.numdemrsa = any($3::text[]))`
  await tx.query(
    `insert into state_changes (dossier_id, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select d.id, 'transmission_state', 'transmitted', 'not_transmitted', $4, $2, $5
     ${absent}`,
    [ctx.flowId, ctx.fileId, rejectedKeys, ctx.effectiveDate, ctx.transmittedAt],
  )
  const result = await tx.query(
    `update dossiers
     set transmission_state = 'not_transmitted',
         not_transmitted_since = $4,
         state_as_of = $5,
         updated_at = now()
     where id in (select d.id ${absent})`,
    [ctx.flowId, ctx.fileId, rejectedKeys, ctx.effectiveDate, ctx.transmittedAt],
  )
  // Absent from this stock and already no longer transmitted: the absence is confirmed as of this stock.
  await tx.query(
    `update dossiers d
     set state_as_of = $4
     where d.flow_id = $1
       and d.transmission_state = 'not_transmitted'
       and coalesce(d.state_as_of, d.transmitted_at) < $4
       and d.file_id <> $2
       and not (d.numdemrsa = any($3::text[]))`,
    [ctx.flowId, ctx.fileId, rejectedKeys, ctx.transmittedAt],
  )
  // A newer stock already marked absent a dossier this older stock lacks too, and no file between them sent it:
  // it has been absent since this stock, as the chronological order would have said.
  await tx.query(
    `update dossiers d
     set not_transmitted_since = $4,
         updated_at = now()
     where d.flow_id = $1
       and d.transmission_state = 'not_transmitted'
       and d.not_transmitted_since > $4
       and d.file_id <> $2
       and d.transmitted_at < $5
       and not (d.numdemrsa = any($3::text[]))`,
    [ctx.flowId, ctx.fileId, rejectedKeys, ctx.effectiveDate, ctx.transmittedAt],
  )
  return result.rowCount
}

/**
 * A France Travail stock replaces its flow's list (as markAbsentFromStock does for CNAF dossiers): a registration
 * the flow last listed and this stock does not is marked no longer transmitted since the stock's date, never
 * deleted (retention decides, from its last transmission). The persons of the file's rejected records are not
 * treated as absent (`rejectedKeys`: their match keys, when their NIR and birth date could be read). Files of a
 * France Travail flow load in order (checkOrder), so a stock never lands after a newer file of its flow.
 */
export async function markRegistrationsAbsent(tx: Queryable, ctx: MergeContext, rejectedKeys: readonly string[]): Promise<number> {
  const absent = `
    from france_travail_registrations r
    where r.flow_id = $1
      and r.transmission_state = 'transmitted'
      and r.transmitted_at < $3
      and not exists (select 1 from stage_registrations s where s.person_key = r.person_key)
      and not (r.person_key = any($2::text[]))`
  await tx.query(
    `insert into state_changes (person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select r.person_key, 'france_travail.transmission_state', 'transmitted', 'not_transmitted', $4, $5, $3
     ${absent}`,
    [ctx.flowId, rejectedKeys, ctx.transmittedAt, ctx.effectiveDate, ctx.fileId],
  )
  const result = await tx.query(
    `update france_travail_registrations
     set transmission_state = 'not_transmitted',
         not_transmitted_since = $4,
         updated_at = now()
     where id in (select r.id ${absent})`,
    [ctx.flowId, rejectedKeys, ctx.transmittedAt, ctx.effectiveDate],
  )
  return result.rowCount
}

/** A staged France Travail row not stored: another row of the file for the same person was kept. */
export interface SupersededRow {
  recordIndex: number
  line: number
  keptRecordIndex: number
  keptLine: number
}

/**
 * Merges staged France Travail rows. One row per person is kept: the latest state (by date), the first in the
 * file among rows of the same date; every other row of that person is returned, for the loader to record as a
 * `duplicate_person` rejection naming the kept row, so that what is reported accepted is what is stored. A
 * movement older than the state already known never overrides it: those kept rows left unwritten are `older`, which
 * the loader counts as superseded (like the CNAF loader's records older than their dossier).
 *
 * `supplied` lists the catalogue fields the flow declares: a stored row takes only those, so a CSV movement does
 * not empty the follow-up details (PPAE, support mode...) a monthly stock wrote. Every person the file lists is
 * (again) transmitted by the file's flow.
 */
export async function mergeRegistrations(
  tx: Queryable,
  ctx: MergeContext,
  supplied: ReadonlySet<string>,
): Promise<{ merged: number; superseded: SupersededRow[]; older: number }> {
  const f = cols(FT_FIELDS)
  const updated = cols(FT_FIELDS.filter((field) => field.key || supplied.has(field.id)))
  await tx.exec('analyze stage_registrations')
  await tx.exec(`
    create temp table last_registrations on commit drop as
    select distinct on (person_key) *
    from stage_registrations
    order by person_key, date_etat desc nulls last, record_index asc;
  `)
  const { rows: superseded } = await tx.query<{ record_index: number; line: number; kept_record_index: number; kept_line: number }>(
    `select s.record_index, s.line, k.record_index as kept_record_index, k.line as kept_line
     from stage_registrations s
     join last_registrations k on k.person_key = s.person_key
     where s.record_index <> k.record_index
     order by s.record_index`,
  )
  const { rows: kept } = await tx.query<{ n: number }>('select count(*)::int as n from last_registrations')
  await tx.query(
    `insert into state_changes (person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select s.person_key, 'france_travail.etat', r.etat, s.etat, coalesce(s.date_etat, $1), $2, $3
     from last_registrations s
     left join france_travail_registrations r on r.person_key = s.person_key
     where (r.etat is distinct from s.etat)
       and (r.date_etat is null or s.date_etat is null or s.date_etat >= r.date_etat)`,
    [ctx.effectiveDate, ctx.fileId, ctx.transmittedAt],
  )
  const result = await tx.query(
    `insert into france_travail_registrations (person_key, ${f.join(', ')}, flow_id, file_id, transmitted_at)
     select person_key, ${f.join(', ')}, $3, $1, $2
     from last_registrations
     on conflict (person_key) do update set
       ${set(updated)},
       flow_id = excluded.flow_id,
       file_id = excluded.file_id,
       transmitted_at = excluded.transmitted_at,
       updated_at = now()
     where france_travail_registrations.date_etat is null
        or excluded.date_etat is null
        or excluded.date_etat >= france_travail_registrations.date_etat`,
    [ctx.fileId, ctx.transmittedAt, ctx.flowId],
  )
  // Listed again (whether or not its content was newer): transmitted by this flow from now on.
  await tx.query(
    `insert into state_changes (person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select r.person_key, 'france_travail.transmission_state', 'not_transmitted', 'transmitted', $1, $2, $3
     from france_travail_registrations r
     join last_registrations s on s.person_key = r.person_key
     where r.transmission_state = 'not_transmitted'`,
    [ctx.effectiveDate, ctx.fileId, ctx.transmittedAt],
  )
  await tx.query(
    `update france_travail_registrations r
     set transmission_state = 'transmitted',
         not_transmitted_since = null,
         flow_id = $1,
         updated_at = now()
     from last_registrations s
     where s.person_key = r.person_key
       and (r.transmission_state <> 'transmitted' or r.flow_id is distinct from $1)`,
    [ctx.flowId],
  )
  return {
    merged: result.rowCount,
    superseded: superseded.map((r) => ({ recordIndex: r.record_index, line: r.line, keptRecordIndex: r.kept_record_index, keptLine: r.kept_line })),
    // The upsert writes a kept row unless the stored one is of a later date: what it did not write is older.
    older: (kept[0]?.n ?? 0) - result.rowCount,
  }
}
