import { appendAuditEvents } from '../audit/audit-log.ts'
import { AuditTextError, checkAuditText } from '../audit/free-text.ts'
import { auditDossierSubject } from '../audit/subject-pseudonym.ts'
import type { Db, Queryable } from '../db/db.ts'
import type { Keys } from '../crypto/keys.ts'

/**
 * Legal holds (contentieux, investigations, a data subject's pending claim): while a hold stands, the dossier, its
 * members and persons, and their France Travail registrations may be archived but are never destroyed. Releasing
 * it lets the next run destroy what is due. Adding and releasing are audited (`retention.hold.add`,
 * `retention.hold.release`, subject: the dossier's keyed pseudonym).
 */
export interface LegalHold {
  id: number
  organisme: string
  /** Null once the dossier was destroyed after the release: only the pseudonym remains. */
  numdemrsa: string | null
  dossierSubject: string
  reason: string
  reference: string | null
  createdBy: string
  createdAt: Date
  releasedAt: Date | null
  releasedBy: string | null
  releaseReason: string | null
}

export class LegalHoldError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'LegalHoldError'
  }
}

interface HoldRow {
  id: number
  organisme: string
  numdemrsa: string | null
  dossier_subject: string
  reason: string
  reference: string | null
  created_by: string
  created_at: Date | string
  released_at: Date | string | null
  released_by: string | null
  release_reason: string | null
}

const HOLD_COLUMNS = 'id, organisme, numdemrsa, dossier_subject, reason, reference, created_by, created_at, released_at, released_by, release_reason'

function toHold(r: HoldRow): LegalHold {
  return {
    id: r.id,
    organisme: r.organisme,
    numdemrsa: r.numdemrsa,
    dossierSubject: r.dossier_subject,
    reason: r.reason,
    reference: r.reference,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
    releasedAt: r.released_at === null ? null : new Date(r.released_at),
    releasedBy: r.released_by,
    releaseReason: r.release_reason,
  }
}

/**
 * Which organisme's dossier a NUMDEMRSA names, in the active base or the archive. Throws when there is none, or
 * when both the CAF and the MSA have one and `organisme` does not say which.
 */
export async function resolveDossierOrganisme(db: Queryable, numdemrsa: string, organisme?: string): Promise<string> {
  const { rows } = await db.query<{ organisme: string }>(
    `select organisme from dossiers where numdemrsa = $1
     union
     select organisme from archive.dossiers where numdemrsa = $1`,
    [numdemrsa],
  )
  const found = rows.map((r) => r.organisme).sort()
  if (organisme !== undefined) {
    if (!found.includes(organisme)) {
      throw new LegalHoldError(`no dossier with this NUMDEMRSA at organisme ${organisme} in the active base or the archive${found.length ? ` (found at: ${found.join(', ')})` : ''}`)
    }
    return organisme
  }
  if (found.length === 0) throw new LegalHoldError('no dossier with this NUMDEMRSA in the active base or the archive')
  if (found.length > 1) throw new LegalHoldError(`this NUMDEMRSA exists at several organismes (${found.join(', ')}): say which with --organisme`)
  return found[0]!
}

/**
 * A hold's reason and reference, and the reason of a break-glass archive read, are free text an operator types:
 * kept in the hold's row and, for the audit log, outside the chain (audit_texts, the event keeping a keyed
 * digest). Text holding something shaped like a NIR is refused, naming the field, never quoting it.
 */
export function refuseIdentifyingText(texts: Record<string, string | null | undefined>): void {
  for (const [field, text] of Object.entries(texts)) {
    if (!text) continue
    try {
      checkAuditText(field, text)
    } catch (error) {
      if (error instanceof AuditTextError) throw new LegalHoldError(error.message, { cause: error })
      throw error
    }
  }
}

/** The texts that are set, for AuditEventInput.texts. */
export function auditTexts(texts: Record<string, string | null | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(texts).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== ''))
}

