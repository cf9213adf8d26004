import { createHmac } from 'node:crypto'
import type { Keys } from '../crypto/keys.ts'
import type { Queryable } from '../db/db.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import type { HeldPerson } from './person-data.ts'
import { valuesOfRow, type CanonicalTable } from './person-data.ts'
import { forgetClosedRequestIndexes } from './queries.ts'
import { recordStep } from './record-step.ts'
import type { RightsContext, RightsRequest } from './rights-request.ts'

/**
 * Rectification (art. 16). CAF, MSA and France Travail are the authentic sources: Passerelle does not overwrite
 * what they send. It flags the contested fields of the person's rows (a keyed digest of each value, not the value),
 * produces the notice the DPO sends to the source body (render-notice.ts), and closes a flag when a later flow
 * brings a different value for it: the source corrected it.
 */
export interface ContestedField {
  id: number
  requestId: number
  fieldId: string
  table: CanonicalTable
  personId: number | null
  dossierId: number | null
  registrationId: number | null
  flaggedAt: Date
  closedAt: Date | null
  closedByFileId: number | null
  closedReason: 'corrected_by_source' | 'closed_with_request' | null
}

/** Keyed digest of a contested value: tells a changed value from the same one sent again, reveals nothing. */
export function contestedDigest(key: Buffer, fieldId: string, value: unknown): string | null {
  if (value === null || value === undefined) return null
  return createHmac('sha256', key).update(`rights-contested|${fieldId}|${JSON.stringify(value)}`).digest('base64url')
}

/** Flags the contested fields on every active row of the person that holds them; returns what was flagged. */
export async function flagContestedFields(tx: Queryable, ctx: RightsContext, request: RightsRequest, held: HeldPerson): Promise<{ flagged: number; withoutRow: string[] }> {
  const rows: unknown[][] = []
  const withoutRow: string[] = []
  for (const fieldId of request.fields) {
    const field = FIELDS_BY_ID.get(fieldId)!
    const digest = (values: Record<string, unknown>) => contestedDigest(ctx.keys.pseudonym, fieldId, values[fieldId])
    const before = rows.length
    if (field.table === 'persons' && held.person) rows.push([fieldId, held.person.rowId, null, null, digest(held.person.values)])
    if (field.table === 'dossiers') for (const m of held.memberships) rows.push([fieldId, null, m.dossier.rowId, null, digest(m.dossier.values)])
    if (field.table === 'dossier_members') for (const m of held.memberships) rows.push([fieldId, held.personId, m.member.rowId, null, digest(m.member.values)])
    if (field.table === 'france_travail_registrations' && held.registration) rows.push([fieldId, null, null, held.registration.rowId, digest(held.registration.values)])
    if (rows.length === before) withoutRow.push(fieldId)
  }
  if (rows.length > 0) {
    await tx.query(
      `insert into rights_contested_fields (request_id, field_id, person_id, dossier_id, registration_id, value_digest, flagged_at)
       select $1, f, p, d, r, v, $2
       from unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) as x (f, p, d, r, v)`,
      [request.id, ctx.now, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3]), rows.map((r) => r[4])],
    )
  }
  await recordStep(tx, ctx, request, { action: 'rights.rectification.flag', details: { fields: request.fields, rows: rows.length, withoutRow } })
  return { flagged: rows.length, withoutRow }
}

interface FlagRow {
  id: number
  request_id: number
  field_id: string
  person_id: number | null
  dossier_id: number | null
  registration_id: number | null
  value_digest: string | null
  flagged_at: Date | string
  closed_at: Date | string | null
  closed_by_file_id: number | null
  closed_reason: ContestedField['closedReason']
}

function tableOfFlag(f: Pick<FlagRow, 'person_id' | 'dossier_id' | 'registration_id'>): CanonicalTable {
  if (f.registration_id !== null) return 'france_travail_registrations'
  if (f.dossier_id !== null && f.person_id !== null) return 'dossier_members'
  if (f.dossier_id !== null) return 'dossiers'
  return 'persons'
}

