import { randomUUID } from 'node:crypto'
import { processableSql } from '../../access/exclusions.ts'
import { parisDay } from '../../calendar/paris-day.ts'
import { retentionReceipt } from '../../retention/receipt.ts'
import { appendAuditEvents, writeWithCallEvents } from '../../audit/audit-log.ts'
import type { AuditEventInput } from '../../audit/chain.ts'
import { CANONICAL_FIELDS } from '../../model/fields.ts'
import { FranceTravailCallError } from './api-client.ts'
import { disclosureEvent } from './disclosure-audit.ts'
import type { ApiJobDeps } from './look-up-persons.ts'
import { lookUpPerson, readOrientation, type OrientationRead, type ReadOutcome } from './operations.ts'
import { mapConcurrent, readCallIdentities } from './person-identity.ts'

export interface ReadCounts {
  due: number
  read: number
  none: number
  rejected: number
  failed: number
}

/** Where each catalogue column of france_travail_orientations comes from in a validated answer. */
const ORIENTATION_VALUES: Readonly<Record<string, (o: OrientationRead) => string | null>> = {
  parcours: (o) => o.parcours,
  organisme: (o) => o.organisme,
  statut: (o) => o.statut,
  etat: (o) => o.etat,
  origine: (o) => o.origine,
  date_entree_parcours: (o) => o.dateEntreeParcours,
  date_modification: (o) => o.dateModification,
}
const ORIENTATION_FIELDS = CANONICAL_FIELDS.filter((f) => f.table === 'france_travail_orientations')

/** The orientation columns the purposes store (minimisation): the catalogue fields of the table in `stored`. */
export function storedOrientationColumns(stored: ReadonlySet<string>): string[] {
  return ORIENTATION_FIELDS.filter((f) => stored.has(f.id)).map((f) => f.column)
}

/**
 * lectureOrientation for linked persons whose France Travail orientation was never read or was read more than
 * `orientation_read_days` ago. The per-person token comes from rechercher-usager (NIR + birth date, audited), as
 * WebRSA does. A valid answer replaces the stored orientation with its provenance (call id, time), keeping only the
 * columns of the catalogue fields some purpose declares (`stored`, from the Declarations); when no purpose declares
 * any, nothing is read at all (no NIR leaves for data that would not be kept). An answer that does not validate is a
 * rejection row (call, field, rule: never the value) and changes nothing. A person under a limitation, or opposed to
 * the flow's purpose, is not read (their NIR does not leave).
 */
export async function readFranceTravailOrientations(deps: ApiJobDeps & { stored: ReadonlySet<string> }, signal?: AbortSignal): Promise<ReadCounts> {
  const { db, flow } = deps
  const counts: ReadCounts = { due: 0, read: 0, none: 0, rejected: 0, failed: 0 }
  const columns = storedOrientationColumns(deps.stored)
  if (columns.length === 0) return counts
  let after = 0
  for (;;) {
    if (signal?.aborted) break
    const { rows } = await db.query<{ person_id: number }>(
      `select l.person_id
       from france_travail_links l
       join persons p on p.id = l.person_id
       left join france_travail_orientations o on o.person_id = l.person_id
       where l.person_id > $1
         and (o.read_at is null or o.read_at < now() - make_interval(days => $2))
         and ${processableSql('p', { now: '$4', purpose: '$5' })}
       order by l.person_id
       limit $3`,
      [after, flow.orientation_read_days, flow.source.batch_size, new Date().toISOString(), deps.purpose],
    )
    if (rows.length === 0) break
    const ids = rows.map((r) => Number(r.person_id))
    after = ids.at(-1)!
    counts.due += ids.length
    const identities = await readCallIdentities(db, deps.keys.nir, ids)
    const results = await mapConcurrent([...identities.values()], flow.source.concurrency, async (identity) => {
      const events: AuditEventInput[] = []
      try {
        const found = await lookUpPerson(deps.client, { nir: identity.nir, birthDate: identity.birthDate }, signal)
        events.push(disclosureEvent(deps.keys.pseudonym, { flowId: flow.id, purpose: deps.purpose, matchKey: identity.matchKey, action: 'francetravail.rechercher-usager', ok: found.outcome !== 'failed', code: found.code, callId: found.callId, at: new Date() }))
        if (found.outcome !== 'found') return { identity, events, read: { outcome: 'failed', code: found.code, callId: found.callId } as ReadOutcome }
        return { identity, events, read: await readOrientation(deps.client, found.userToken, signal) }
      } catch (error) {
        if (error instanceof FranceTravailCallError) return { identity, events, read: { outcome: 'failed', code: `${error.reason}_${error.lastOutcome}`, callId: error.callId } as ReadOutcome }
        throw error
      }
    })
    const now = new Date()
    await writeWithCallEvents(db, results.flatMap((r) => r.events), async (tx) => {
      const read = results.filter((r) => r.read.outcome === 'read')
      if (read.length > 0) {
        const o = read.map((r) => (r.read as Extract<ReadOutcome, { outcome: 'read' }>).orientation)
        // Only the stored columns are written; the others of the row (if a purpose stopped declaring them) become null.
        const all = ORIENTATION_FIELDS.map((f) => f.column)
        const casts = ORIENTATION_FIELDS.map((f) => (f.type === 'date' ? 'date' : 'text'))
        const values = columns.map((c) => o.map(ORIENTATION_VALUES[c]!))
        const cols = columns.map((c, i) => `$${i + 4}::${casts[all.indexOf(c)]}[]`)
        await tx.query(
          `insert into france_travail_orientations (person_id, call_id, read_at, ${all.join(', ')})
           select v.person_id, v.call_id, $3::timestamptz, ${all.map((c) => (columns.includes(c) ? `v.${c}` : 'null')).join(', ')}
           from unnest($1::bigint[], $2::text[]${cols.map((c) => `, ${c}`).join('')}) as v (person_id, call_id${columns.map((c) => `, ${c}`).join('')})
           on conflict (person_id) do update set
             call_id = excluded.call_id, read_at = excluded.read_at, ${all.map((c) => `${c} = excluded.${c}`).join(', ')}`,
          [read.map((r) => r.identity.personId), read.map((r) => r.read.callId), now.toISOString(), ...values],
        )
      }
      // Nothing at France Travail: the previous read (if any) no longer holds.
      const none = results.filter((r) => r.read.outcome === 'none').map((r) => r.identity.personId)
      if (none.length > 0) await tx.query('delete from france_travail_orientations where person_id = any($1::bigint[])', [none])
      const rejections = results.flatMap((r) => (r.read.outcome === 'rejected' ? r.read.issues.map((i) => ({ callId: r.read.callId, ...i })) : []))
      if (rejections.length > 0) {
        await tx.query(
          `insert into france_travail_api_rejections (flow_id, call_id, endpoint, field, rule)
           select $1, call_id, 'lecture-orientation', field, rule
           from unnest($2::text[], $3::text[], $4::text[]) as r (call_id, field, rule)`,
          [flow.id, rejections.map((r) => r.callId), rejections.map((r) => r.field), rejections.map((r) => r.rule)],
        )
      }
    })
    for (const r of results) {
      if (r.read.outcome === 'read') counts.read++
      else if (r.read.outcome === 'none') counts.none++
      else if (r.read.outcome === 'rejected') counts.rejected++
      else counts.failed++
    }
  }
  return counts
}

