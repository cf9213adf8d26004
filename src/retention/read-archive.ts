import { appendAuditEvents } from '../audit/audit-log.ts'
import { auditDossierSubject } from '../audit/subject-pseudonym.ts'
import type { Keys } from '../crypto/keys.ts'
import { decryptNir } from '../crypto/nir-cipher.ts'
import type { Db, Queryable } from '../db/db.ts'
import { CANONICAL_FIELDS, type CanonicalField } from '../model/fields.ts'
import { dossierIdOf, LegalHoldError, refuseIdentifyingText, resolveDossierOrganisme } from './legal-holds.ts'

/**
 * Break-glass read of the archive: the only path that reads archived personal data, on an explicit request with a
 * reason. The read is written to the audit log (`archive.show`, subject: the dossier's keyed pseudonym, with the
 * actor and the reason) in the same transaction, before anything is returned; a failed audit write means no read.
 */
export interface ArchivedDossier {
  organisme: string
  archivedAt: Date
  policyId: string
  /** Retained fields by canonical id (fields the archive does not keep are absent). */
  fields: Record<string, unknown>
  members: { fields: Record<string, unknown> }[]
  franceTravail: { fields: Record<string, unknown> }[]
}

type Row = Record<string, unknown>

function fieldsOf(table: CanonicalField['table'], row: Row, keys: Pick<Keys, 'nir'>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of CANONICAL_FIELDS) {
    if (field.table !== table) continue
    const value = row[field.column]
    if (value === null || value === undefined) continue
    if (field.type === 'nir') out[field.id] = decryptNir(keys.nir, Buffer.from(value as Uint8Array))
    else out[field.id] = value instanceof Date ? value.toISOString() : value
  }
  return out
}

export async function readArchivedDossier(
  db: Queryable,
  keys: Pick<Keys, 'nir'>,
  organisme: string,
  numdemrsa: string,
): Promise<ArchivedDossier | undefined> {
  const d = await db.query<Row>('select * from archive.dossiers where organisme = $1 and numdemrsa = $2', [organisme, numdemrsa])
  const dossier = d.rows[0]
  if (!dossier) return undefined
  // A member whose identity is in the active base again (still in another dossier, or brought back by a later
  // file: archive.persons.identity_active) is read there: the identity exists in one place only.
  const members = await db.query<Row>(
    `select m.*, p.*
     from archive.dossier_members m
     join archive.persons p on p.id = m.person_id
     where m.dossier_id = $1
     order by m.person_id`,
    [dossier.id],
  )
  const activeKeys = members.rows.filter((row) => row.identity_active === true).map((row) => row.match_key as string)
  const active = activeKeys.length === 0 ? [] : (await db.query<Row>('select * from persons where match_key = any($1::text[])', [activeKeys])).rows
  const identityOf = (row: Row): Row => (row.identity_active === true ? (active.find((p) => p.match_key === row.match_key) ?? {}) : row)
  const registrations = await db.query<Row>(
    `select r.*
     from archive.france_travail_registrations r
     join archive.persons p on p.match_key = r.person_key
     join archive.dossier_members m on m.person_id = p.id
     where m.dossier_id = $1
     order by r.id`,
    [dossier.id],
  )
  return {
    organisme,
    archivedAt: new Date(dossier.archived_at as string),
    policyId: dossier.policy_id as string,
    fields: fieldsOf('dossiers', dossier, keys),
    members: members.rows.map((row) => ({ fields: { ...fieldsOf('persons', identityOf(row), keys), ...fieldsOf('dossier_members', row, keys) } })),
    franceTravail: registrations.rows.map((row) => ({ fields: fieldsOf('france_travail_registrations', row, keys) })),
  }
}

export interface ShowArchiveInput {
  numdemrsa: string
  organisme?: string
  reason: string
  actor: string
  now: Date
}

/** Audits, then reads, one archived dossier. Throws when the reason is missing or no dossier is archived. */
export async function showArchivedDossier(db: Db, keys: Pick<Keys, 'nir' | 'pseudonym'>, input: ShowArchiveInput): Promise<ArchivedDossier> {
  const reason = input.reason.trim()
  if (reason.length < 10) throw new LegalHoldError('reading the archive needs a reason (at least 10 characters): the litigation, claim or request it serves')
  refuseIdentifyingText({ reason })
  const organisme = await resolveDossierOrganisme(db, input.numdemrsa, input.organisme)
  const subject = auditDossierSubject(keys.pseudonym, organisme, input.numdemrsa)
  const found = await db.transaction(async (tx) => {
    const dossier = await readArchivedDossier(tx, keys, organisme, input.numdemrsa)
    await appendAuditEvents(tx, [
      {
        occurredAt: input.now,
        actor: input.actor,
        organisation: null,
        purpose: 'archive',
        action: 'archive.show',
        subject,
        outcome: dossier ? 'granted' : 'failed',
        requestId: null,
        clientAddress: null,
        details: dossier ? { organisme, members: dossier.members.length } : { organisme, found: false },
        texts: { reason },
        textOwner: { dossierId: await dossierIdOf(tx, organisme, input.numdemrsa) },
      },
    ])
    return dossier
  })
  if (!found) throw new LegalHoldError('this dossier is not in the archive (it may still be in the active base, or already destroyed)')
  return found
}
