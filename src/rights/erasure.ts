import { oppositionHolds } from '../access/exclusions.ts'
import { auditSubject } from '../audit/subject-pseudonym.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Queryable } from '../db/db.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { hashIds } from '../retention/receipt.ts'
import { clearPersonFields, deletePersonEverywhere, legalHoldStands, type Touched } from './erase-person.ts'
import { decideErasure, type ErasureDecision } from './erasure-decision.ts'
import { emptyHeldPerson, readHeldPerson, type HeldPerson } from './person-data.ts'
import { selectRequest } from './queries.ts'
import { recordStep } from './record-step.ts'
import { RightsError, type RightsContext } from './rights-request.ts'

/**
 * Opposition and erasure (art. 17 and 21): decides from the purposes' declarations (erasure-decision.ts), records
 * the standing oppositions, deletes (erase-person.ts), and writes a receipt in the audit log in the same
 * transaction: `rights.erase` with the scope, the purposes, counts per table and the SHA-256 of the sorted
 * `table:id` keys — no personal value. Refusals are recorded with their reason.
 */
export interface ErasureResult {
  requestId: number
  dryRun: boolean
  decision: ErasureDecision
  counts: Record<string, number>
  /** Rows touched and the SHA-256 of their sorted `table:id` keys (the receipt's proof). */
  ids: { count: number; sha256: string }
}

class DryRun extends Error {
  constructor(readonly result: ErasureResult) {
    super('dry run')
  }
}

/** The purposes the subject stands opposed to at `now` (the rule of src/access/exclusions.ts). */
async function standingOppositions(tx: Queryable, subject: string, now: Date): Promise<Set<string>> {
  const { rows } = await tx.query<{ purpose: string; since: Date | string }>('select purpose, since from rights_oppositions where subject = $1', [subject])
  return new Set(rows.filter((r) => oppositionHolds({ purpose: r.purpose, since: new Date(r.since) }, r.purpose, now)).map((r) => r.purpose))
}

async function execute(tx: Queryable, held: HeldPerson, subject: string, decision: ErasureDecision): Promise<Touched> {
  if (decision.scope === 'full') return deletePersonEverywhere(tx, held, subject)
  if (decision.scope === 'fields') return clearPersonFields(tx, held, decision.fieldsToClear)
  return { counts: {}, keys: [] }
}


/**
 * Carries out an opposition or erasure request. With `dryRun`, everything runs and is counted in a transaction
 * that is then rolled back: the figures are those a real run gives, and nothing is kept (no receipt either).
 */
export async function eraseForRequest(ctx: RightsContext, requestId: number, options: { dryRun?: boolean } = {}): Promise<ErasureResult> {
  try {
    return await ctx.db.transaction(async (tx) => {
      const request = await selectRequest(tx, requestId, true)
      if (!request) throw new RightsError('not_found', `request ${requestId}: no such request`)
      if (request.type !== 'opposition' && request.type !== 'erasure') {
        throw new RightsError('conflict', `request ${requestId}: a ${request.type} request erases nothing (open an opposition or erasure request)`)
      }
      if (request.state !== 'open') throw new RightsError('conflict', `request ${requestId}: the request is closed`)
      const held = request.matchKey ? await readHeldPerson(tx, ctx.keys, request.matchKey) : emptyHeldPerson('')
      const decision = decideErasure({
        type: request.type,
        targets: request.purpose ? [request.purpose] : 'applicable',
        purposes: ctx.purposes,
        personFlows: held.flows,
        standing: await standingOppositions(tx, request.subject, ctx.now),
        legalHold: await legalHoldStands(tx, held),
      })
      for (const purpose of decision.granted) {
        await tx.query(
          `insert into rights_oppositions (request_id, purpose, subject, person_id, since)
           values ($1, $2, $3, $4, $5)
           on conflict (subject, purpose) do nothing`,
          [request.id, purpose, request.subject, held.personId ?? null, ctx.now],
        )
      }
      const done = await execute(tx, held, request.subject, decision)
      const result: ErasureResult = {
        requestId: request.id,
        dryRun: options.dryRun === true,
        decision,
        counts: done.counts,
        ids: { count: done.keys.length, sha256: hashIds(done.keys) },
      }
      if (options.dryRun) throw new DryRun(result)
      await recordStep(tx, ctx, request, {
        action: 'rights.erase',
        outcome: decision.outcome === 'refused' ? 'denied' : 'done',
        details: {
          type: request.type,
          purpose: request.purpose,
          outcome: decision.outcome,
          scope: decision.scope,
          granted: decision.granted,
          refused: decision.refused.map((r) => r.purpose),
          fieldsCleared: decision.fieldsToClear,
          counts: result.counts,
          ids: result.ids,
        },
      })
      return result
    })
  } catch (error) {
    if (error instanceof DryRun) return error.result
    throw error
  }
}