/** Retention of what the API brought: orientations no longer refreshed, finished lookup runs, delivered messages. */
export async function sweepFranceTravailApiData(deps: Pick<ApiJobDeps, 'db' | 'flow'>, now = new Date()): Promise<{ orientations: number; lookupRuns: number; outbox: number; rejections: number }> {
  const { db, flow } = deps
  // One transaction with its destruction receipt (policy, counts, SHA-256 of the ids: no value), as every purge.
  return db.transaction(async (tx) => {
    const o = await tx.query<{ id: number }>('delete from france_travail_orientations where read_at < $2::timestamptz - make_interval(days => $1) returning person_id as id', [flow.orientation_keep_days, now.toISOString()])
    const l = await tx.query<{ id: number }>(`delete from france_travail_lookup_runs where flow_id = $1 and finished_at < $3::timestamptz - make_interval(days => $2) returning id`, [flow.id, flow.lookup_retry_days, now.toISOString()])
    const m = await tx.query<{ id: number }>(
      `delete from outbox_messages where (state = 'delivered' and delivered_at < $2::timestamptz - make_interval(days => $1)) or (state = 'withdrawn' and created_at < $2::timestamptz - make_interval(days => $1)) returning id`,
      [flow.orientation_keep_days, now.toISOString()],
    )
    const r = await tx.query<{ id: number }>(`delete from france_travail_api_rejections where flow_id = $1 and created_at < $3::timestamptz - make_interval(days => $2) returning id`, [flow.id, flow.orientation_keep_days, now.toISOString()])
    const swept = { france_travail_orientations: o.rows, france_travail_lookup_runs: l.rows, outbox_messages: m.rows, france_travail_api_rejections: r.rows }
    const keys = Object.entries(swept).flatMap(([table, rows]) => rows.map((row) => `${table}:${row.id}`))
    if (keys.length > 0) {
      await appendAuditEvents(tx, [
        retentionReceipt({
          action: 'retention.destroy',
          runId: randomUUID(),
          policyId: flow.retention,
          phase: 'france-travail-api',
          anchorCutoff: parisDay(new Date(now.getTime() - flow.orientation_keep_days * 86_400_000)),
          today: parisDay(now),
          counts: Object.fromEntries(Object.entries(swept).map(([table, rows]) => [table, rows.length])),
          keys,
          occurredAt: now,
          chunk: 0,
          extra: { flow: flow.id, keepDays: { orientations: flow.orientation_keep_days, lookupRuns: flow.lookup_retry_days, outbox: flow.orientation_keep_days, rejections: flow.orientation_keep_days } },
        }),
      ])
    }
    return { orientations: o.rowCount, lookupRuns: l.rowCount, outbox: m.rowCount, rejections: r.rowCount }
  })
}
