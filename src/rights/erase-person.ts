import { eraseAuditTexts } from '../audit/audit-texts.ts'
import type { Queryable } from '../db/db.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { destroyArchivedDossiers, destroyArchivedRegistrations } from '../retention/destroy-queries.ts'
import type { CanonicalTable, HeldPerson } from './person-data.ts'
import { forgetRequestIndexes } from './queries.ts'

/**
 * The deletions of an erasure, in the caller's transaction. Each returns counts per table and the `table:id` keys
 * of the rows touched, for a receipt like retention's (src/retention/receipt.ts: counts and a SHA-256 of the
 * sorted keys, no personal value). Archived dossiers go through retention's own destruction
 * (destroyArchivedDossiers, destroyArchivedRegistrations), so both paths delete the archive the same way.
 */
export interface Touched {
  counts: Record<string, number>
  keys: string[]
}

const IDENT = /^[a-z_][a-z0-9_]*$/
function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`rights: invalid SQL identifier "${name}"`)
  return name
}

function merge(into: Touched, from: Touched): void {
  for (const [k, n] of Object.entries(from.counts)) if (n > 0) into.counts[k] = (into.counts[k] ?? 0) + n
  into.keys.push(...from.keys)
}

function touched(table: string, ids: readonly (number | string)[]): Touched {
  return { counts: ids.length ? { [table]: ids.length } : {}, keys: ids.map((id) => `${table}:${id}`) }
}

/** Dossiers the person is the only member of (the others are shared with the household and stay). */
function soleDossiers(memberships: HeldPerson['memberships']): number[] {
  return memberships.filter((m) => m.memberCount === 1).map((m) => m.dossier.rowId)
}

/**
 * Deletes the person everywhere: their row, memberships, France Travail registration and history, the dossiers
 * they alone belong to (with their history), assignments, limitations and contested flags, in the active base and
 * in the archive; released legal holds on deleted dossiers lose their NUMDEMRSA (as retention does); the person's
 * requests keep only the pseudonym. The caller has checked that no standing legal hold covers them.
 */
