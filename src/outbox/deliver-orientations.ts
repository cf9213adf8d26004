import { writeWithCallEvents } from '../audit/audit-log.ts'
import type { AuditEventInput } from '../audit/chain.ts'
import { FranceTravailCallError } from '../exchange/france-travail-api/api-client.ts'
import { apiMetrics } from '../exchange/france-travail-api/api-metrics.ts'
import { disclosureEvent } from '../exchange/france-travail-api/disclosure-audit.ts'
import type { ApiJobDeps } from '../exchange/france-travail-api/look-up-persons.ts'
import { lookUpPerson, sendOrientation } from '../exchange/france-travail-api/operations.ts'
import { mapConcurrent, readCallIdentities } from '../exchange/france-travail-api/person-identity.ts'
import { outboundOrientation, type OrientationDecision } from './outbound-payload.ts'
import { ORIENTATION_TOPIC } from './enqueue-orientation.ts'
import { dueMessages, markDelivered, markFailed, outboxDepth, withdrawStale } from './queries.ts'

export interface DeliveryCounts {
  delivered: number
  failed: number
  deadLettered: number
  /** Not sent: the decision was cancelled, or a later one was already delivered (queries.ts withdrawStale). */
  withdrawn: number
}

/**
 * The sender: delivers due orientation messages (at most one per person per round, oldest first) with the
 * message's idempotency key, marks each delivered only after France Travail acknowledged it (at least once: a
 * sender killed between the answer and the commit sends it again, with the same key), and counts failed attempts
 * towards the dead letter. The body is built through the flow's outbound allow-list at the last moment.
 */
export async function deliverOrientations(deps: ApiJobDeps, signal?: AbortSignal): Promise<DeliveryCounts> {
  const { db, flow } = deps
  const counts: DeliveryCounts = { delivered: 0, failed: 0, deadLettered: 0, withdrawn: 0 }
  const maxAttempts = flow.outbox_max_attempts
  const backoffSeconds = Math.max(1, flow.source.backoff_ms / 1000)
  const seen = new Set<number>()
  for (;;) {
    if (signal?.aborted) break
    const candidates = (await dueMessages(db, ORIENTATION_TOPIC, flow.source.batch_size)).filter((m) => !seen.has(m.id))
    if (candidates.length === 0) break
    for (const m of candidates) seen.add(m.id)
    // A decision cancelled since it was announced, or older than one already delivered, is withdrawn, not sent; the
    // person's next message becomes due in the next round.
    const withdrawn = new Set(await withdrawStale(db, ORIENTATION_TOPIC, candidates.map((m) => m.id)))
    counts.withdrawn += withdrawn.size
    const due = candidates.filter((m) => !withdrawn.has(m.id))
    if (due.length === 0) continue
    const identities = await readCallIdentities(db, deps.keys.nir, due.map((m) => m.personId))
    const { rows: origins } = await db.query<{ person_id: number; origine: string | null }>(
      'select person_id, origine from france_travail_orientations where person_id = any($1::bigint[])',
      [due.map((m) => m.personId)],
    )
    const origineOf = new Map(origins.map((o) => [Number(o.person_id), o.origine]))
    const results = await mapConcurrent(due, flow.source.concurrency, async (m) => {
      const events: AuditEventInput[] = []
      const built = outboundOrientation(m.payload as unknown as OrientationDecision, flow.outbound, origineOf.get(m.personId) ?? null)
      if ('rule' in built) return { m, events, ok: false, error: built.rule, dead: true }
      const identity = identities.get(m.personId)
      if (!identity) return { m, events, ok: false, error: 'no_identity', dead: false }
      try {
        const found = await lookUpPerson(deps.client, { nir: identity.nir, birthDate: identity.birthDate }, signal)
        events.push(disclosureEvent(deps.keys.pseudonym, { flowId: flow.id, purpose: deps.purpose, matchKey: identity.matchKey, action: 'francetravail.rechercher-usager', ok: found.outcome !== 'failed', code: found.code, callId: found.callId, at: new Date() }))
        if (found.outcome !== 'found') return { m, events, ok: false, error: `lookup_${found.code}`, dead: false }
        const sent = await sendOrientation(deps.client, found.userToken, built.payload, m.idempotencyKey, signal)
        const code = sent.outcome === 'delivered' ? `http_${sent.status}` : sent.code
        events.push(disclosureEvent(deps.keys.pseudonym, { flowId: flow.id, purpose: deps.purpose, matchKey: identity.matchKey, action: 'francetravail.orientation.envoi', ok: sent.outcome === 'delivered', code, callId: sent.callId, at: new Date() }))
        return { m, events, ok: sent.outcome === 'delivered', error: sent.outcome === 'delivered' ? '' : `refused_${code}`, dead: false }
      } catch (error) {
        if (error instanceof FranceTravailCallError) return { m, events, ok: false, error: `${error.endpoint}_${error.reason}_${error.lastOutcome}`, dead: false, aborted: error.reason === 'aborted' }
        throw error
      }
    })
    await writeWithCallEvents(db, results.flatMap((r) => r.events), async (tx) => {
      await markDelivered(tx, results.filter((r) => r.ok).map((r) => r.m.id))
      // A call aborted by a stopping process is not an attempt: the message stays due.
      await markFailed(tx, results.filter((r) => !r.ok && !('aborted' in r && r.aborted)).map((r) => ({ id: r.m.id, error: r.error, dead: r.dead })), maxAttempts, backoffSeconds)
    })
    for (const r of results) {
      if (r.ok) counts.delivered++
      else {
        counts.failed++
        if (r.dead || r.m.attempts + 1 >= maxAttempts) counts.deadLettered++
      }
    }
  }
  await refreshOutboxMetrics(deps)
  return counts
}

export async function refreshOutboxMetrics(deps: Pick<ApiJobDeps, 'db'>): Promise<void> {
  const depth = await outboxDepth(deps.db)
  apiMetrics.outboxDepth.reset()
  apiMetrics.outboxOldestPendingSeconds.reset()
  apiMetrics.outboxDepth.set({ topic: ORIENTATION_TOPIC, state: 'pending' }, 0)
  apiMetrics.outboxDepth.set({ topic: ORIENTATION_TOPIC, state: 'dead' }, 0)
  apiMetrics.outboxOldestPendingSeconds.set({ topic: ORIENTATION_TOPIC }, 0)
  for (const d of depth) {
    apiMetrics.outboxDepth.set({ topic: d.topic, state: 'pending' }, d.pending)
    apiMetrics.outboxDepth.set({ topic: d.topic, state: 'dead' }, d.dead)
    apiMetrics.outboxOldestPendingSeconds.set({ topic: d.topic }, d.oldestPendingSeconds)
  }
}
