import { appendAuditEvents } from '../audit/audit-log.ts'
import type { AuditEventInput } from '../audit/chain.ts'
import type { Queryable } from '../db/db.ts'
import { insertAction } from './queries.ts'
import type { RightsContext, RightsRequest } from './rights-request.ts'

/**
 * Every step of a request is written twice, in the transaction that does it: as an action of the request (kept
 * with the request, the DPO's file) and as an audit event about the person's pseudonym (the tamper-evident log).
 * Details are ids, counts, field ids and reason codes: never a personal value; free text goes in `texts`, which
 * the request's action keeps (it is the DPO's file) and the audit event holds only as a keyed digest.
 */
export interface Step {
  /** `rights.open`, `rights.extend`, `rights.erase`... */
  action: string
  outcome?: AuditEventInput['outcome']
  details?: Record<string, unknown>
  /** Free text the DPO typed (an extension's reason): kept outside the audit chain, see AuditEventInput.texts. */
  texts?: Record<string, string>
  /** The person's row id, so the text is erased with them. */
  personId?: number | null
}

export async function recordStep(
  tx: Queryable,
  ctx: Pick<RightsContext, 'now' | 'actor' | 'organisation' | 'requestId'>,
  request: Pick<RightsRequest, 'id' | 'subject'>,
  step: Step,
): Promise<void> {
  const details = { request: request.id, ...(step.details ?? {}) }
  await insertAction(tx, request.id, { occurredAt: ctx.now, actor: ctx.actor, action: step.action, details: { ...details, ...(step.texts ?? {}) } })
  await appendAuditEvents(tx, [
    {
      occurredAt: ctx.now,
      actor: ctx.actor,
      organisation: ctx.organisation ?? null,
      purpose: null,
      action: step.action,
      subject: request.subject,
      outcome: step.outcome ?? 'done',
      requestId: ctx.requestId ?? null,
      clientAddress: null,
      details,
      texts: step.texts,
      textOwner: { personId: step.personId ?? null },
    },
  ])
}
