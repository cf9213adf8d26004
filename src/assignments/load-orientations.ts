import type { Keys } from '../crypto/keys.ts'
import { personMatchKey } from '../crypto/blind-index.ts'
import type { Queryable } from '../db/db.ts'
import type { ParsedRecord, RecordIssue } from '../ingestion/records/parsed-record.ts'
import { FirstOccurrences, duplicateOf } from '../ingestion/canonical/first-occurrence.ts'
import { upsertAssignments, type NewAssignment } from './assignments.ts'
import type { OrientationRow } from './orientation-row.ts'

/**
 * Loads validated orientation rows into `assignments`, inside the caller's file transaction. Each row is resolved:
 * the person (by dossier and role, or by NIR + birth date through the keyed match key), the structure (by SIRET),
 * the referent (by e-mail, a user of that structure with role referent or structure-manager). A row that does not
 * resolve is a rejected record (`person_not_found`, `person_ambiguous`, `organisation_unknown`, `referent_unknown`,
 * `referent_not_in_structure`, `referent_role`). Within a file, the first row for a person and start date is stored;
 * each later one is rejected (`duplicate_assignment`, naming the first row's position).
 */
export type FailedRecord = Extract<ParsedRecord<unknown>, { ok: false }>

export interface OrientationsLoadContext {
  fileId: number
  keys: Pick<Keys, 'index'>
  transmittedAt: Date
  /** Called with each batch's rejected records (e.g. to write `rejections` rows); else they are returned. */
  onRejected?: (failed: FailedRecord[]) => Promise<void>
}

export interface OrientationsLoadResult {
  total: number
  accepted: number
  rejected: number
  /** The rejected records when no `onRejected` was given. */
  failed: FailedRecord[]
  /** Assignment rows inserted or updated. */
  written: number
}

export async function loadOrientationsRecords(
  tx: Queryable,
  ctx: OrientationsLoadContext,
  batches: AsyncIterable<ParsedRecord<OrientationRow>[]>,
): Promise<OrientationsLoadResult> {
  const result: OrientationsLoadResult = { total: 0, accepted: 0, rejected: 0, failed: [], written: 0 }
  const kept = new Map<string, NewAssignment>()
  // Two rows for one person and start date: the first is stored, each later one is a `duplicate_assignment`.
  const firstRows = new FirstOccurrences()
  for await (const batch of batches) {
    const failed: FailedRecord[] = []
    const valid: OrientationRow[] = []
    for (const r of batch) {
      if (r.ok) valid.push(r.value)
      else failed.push(r)
    }
    const resolved = await resolveRows(tx, ctx.keys, valid)
    for (const r of resolved) {
      if ('issue' in r) failed.push({ ok: false, recordIndex: r.row.recordIndex, line: r.row.line, key: undefined, issues: [r.issue] })
      else {
        const key = `${r.assignment.personId}|${r.assignment.startsOn}`
        const first = firstRows.claim(key, r.row)
        if (first) failed.push(duplicateOf(r.row, first, { field: 'person', rule: 'duplicate_assignment' }))
        else kept.set(key, r.assignment)
      }
    }
    failed.sort((a, b) => a.recordIndex - b.recordIndex)
    result.total += batch.length
    result.rejected += failed.length
    if (ctx.onRejected) await ctx.onRejected(failed)
    else result.failed.push(...failed)
  }
  result.accepted = result.total - result.rejected
  const ids = await upsertAssignments(tx, [...kept.values()], { source: 'orientations', fileId: ctx.fileId })
  result.written = ids.length
  return result
}

type Resolution = { row: OrientationRow; assignment: NewAssignment } | { row: OrientationRow; issue: RecordIssue }

async function resolveRows(tx: Queryable, keys: Pick<Keys, 'index'>, rows: readonly OrientationRow[]): Promise<Resolution[]> {
  if (rows.length === 0) return []
  const matchKeys = new Map<OrientationRow, string>()
  for (const r of rows) if (r.person.by === 'nir') matchKeys.set(r, personMatchKey(keys.index, r.person.nir13, r.person.dtnai))
  const numdemrsas = [...new Set(rows.flatMap((r) => (r.person.by === 'dossier' ? [r.person.numdemrsa] : [])))]
  const sirets = [...new Set(rows.map((r) => r.siret))]
  const emails = [...new Set(rows.flatMap((r) => (r.referentEmail ? [r.referentEmail] : [])))]

  const byKey = new Map<string, number>()
  if (matchKeys.size > 0) {
    const { rows: found } = await tx.query<{ id: number; match_key: string }>(
      'select id, match_key from persons where match_key = any($1::text[])',
      [[...new Set(matchKeys.values())]],
    )
    for (const f of found) byKey.set(f.match_key, f.id)
  }
  const members = new Map<string, { personId: number; organisme: string }[]>()
  if (numdemrsas.length > 0) {
    const { rows: found } = await tx.query<{ person_id: number; numdemrsa: string; organisme: string; role: string }>(
      `select dm.person_id, d.numdemrsa, d.organisme, dm.role
       from dossier_members dm
       join dossiers d on d.id = dm.dossier_id
       where d.numdemrsa = any($1::text[])`,
      [numdemrsas],
    )
    for (const f of found) {
      const key = `${f.numdemrsa}|${f.role}`
      const list = members.get(key) ?? []
      list.push({ personId: f.person_id, organisme: f.organisme })
      members.set(key, list)
    }
  }
  const organisations = new Map<string, number>()
  {
    const { rows: found } = await tx.query<{ id: number; siret: string }>('select id, siret from organisations where siret = any($1::text[])', [sirets])
    for (const f of found) organisations.set(f.siret, f.id)
  }
  const users = new Map<string, { id: number; organisationId: number; role: string }>()
  if (emails.length > 0) {
    const { rows: found } = await tx.query<{ id: number; email: string; organisation_id: number; role: string }>(
      'select id, email, organisation_id, role from users where email = any($1::text[])',
      [emails],
    )
    for (const f of found) users.set(f.email, { id: f.id, organisationId: f.organisation_id, role: f.role })
  }

  return rows.map((row): Resolution => {
    let personId: number | undefined
    if (row.person.by === 'nir') {
      personId = byKey.get(matchKeys.get(row)!)
      if (personId === undefined) return { row, issue: { field: 'nir', rule: 'person_not_found' } }
    } else {
      const { numdemrsa, rolepers, organisme } = row.person
      const candidates = (members.get(`${numdemrsa}|${rolepers}`) ?? []).filter((m) => !organisme || m.organisme === organisme)
      const distinct = [...new Set(candidates.map((c) => c.personId))]
      if (distinct.length === 0) return { row, issue: { field: 'numdemrsa', rule: 'person_not_found' } }
      if (distinct.length > 1) return { row, issue: { field: 'numdemrsa', rule: 'person_ambiguous' } }
      personId = distinct[0]!
    }
    const organisationId = organisations.get(row.siret)
    if (organisationId === undefined) return { row, issue: { field: 'siret', rule: 'organisation_unknown' } }
    let referentUserId: number | null = null
    if (row.referentEmail) {
      const user = users.get(row.referentEmail)
      if (!user) return { row, issue: { field: 'email', rule: 'referent_unknown' } }
      if (user.organisationId !== organisationId) return { row, issue: { field: 'email', rule: 'referent_not_in_structure' } }
      if (user.role !== 'referent' && user.role !== 'structure-manager') return { row, issue: { field: 'email', rule: 'referent_role' } }
      referentUserId = user.id
    }
    return { row, assignment: { personId, organisationId, referentUserId, startsOn: row.startsOn, endsOn: row.endsOn ?? null } }
  })
}