export async function deletePersonEverywhere(tx: Queryable, held: HeldPerson, subject: string): Promise<Touched> {
  const out: Touched = { counts: {}, keys: [] }
  const mk = held.matchKey
  const pid = held.personId ?? null
  const sole = soleDossiers(held.memberships)
  const ids = async (sql: string, params: unknown[]) => (await tx.query<{ id: number | string }>(sql, params)).rows.map((r) => r.id)

  // Limitations and contested flags keep the person's id once archived (migration 0120): both ids are searched.
  const personIds = [pid, held.archivePersonId ?? null].filter((id): id is number => id !== null)
  merge(out, touched('rights_contested_fields', await ids(
    `delete from rights_contested_fields
     where person_id = any($1::bigint[])
        or dossier_id = any($2::bigint[])
        or registration_id in (select id from france_travail_registrations where person_key = $3)
        or request_id in (select id from rights_requests where subject = $4)
     returning id`,
    [personIds, sole, mk, subject],
  )))
  merge(out, touched('state_changes', await ids(
    `delete from state_changes
     where dossier_id = any($1::bigint[])
        or (dossier_id is null and person_key = $2)
     returning id`,
    [sole, mk],
  )))
  merge(out, touched('dossier_members', await ids(
    `delete from dossier_members where person_id = $1 returning dossier_id || '-' || person_id as id`,
    [pid],
  )))
  const redacted = await tx.query(
    `update legal_holds h
     set numdemrsa = null
     from dossiers d
     where d.id = any($1::bigint[])
       and h.organisme = d.organisme
       and h.numdemrsa = d.numdemrsa
       and h.released_at is not null
       and not exists (select 1 from archive.dossiers ad where ad.organisme = d.organisme and ad.numdemrsa = d.numdemrsa)`,
    [sole],
  )
  if (redacted.rowCount > 0) out.counts.legal_holds_redacted = redacted.rowCount
  // A rejected record of a dossier that goes names its number: the number goes (the rejection's rule and line stay).
  const rejections = await tx.query(
    `update rejections r
     set numdemrsa = null
     where r.numdemrsa is not null
       and r.numdemrsa in (
         select d.numdemrsa from dossiers d where d.id = any($1::bigint[])
         union
         select ad.numdemrsa from archive.dossiers ad where ad.id = any($2::bigint[])
       )`,
    [sole, soleDossiers(held.archivedMemberships)],
  )
  if (rejections.rowCount > 0) out.counts.rejections_redacted = rejections.rowCount
  // Records of a France Travail file without a NIR held for a decision: those linked to the person, and those queued
  // under their identity that are theirs (the one person bearing it, or none then); a record several homonyms could
  // own stays for the decision, counted.
  if (pid !== null) {
    const identity = (await tx.query<{ identity_index: string | null }>('select identity_index from persons where id = $1', [pid])).rows[0]?.identity_index ?? null
    merge(out, touched('matching_queue', await ids(
      `delete from matching_queue q
       where q.person_id = $1 or (q.reason <> 'ambiguous' and q.identity_index = $2)
       returning q.id`,
      [pid, identity],
    )))
    const left = await tx.query<{ n: number }>(`select count(*)::int as n from matching_queue where state = 'pending' and reason = 'ambiguous' and identity_index = $1`, [identity])
    if (left.rows[0]!.n > 0) out.counts.matching_queue_ambiguous_left = left.rows[0]!.n
  }
  merge(out, touched('dossiers', await ids('delete from dossiers where id = any($1::bigint[]) returning id', [sole])))
  merge(out, touched('france_travail_registrations', await ids('delete from france_travail_registrations where person_key = $1 returning id', [mk])))
  merge(out, touched('assignments', await ids('delete from assignments where person_id = $1 returning id', [pid])))
  merge(out, touched('limitations', await ids('delete from limitations where person_id = any($1::bigint[]) returning id', [personIds])))
  merge(out, touched('archive.assignments', await ids('delete from archive.assignments where person_id = any($1::bigint[]) returning id', [personIds])))
  merge(out, touched('persons', await ids('delete from persons where id = $1 returning id', [pid])))

  // Archive: the dossiers the person alone belongs to, through retention's destruction; then what is left.
  if (held.archivePersonId !== undefined) {
    const apid = held.archivePersonId
    const policy = (await tx.query<{ policy_id: string }>('select policy_id from archive.persons where id = $1', [apid])).rows[0]?.policy_id
    const soleArchived = soleDossiers(held.archivedMemberships)
    if (soleArchived.length > 0 && policy !== undefined) {
      const destroyed = await destroyArchivedDossiers(tx, soleArchived, '9999-12-31', policy)
      merge(out, destroyed)
    }
    merge(out, touched('archive.dossier_members', await ids(
      `delete from archive.dossier_members where person_id = $1 returning dossier_id || '-' || person_id as id`,
      [apid],
    )))
    merge(out, touched('archive.persons', await ids('delete from archive.persons where id = $1 returning id', [apid])))
  }
  const archivedRegistrations = (await tx.query<{ id: number }>('select id from archive.france_travail_registrations where person_key = $1', [mk])).rows
  if (archivedRegistrations.length > 0) merge(out, await destroyArchivedRegistrations(tx, archivedRegistrations.map((r) => ({ id: Number(r.id), personKey: mk }))))
  merge(out, touched('archive.state_changes', await ids(
    'delete from archive.state_changes where dossier_id is null and person_key = $1 returning id',
    [mk],
  )))
  // The free texts of the audit log about the person or the dossiers that went with them (the chain keeps digests).
  merge(out, touched('audit_texts', await eraseAuditTexts(tx, {
    subjects: [subject],
    personIds: [pid, held.archivePersonId].filter((id): id is number => id !== null && id !== undefined),
    dossierIds: [...sole, ...soleDossiers(held.archivedMemberships)],
  })))
  const forgotten = await forgetRequestIndexes(tx, subject, mk)
  if (forgotten > 0) out.counts.rights_requests_pseudonymised = forgotten
  return out
}

