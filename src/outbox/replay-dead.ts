import { appendAuditEvents } from '../audit/audit-log.ts'
import type { Db } from '../db/db.ts'
import { retryDead } from './queries.ts'

/** An admin replays dead-lettered messages (all, or the ids given): pending again, due now; audited. */
export async function replayDeadMessages(db: Db, input: { ids?: readonly number[]; actor: string; now: Date }): Promise<number> {
  return db.transaction(async (tx) => {
    const n = await retryDead(tx, input.ids)
    await appendAuditEvents(tx, [
      {
        occurredAt: input.now,
        actor: input.actor,
        organisation: null,
        purpose: null,
        action: 'outbox.retry',
        subject: null,
        outcome: 'done',
        requestId: null,
        clientAddress: null,
        details: { replayed: n, ids: input.ids && input.ids.length > 0 ? [...input.ids] : 'all-dead' },
      },
    ])
    return n
  })
}
