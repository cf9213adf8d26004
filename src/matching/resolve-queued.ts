import { appendAuditEvents } from '../audit/audit-log.ts'
import { auditSubject } from '../audit/subject-pseudonym.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Db, Queryable } from '../db/db.ts'
import { REGISTRATION_COLUMNS, REGISTRATION_UPSERT } from '../ingestion/canonical/staging.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { reapplyFor } from '../rights/erasure.ts'
import { findQueued, type QueuedRecord } from './queue-queries.ts'

/**
 * An operator resolves a queued record (src/matching/): links it to a person, or discards it. Either way the row
 * is resolved in one transaction with its audit event, and the sealed identity and the registration are wiped (no
 * purpose needs them any more). A link applies the queued registration to the person at once, as the file would
 * have, and records the France Travail identifier link (source `operator`): later files match by identifier.
 */
export class MatchingResolutionError extends Error {
  constructor(
    readonly code: 'not_found' | 'not_pending' | 'unknown_person',
    message: string,
  ) {
    super(message)
  }
}

export interface ResolveInput {
  id: number
  actor: string
  now: Date
  /** Where the decision came from (audit details): the CLI or the HTTP API. */
  via: 'cli' | 'api'
  requestId?: string | null
}

export interface LinkOutcome {
  id: number
  personPublicId: string
  /** The queued registration was written (false: the person already had a more recent state). */
  registrationApplied: boolean
  /** The France Travail identifier is now linked to the person (false: no identifier, or either side already linked). */
  identifierLinked: boolean
}

async function pending(tx: Queryable, id: number): Promise<QueuedRecord> {
  const q = await findQueued(tx, id, { forUpdate: true })
  if (!q) throw new MatchingResolutionError('not_found', `no queued record ${id}`)
  if (q.state !== 'pending') throw new MatchingResolutionError('not_pending', `queued record ${id} is already ${q.state}`)
  return q
}

export async function linkQueued(
  db: Db,
  deps: { keys: Keys; purposes: ReadonlyMap<string, Purpose> },
  input: ResolveInput & { personPublicId: string },
): Promise<LinkOutcome> {
  const pseudonymKey = deps.keys.pseudonym
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.personPublicId)) {
    throw new MatchingResolutionError('unknown_person', 'the person must be given by their public id (a UUID)')
  }
  return db.transaction(async (tx) => {
    const q = await pending(tx, input.id)
    const { rows: persons } = await tx.query<{ id: string | number; match_key: string; public_id: string }>(
      'select id, match_key, public_id::text as public_id from persons where public_id = $1',
      [input.personPublicId],
    )
    const person = persons[0]
    if (!person) throw new MatchingResolutionError('unknown_person', 'no person of the active base has this public id')
    const personId = Number(person.id)
    const applied = await applyQueuedRegistration(tx, input.id, person.match_key)
    const { rowCount: linked } = await tx.query(
      `insert into france_travail_links (person_id, identifier_index, source, call_id)
       select $2, identifier_index, 'operator', 'matching:' || id::text
       from matching_queue
       where id = $1
         and identifier_index is not null
       on conflict do nothing`,
      [input.id, personId],
    )
    const subject = auditSubject(pseudonymKey, person.match_key)
    // The person may stand opposed to a purpose: what the record brings is cleared again, as a file's would be.
    if (applied) {
      const opposed = await tx.query('select 1 from rights_oppositions where subject = $1 limit 1', [subject])
      if (opposed.rows.length > 0) {
        await reapplyFor(tx, deps, new Map([[person.match_key, subject]]), input.now, { fileId: q.fileId, matchingQueueId: input.id })
      }
    }
    await resolve(tx, input, 'linked', personId)
    await auditResolution(tx, input, q, 'matching.link', subject, { registrationApplied: applied, identifierLinked: linked > 0 })
    return { id: q.id, personPublicId: person.public_id, registrationApplied: applied, identifierLinked: linked > 0 }
  })
}

export async function discardQueued(db: Db, input: ResolveInput): Promise<{ id: number }> {
  return db.transaction(async (tx) => {
    const q = await pending(tx, input.id)
    await resolve(tx, input, 'discarded', null)
    await auditResolution(tx, input, q, 'matching.discard', null, {})
    return { id: q.id }
  })
}

/** The audit event of a resolution: who resolved which queued record, how, and from where (CLI or API). */
async function auditResolution(
  tx: Queryable,
  input: ResolveInput,
  q: QueuedRecord,
  action: 'matching.link' | 'matching.discard',
  subject: string | null,
  extra: Record<string, unknown>,
): Promise<void> {
  await appendAuditEvents(tx, [
    {
      occurredAt: input.now,
      actor: input.actor,
      organisation: null,
      purpose: null,
      action,
      subject,
      outcome: 'done',
      requestId: input.requestId ?? null,
      clientAddress: null,
      details: { queueId: q.id, flowId: q.flowId, reason: q.reason, candidates: q.candidates.length, ...extra, via: input.via },
    },
  ])
}

async function resolve(tx: Queryable, input: ResolveInput, state: 'linked' | 'discarded', personId: number | null): Promise<void> {
  await tx.query(
    `update matching_queue
     set state = $2, person_id = $3, resolved_by = $4, resolved_at = $5, identity_sealed = null, registration = null, updated_at = now()
     where id = $1`,
    [input.id, state, personId, input.actor, input.now],
  )
}

/**
 * Writes the queued registration for the person, with the rule of the file merge (staging.ts mergeRegistrations):
 * a state older than the one stored never overrides it; a changed state is recorded in state_changes.
 */
async function applyQueuedRegistration(tx: Queryable, id: number, personKey: string): Promise<boolean> {
  const f = REGISTRATION_COLUMNS
  const queued = `
    with r as (
      select (jsonb_populate_record(null::france_travail_registrations, q.registration)).*, q.file_id as q_file_id, q.transmitted_at as q_transmitted_at
      from matching_queue q
      where q.id = $1
        and q.registration is not null
    )`
  await tx.query(
    `${queued}
     insert into state_changes (person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
     select $2, 'france_travail.etat', fr.etat, r.etat, coalesce(r.date_etat, (r.q_transmitted_at at time zone 'Europe/Paris')::date), r.q_file_id, r.q_transmitted_at
     from r
     left join france_travail_registrations fr on fr.person_key = $2
     where (fr.etat is distinct from r.etat)
       and (fr.date_etat is null or r.date_etat is null or r.date_etat >= fr.date_etat)`,
    [id, personKey],
  )
  const { rowCount } = await tx.query(
    `${queued}
     insert into france_travail_registrations (person_key, ${f.join(', ')}, file_id, transmitted_at)
     select $2, ${f.map((c) => `r.${c}`).join(', ')}, r.q_file_id, r.q_transmitted_at
     from r
     ${REGISTRATION_UPSERT}`,
    [id, personKey],
  )
  return rowCount > 0
}
