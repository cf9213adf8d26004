import type { Queryable } from '../db/db.ts'
import { recordStep } from './record-step.ts'
import { personIdOf, selectPersonId, selectRequest, updateLimitation } from './queries.ts'
import { RightsError, type RightsContext, type RightsRequest } from './rights-request.ts'

/**
 * Limitation of processing (art. 18): a row of the `limitations` table the partner API and the statistics extracts
 * honour (src/access/exclusions.ts): while it stands, no route serves
 * the person and no extract includes them; their data is kept. A person in the archive is limited too: the row
 * keeps their id, and applies again if a file brings them back. Lifting it is a recorded step of the request.
 */
export async function applyLimitation(tx: Queryable, ctx: RightsContext, request: RightsRequest): Promise<{ applied: boolean }> {
  // A person in the archive keeps the same id when a file brings them back (archive.reactivate_person): the
  // limitation is written under it, and applies again from their return.
  const personId = request.matchKey === null ? null : await personIdOf(tx, request.matchKey)
  if (personId === null) {
    await recordStep(tx, ctx, request, { action: 'rights.limit', outcome: 'failed', details: { reason: 'no_record' } })
    return { applied: false }
  }
  const archived = (await selectPersonId(tx, request.matchKey!)) === undefined
  const { rows } = await tx.query<{ id: number }>(
    `insert into limitations (person_id, since, reason)
     values ($1, $2, $3)
     returning id`,
    [personId, ctx.now, `demande de limitation n° ${request.id} (art. 18 RGPD)`],
  )
  const limitationId = Number(rows[0]!.id)
  await updateLimitation(tx, request.id, limitationId)
  await recordStep(tx, ctx, request, { action: 'rights.limit', details: { limitation: limitationId, ...(archived ? { place: 'archive' } : {}) } })
  return { applied: true }
}

/** Lifts the limitation a request applied (the person must have been told beforehand, art. 18(3)). */
export async function liftLimitation(ctx: RightsContext, requestId: number): Promise<{ limitationId: number; liftedAt: Date }> {
  return ctx.db.transaction(async (tx) => {
    const request = await selectRequest(tx, requestId, true)
    if (!request) throw new RightsError('not_found', `request ${requestId}: no such request`)
    if (request.type !== 'limitation') throw new RightsError('conflict', `request ${requestId}: a ${request.type} request has no limitation to lift`)
    if (request.limitationId === null) throw new RightsError('conflict', `request ${requestId}: no limitation stands (nothing was held, or the person's data is gone)`)
    const { rows } = await tx.query<{ lifted_at: Date | string | null }>('select lifted_at from limitations where id = $1 for update', [request.limitationId])
    if (rows[0]?.lifted_at) throw new RightsError('conflict', `request ${requestId}: the limitation was already lifted on ${new Date(rows[0].lifted_at).toISOString()}`)
    await tx.query('update limitations set lifted_at = $2 where id = $1', [request.limitationId, ctx.now])
    await recordStep(tx, ctx, request, { action: 'rights.lift', details: { limitation: request.limitationId } })
    return { limitationId: request.limitationId, liftedAt: ctx.now }
  })
}