function toContested(r: FlagRow): ContestedField {
  return {
    id: Number(r.id),
    requestId: Number(r.request_id),
    fieldId: r.field_id,
    table: tableOfFlag(r),
    personId: r.person_id === null ? null : Number(r.person_id),
    dossierId: r.dossier_id === null ? null : Number(r.dossier_id),
    registrationId: r.registration_id === null ? null : Number(r.registration_id),
    flaggedAt: new Date(r.flagged_at),
    closedAt: r.closed_at === null ? null : new Date(r.closed_at),
    closedByFileId: r.closed_by_file_id === null ? null : Number(r.closed_by_file_id),
    closedReason: r.closed_reason,
  }
}

const FLAG_COLUMNS = 'c.id, c.request_id, c.field_id, c.person_id, c.dossier_id, c.registration_id, c.value_digest, c.flagged_at, c.closed_at, c.closed_by_file_id, c.closed_reason'

export async function listContestedFields(db: Queryable, requestId: number): Promise<ContestedField[]> {
  const { rows } = await db.query<FlagRow>(`select ${FLAG_COLUMNS} from rights_contested_fields c where c.request_id = $1 order by c.id`, [requestId])
  return rows.map(toContested)
}

/** Open flags on the person's rows (for the access export: which held values are contested). */
export async function openFlagsOfPerson(db: Queryable, held: Pick<HeldPerson, 'personId' | 'memberships' | 'registration'>): Promise<ContestedField[]> {
  const { rows } = await db.query<FlagRow>(
    `select ${FLAG_COLUMNS}
     from rights_contested_fields c
     where c.closed_at is null
       and (c.person_id = $1 or (c.person_id is null and c.dossier_id = any($2::bigint[])) or c.registration_id = $3)
     order by c.id`,
    [held.personId ?? null, held.memberships.map((m) => m.dossier.rowId), held.registration?.rowId ?? null],
  )
  return rows.map(toContested)
}

/** Closes the open flags of a request answered without correction (refused, withdrawn). */
export async function closeFlagsWithRequest(tx: Queryable, requestId: number, now: Date): Promise<number> {
  const { rowCount } = await tx.query(
    `update rights_contested_fields
     set closed_at = $2, closed_reason = 'closed_with_request'
     where request_id = $1 and closed_at is null`,
    [requestId, now],
  )
  return rowCount
}

/**
 * The ingestion hook: after a file is merged (inside its transaction, or right after its commit), closes every open
 * flag whose row this file wrote with a value different from the contested one. A file that sends the same value
 * again leaves the flag open. Each request whose flags closed gets a `rights.rectification.corrected` step.
 * Costs one indexed query per file when no flag is open.
 */