/** The internal id of a dossier, in the active base or the archive (the same id in both), for audit texts. */
export async function dossierIdOf(tx: Queryable, organisme: string, numdemrsa: string): Promise<number | null> {
  const { rows } = await tx.query<{ id: number }>(
    `select id from dossiers where organisme = $1 and numdemrsa = $2
     union all
     select id from archive.dossiers where organisme = $1 and numdemrsa = $2
     limit 1`,
    [organisme, numdemrsa],
  )
  return rows[0] ? Number(rows[0].id) : null
}

export interface AddHoldInput {
  numdemrsa: string
  organisme?: string
  reason: string
  reference?: string
  actor: string
  now: Date
}

export async function addLegalHold(db: Db, keys: Pick<Keys, 'pseudonym'>, input: AddHoldInput): Promise<LegalHold> {
  const reason = input.reason.trim()
  if (reason.length < 5) throw new LegalHoldError('a legal hold needs a reason (at least 5 characters): what litigation or claim it serves')
  refuseIdentifyingText({ reason, reference: input.reference })
  return db.transaction(async (tx) => {
    const organisme = await resolveDossierOrganisme(tx, input.numdemrsa, input.organisme)
    const subject = auditDossierSubject(keys.pseudonym, organisme, input.numdemrsa)
    const { rows } = await tx.query<HoldRow>(
      `insert into legal_holds (organisme, numdemrsa, dossier_subject, reason, reference, created_by, created_at)
       values ($1, $2, $3, $4, $5, $6, $7)
       returning ${HOLD_COLUMNS}`,
      [organisme, input.numdemrsa, subject, reason, input.reference ?? null, input.actor, input.now],
    )
    const hold = toHold(rows[0]!)
    await appendAuditEvents(tx, [
      {
        occurredAt: input.now,
        actor: input.actor,
        organisation: null,
        purpose: null,
        action: 'retention.hold.add',
        subject,
        outcome: 'done',
        requestId: null,
        clientAddress: null,
        details: { holdId: hold.id, organisme },
        texts: auditTexts({ reason, reference: hold.reference }),
        textOwner: { dossierId: await dossierIdOf(tx, organisme, input.numdemrsa) },
      },
    ])
    return hold
  })
}

export async function releaseLegalHold(
  db: Db,
  input: { id: number; actor: string; reason?: string; now: Date },
): Promise<LegalHold> {
  refuseIdentifyingText({ reason: input.reason })
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<HoldRow>(
      `update legal_holds
       set released_at = $2, released_by = $3, release_reason = $4
       where id = $1
         and released_at is null
       returning ${HOLD_COLUMNS}`,
      [input.id, input.now, input.actor, input.reason ?? null],
    )
    if (rows.length === 0) {
      const exists = await tx.query<{ released_at: unknown }>('select released_at from legal_holds where id = $1', [input.id])
      throw new LegalHoldError(exists.rows.length === 0 ? `no legal hold #${input.id}` : `legal hold #${input.id} is already released`)
    }
    const hold = toHold(rows[0]!)
    await appendAuditEvents(tx, [
      {
        occurredAt: input.now,
        actor: input.actor,
        organisation: null,
        purpose: null,
        action: 'retention.hold.release',
        subject: hold.dossierSubject,
        outcome: 'done',
        requestId: null,
        clientAddress: null,
        details: { holdId: hold.id, organisme: hold.organisme },
        texts: auditTexts({ reason: input.reason?.trim() || undefined, reference: hold.reference }),
        textOwner: { dossierId: hold.numdemrsa ? await dossierIdOf(tx, hold.organisme, hold.numdemrsa) : null },
      },
    ])
    return hold
  })
}

/** Standing holds (all holds with `all`), oldest first; `numdemrsa` narrows to one dossier. */
export async function listLegalHolds(db: Queryable, options: { all?: boolean; numdemrsa?: string } = {}): Promise<LegalHold[]> {
  const { rows } = await db.query<HoldRow>(
    `select ${HOLD_COLUMNS}
     from legal_holds
     where ($1::boolean or released_at is null)
       and ($2::text is null or numdemrsa = $2)
     order by id`,
    [options.all ?? false, options.numdemrsa ?? null],
  )
  return rows.map(toHold)
}