/**
 * The ingestion hook for oppositions: a flow may bring back data a standing opposition removed (the source keeps
 * sending the person, or sends them again after a full erasure). For every person this file touched who stands
 * opposed to some purpose, the same decision is taken again and carried out, with a `rights.erase` receipt
 * (`reapplied: true`). Persons deleted in full are recognised by their audit pseudonym, the only trace kept.
 * Costs one query when no opposition stands; otherwise one pass over the file's new persons.
 */
export async function reapplyOppositions(
  tx: Queryable,
  deps: { keys: Keys; purposes: ReadonlyMap<string, Purpose> },
  fileId: number,
  now: Date = new Date(),
): Promise<{ persons: number; counts: Record<string, number> }> {
  const any = await tx.query<{ live: boolean; gone: boolean }>(
    `select exists (select 1 from rights_oppositions where person_id is not null) as live,
            exists (select 1 from rights_oppositions where person_id is null) as gone`,
  )
  const flags = any.rows[0]
  if (!flags?.live && !flags?.gone) return { persons: 0, counts: {} }
  const subjects = new Map<string, string>() // match key → subject
  if (flags.live) {
    const { rows } = await tx.query<{ match_key: string; subject: string }>(
      `select distinct p.match_key, o.subject
       from rights_oppositions o
       join persons p on p.id = o.person_id
       where p.file_id = $1
          or exists (select 1 from dossier_members dm where dm.person_id = p.id and dm.file_id = $1)
          or exists (select 1 from france_travail_registrations r where r.person_key = p.match_key and r.file_id = $1)`,
      [fileId],
    )
    for (const r of rows) subjects.set(r.match_key, r.subject)
  }
  if (flags.gone) {
    const gone = new Set((await tx.query<{ subject: string }>('select distinct subject from rights_oppositions where person_id is null')).rows.map((r) => r.subject))
    const { rows } = await tx.query<{ match_key: string }>(
      `select p.match_key
       from persons p
       where p.file_id = $1
         and not exists (select 1 from rights_oppositions o where o.person_id = p.id)
       union
       select r.person_key
       from france_travail_registrations r
       where r.file_id = $1
         and not exists (select 1 from persons p where p.match_key = r.person_key)`,
      [fileId],
    )
    for (const r of rows) {
      const subject = auditSubject(deps.keys.pseudonym, r.match_key)
      if (gone.has(subject)) subjects.set(r.match_key, subject)
    }
  }
  return reapplyFor(tx, deps, subjects, now, { fileId })
}

/**
 * The standing oppositions of `subjects` (match key → audit subject) carried out again on what was just written
 * about them (a file's rows, a queued France Travail record linked by an operator), each with a `rights.erase`
 * receipt (`reapplied: true`) naming where the rows came from.
 */
export async function reapplyFor(
  tx: Queryable,
  deps: { keys: Keys; purposes: ReadonlyMap<string, Purpose> },
  subjects: ReadonlyMap<string, string>,
  now: Date,
  origin: { fileId: number; matchingQueueId?: number },
): Promise<{ persons: number; counts: Record<string, number> }> {
  const total: Record<string, number> = {}
  let persons = 0
  for (const [matchKey, subject] of subjects) {
    const held = await readHeldPerson(tx, deps.keys, matchKey)
    if (held.personId !== undefined) {
      await tx.query('update rights_oppositions set person_id = $2 where subject = $1 and person_id is null', [subject, held.personId])
    }
    const decision = decideErasure({
      type: 'erasure',
      targets: [],
      purposes: deps.purposes,
      personFlows: held.flows,
      standing: await standingOppositions(tx, subject, now),
      legalHold: await legalHoldStands(tx, held),
    })
    const done = await execute(tx, held, subject, decision)
    if (done.keys.length === 0) continue
    persons += 1
    for (const [k, n] of Object.entries(done.counts)) total[k] = (total[k] ?? 0) + n
    const last = await tx.query<{ request_id: number }>('select max(request_id) as request_id from rights_oppositions where subject = $1', [subject])
    await recordStep(tx, { now, actor: 'passerelle:ingestion', organisation: null, requestId: null }, { id: Number(last.rows[0]!.request_id), subject }, {
      action: 'rights.erase',
      details: {
        reapplied: true,
        ...origin,
        scope: decision.scope,
        opposed: decision.opposed,
        fieldsCleared: decision.fieldsToClear,
        counts: done.counts,
        ids: { count: done.keys.length, sha256: hashIds(done.keys) },
      },
    })
  }
  return { persons, counts: total }
}