export async function closeRectificationsFixedBy(
  tx: Queryable,
  keys: Pick<Keys, 'nir' | 'pseudonym'>,
  fileId: number,
  now: Date = new Date(),
): Promise<{ closed: number; requests: number[] }> {
  const open = await tx.query<{ any: boolean }>('select exists (select 1 from rights_contested_fields where closed_at is null) as any')
  if (!open.rows[0]?.any) return { closed: 0, requests: [] }
  const { rows } = await tx.query<FlagRow>(
    `select ${FLAG_COLUMNS}
     from rights_contested_fields c
     where c.closed_at is null
       and (
         (c.registration_id is not null and exists (select 1 from france_travail_registrations r where r.id = c.registration_id and r.file_id = $1))
         or (c.registration_id is null and c.dossier_id is not null and c.person_id is not null
             and exists (select 1 from dossier_members dm where dm.dossier_id = c.dossier_id and dm.person_id = c.person_id and dm.file_id = $1))
         or (c.registration_id is null and c.dossier_id is not null and c.person_id is null
             and exists (select 1 from dossiers d where d.id = c.dossier_id and d.file_id = $1))
         or (c.registration_id is null and c.dossier_id is null
             and exists (select 1 from persons p where p.id = c.person_id and p.file_id = $1))
       )`,
    [fileId],
  )
  if (rows.length === 0) return { closed: 0, requests: [] }
  const current = await currentValues(tx, keys, rows)
  const fixed = rows.filter((f) => contestedDigest(keys.pseudonym, f.field_id, current.get(Number(f.id))) !== f.value_digest)
  if (fixed.length === 0) return { closed: 0, requests: [] }
  await tx.query(
    `update rights_contested_fields
     set closed_at = $2, closed_by_file_id = $3, closed_reason = 'corrected_by_source'
     where id = any($1::bigint[])`,
    [fixed.map((f) => f.id), now, fileId],
  )
  const byRequest = new Map<number, string[]>()
  for (const f of fixed) {
    const list = byRequest.get(Number(f.request_id)) ?? []
    if (!list.includes(f.field_id)) list.push(f.field_id)
    byRequest.set(Number(f.request_id), list)
  }
  const requests = await tx.query<{ id: number; subject: string; remaining: number }>(
    `select r.id, r.subject,
            (select count(*)::int from rights_contested_fields c where c.request_id = r.id and c.closed_at is null) as remaining
     from rights_requests r
     where r.id = any($1::bigint[])
     order by r.id`,
    [[...byRequest.keys()]],
  )
  const ctx = { now, actor: 'passerelle:ingestion', organisation: null, requestId: null }
  for (const r of requests.rows) {
    // A request already answered keeps the person's blind indexes only while a flag awaits the source.
    if (r.remaining === 0) await forgetClosedRequestIndexes(tx, Number(r.id))
    await recordStep(tx, ctx, { id: Number(r.id), subject: r.subject }, {
      action: 'rights.rectification.corrected',
      details: { fields: byRequest.get(Number(r.id)), fileId, remaining: r.remaining },
    })
  }
  return { closed: fixed.length, requests: requests.rows.map((r) => Number(r.id)) }
}

/** The current normalised value of each flag's field, by flag id. */
async function currentValues(tx: Queryable, keys: Pick<Keys, 'nir'>, flags: readonly FlagRow[]): Promise<Map<number, unknown>> {
  const out = new Map<number, unknown>()
  const byTable = new Map<CanonicalTable, FlagRow[]>()
  for (const f of flags) {
    const t = tableOfFlag(f)
    byTable.set(t, [...(byTable.get(t) ?? []), f])
  }
  for (const [table, list] of byTable) {
    let rows: Record<string, unknown>[]
    let keyOf: (f: FlagRow) => string
    let keyOfRow: (r: Record<string, unknown>) => string
    if (table === 'dossier_members') {
      rows = (await tx.query<Record<string, unknown>>(
        `select dm.*
         from dossier_members dm
         join unnest($1::bigint[], $2::bigint[]) as k (d, p) on dm.dossier_id = k.d and dm.person_id = k.p`,
        [list.map((f) => f.dossier_id), list.map((f) => f.person_id)],
      )).rows
      keyOf = (f) => `${f.dossier_id}-${f.person_id}`
      keyOfRow = (r) => `${r.dossier_id}-${r.person_id}`
    } else {
      const idOf = (f: FlagRow) => (table === 'persons' ? f.person_id : table === 'dossiers' ? f.dossier_id : f.registration_id)
      rows = (await tx.query<Record<string, unknown>>(`select * from ${table} where id = any($1::bigint[])`, [list.map(idOf)])).rows
      keyOf = (f) => String(idOf(f))
      keyOfRow = (r) => String(r.id)
    }
    const values = new Map(rows.map((r) => [keyOfRow(r), valuesOfRow(table, r, keys)]))
    for (const f of list) out.set(Number(f.id), values.get(keyOf(f))?.[f.field_id] ?? null)
  }
  return out
}