/**
 * Clears (sets NULL) the given catalogue fields on the person's rows, active and archived: their own row, their
 * memberships, their France Travail registration, and the dossiers they alone belong to (a dossier shared with
 * other members of the household keeps its values: they are the others' data too; `dossiers_shared_kept` counts
 * them). Key fields are never cleared (the decision excludes them).
 */
export async function clearPersonFields(tx: Queryable, held: HeldPerson, fieldIds: readonly string[]): Promise<Touched> {
  const out: Touched = { counts: {}, keys: [] }
  const columns = new Map<CanonicalTable, string[]>()
  for (const id of fieldIds) {
    const f = FIELDS_BY_ID.get(id)
    if (!f || f.key) continue
    columns.set(f.table, [...(columns.get(f.table) ?? []), ident(f.column)])
  }
  const set = (cols: string[]) => cols.map((c) => `${c} = null`).join(', ')
  const any = (cols: string[], alias = '') => `(${cols.map((c) => `${alias}${c} is not null`).join(' or ')})`
  const run = async (table: string, sql: string, params: unknown[]) => {
    const { rows } = await tx.query<{ id: number | string }>(sql, params)
    merge(out, touched(table, rows.map((r) => r.id)))
  }

  const p = columns.get('persons')
  if (p) {
    if (held.personId !== undefined) await run('persons', `update persons set ${set(p)} where id = $1 and ${any(p)} returning id`, [held.personId])
    if (held.archivePersonId !== undefined) await run('archive.persons', `update archive.persons set ${set(p)} where id = $1 and ${any(p)} returning id`, [held.archivePersonId])
  }
  const m = columns.get('dossier_members')
  if (m) {
    if (held.personId !== undefined) {
      await run('dossier_members', `update dossier_members set ${set(m)} where person_id = $1 and ${any(m)} returning dossier_id || '-' || person_id as id`, [held.personId])
    }
    if (held.archivePersonId !== undefined) {
      await run('archive.dossier_members', `update archive.dossier_members set ${set(m)} where person_id = $1 and ${any(m)} returning dossier_id || '-' || person_id as id`, [held.archivePersonId])
    }
  }
  const d = columns.get('dossiers')
  if (d) {
    await run('dossiers', `update dossiers set ${set(d)} where id = any($1::bigint[]) and ${any(d)} returning id`, [soleDossiers(held.memberships)])
    await run('archive.dossiers', `update archive.dossiers set ${set(d)} where id = any($1::bigint[]) and ${any(d)} returning id`, [soleDossiers(held.archivedMemberships)])
    const shared = [...held.memberships, ...held.archivedMemberships].filter((x) => x.memberCount > 1).length
    if (shared > 0) out.counts.dossiers_shared_kept = shared
  }
  const r = columns.get('france_travail_registrations')
  if (r) {
    await run('france_travail_registrations', `update france_travail_registrations set ${set(r)} where person_key = $1 and ${any(r)} returning id`, [held.matchKey])
    await run('archive.france_travail_registrations', `update archive.france_travail_registrations set ${set(r)} where person_key = $1 and ${any(r)} returning id`, [held.matchKey])
  }
  return out
}

/** Whether a standing legal hold covers one of the person's dossiers (active or archived). */
export async function legalHoldStands(tx: Queryable, held: HeldPerson): Promise<boolean> {
  const dossiers = [...held.memberships, ...held.archivedMemberships].map((m) => m.dossier.values)
  if (dossiers.length === 0) return false
  const { rows } = await tx.query<{ held: boolean }>(
    `select exists (
       select 1
       from legal_holds h
       join unnest($1::text[], $2::text[]) as d (organisme, numdemrsa) on h.organisme = d.organisme and h.numdemrsa = d.numdemrsa
       where h.released_at is null
     ) as held`,
    [dossiers.map((v) => String(v['dossier.organisme'])), dossiers.map((v) => String(v['dossier.numdemrsa']))],
  )
  return rows[0]?.held === true
}
