import { processableSql } from '../../access/exclusions.ts'
import { createHmac } from 'node:crypto'
import { writeWithCallEvents } from '../../audit/audit-log.ts'
import type { Keys } from '../../crypto/keys.ts'
import type { Db, Queryable } from '../../db/db.ts'
import type { Logger } from '../../log/logger.ts'
import { FranceTravailCallError, type ClientDeps } from './api-client.ts'
import type { FranceTravailApiFlow } from './api-flow.ts'
import { apiMetrics } from './api-metrics.ts'
import { disclosureEvent } from './disclosure-audit.ts'
import { lookUpPerson, type LookupOutcome } from './operations.ts'
import { mapConcurrent, readCallIdentities, type CallIdentity } from './person-identity.ts'

/** The keyed blind index of a France Travail identifier (the person ↔ identifier link; issue 15 matches on it). */
export function franceTravailIdentifierIndex(indexKey: Buffer, identifier: string): string {
  return createHmac('sha256', indexKey).update(`francetravail-id|${identifier.trim().toUpperCase()}`, 'utf8').digest('base64url')
}

/** Links a person to a France Travail identifier (a link already there, for either side, is kept). */
export async function linkFranceTravailIdentifier(
  tx: Queryable,
  indexKey: Buffer,
  links: readonly { personId: number; identifier: string; callId: string | null }[],
  source: 'api' | 'file' | 'operator',
): Promise<number> {
  if (links.length === 0) return 0
  const { rowCount } = await tx.query(
    `insert into france_travail_links (person_id, identifier_index, source, call_id)
     select person_id, identifier_index, $3, call_id
     from unnest($1::bigint[], $2::text[], $4::text[]) as l (person_id, identifier_index, call_id)
     on conflict do nothing`,
    [links.map((l) => l.personId), links.map((l) => franceTravailIdentifierIndex(indexKey, l.identifier)), source, links.map((l) => l.callId)],
  )
  return rowCount
}

/** The person linked to a France Travail identifier, if any (issue 15's first matching rule). */
export async function findPersonByFranceTravailIdentifier(db: Queryable, indexKey: Buffer, identifier: string): Promise<number | undefined> {
  const { rows } = await db.query<{ person_id: number }>('select person_id from france_travail_links where identifier_index = $1', [
    franceTravailIdentifierIndex(indexKey, identifier),
  ])
  return rows[0] ? Number(rows[0].person_id) : undefined
}

export interface LookupRunCounts {
  runId: number
  resumed: boolean
  planned: number
  called: number
  found: number
  several: number
  notRecognised: number
  failed: number
  interrupted: number
}

export interface ApiJobDeps {
  db: Db
  keys: Pick<Keys, 'nir' | 'index' | 'pseudonym'>
  log: Logger
  client: ClientDeps
  flow: FranceTravailApiFlow
  /** The purpose under which the NIR and the decisions leave (named in the audit events). */
  purpose: string
}

/**
 * rechercher-usager for the persons of the active base subject to droits et devoirs (an open right, ETATDOSRSA 2,
 * 3 or 4), neither under a limitation nor opposed to the flow's purpose (checked again as each batch is claimed),
 * who have no France Travail link, a NIR and a birth date, and were not found (or found several times)
 * less than `lookup_retry_days` ago. A run plans its persons first; it then claims them batch by batch (marked
 * `calling`, committed, before any call) and records each outcome with the batch's audit events. A run that was
 * interrupted is resumed by the next one: its `calling` rows become `interrupted` (never called twice in one run),
 * its `pending` rows are called.
 */
export async function lookUpPersons(deps: ApiJobDeps, signal?: AbortSignal): Promise<LookupRunCounts> {
  const { db, flow } = deps
  const open = await db.query<{ id: number }>('select id from france_travail_lookup_runs where flow_id = $1 and finished_at is null order by id limit 1', [flow.id])
  let runId: number
  const counts: LookupRunCounts = { runId: 0, resumed: false, planned: 0, called: 0, found: 0, several: 0, notRecognised: 0, failed: 0, interrupted: 0 }
  if (open.rows[0]) {
    runId = Number(open.rows[0].id)
    counts.resumed = true
    const r = await db.query(`update france_travail_lookups set outcome = 'interrupted', decided_at = now() where run_id = $1 and outcome = 'calling'`, [runId])
    counts.interrupted = r.rowCount
    const p = await db.query<{ n: number }>(`select count(*)::int as n from france_travail_lookups where run_id = $1 and outcome = 'pending'`, [runId])
    counts.planned = Number(p.rows[0]!.n)
  } else {
    runId = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>('insert into france_travail_lookup_runs (flow_id) values ($1) returning id', [flow.id])
      const id = Number(rows[0]!.id)
      const planned = await tx.query(
        `insert into france_travail_lookups (run_id, person_id)
         select $1, p.id
         from persons p
         where p.nir_cipher is not null
           and p.date_naissance is not null
           and not exists (select 1 from france_travail_links l where l.person_id = p.id)
           and exists (
             select 1
             from dossier_members dm
             join dossiers d on d.id = dm.dossier_id
             where dm.person_id = p.id
               and dm.soumis_droits_devoirs
               and d.etat_droit in ('2', '3', '4')
               and d.transmission_state = 'transmitted'
           )
           and not exists (
             select 1
             from france_travail_lookups x
             where x.person_id = p.id
               and x.outcome in ('several', 'not_recognised')
               and x.decided_at > now() - make_interval(days => $2)
           )
           and ${processableSql('p', { now: '$3', purpose: '$4' })}`,
        [id, flow.lookup_retry_days, new Date().toISOString(), deps.purpose],
      )
      await tx.query('update france_travail_lookup_runs set planned = $2 where id = $1', [id, planned.rowCount])
      counts.planned = planned.rowCount
      return id
    })
  }
  counts.runId = runId
  deps.log.info({ flowId: flow.id, runId, resumed: counts.resumed, planned: counts.planned, interrupted: counts.interrupted }, 'france travail lookup run')

  // Claim a batch: marked `calling` and committed before any call, so a kill never leads to a second call. The
  // next batch is claimed (and its identities read) while this one is called: the quota never waits for the
  // database between batches. A kill leaves at most two batches `calling`; the next run marks them interrupted.
  const claim = async (): Promise<{ ids: number[]; identities: Map<number, CallIdentity> }> => {
    // A person limited, or opposed to the purpose, since the run was planned is taken out of it, never called.
    await db.query(
      `delete from france_travail_lookups l
       using persons p
       where l.run_id = $1 and l.outcome = 'pending' and p.id = l.person_id
         and not (${processableSql('p', { now: '$2', purpose: '$3' })})`,
      [runId, new Date().toISOString(), deps.purpose],
    )
    const claimed = await db.query<{ person_id: number }>(
      `update france_travail_lookups
       set outcome = 'calling'
       where run_id = $1
         and person_id in (
           select person_id from france_travail_lookups where run_id = $1 and outcome = 'pending' order by person_id limit $2
         )
       returning person_id`,
      [runId, flow.source.batch_size],
    )
    const ids = claimed.rows.map((r) => Number(r.person_id)).sort((a, b) => a - b)
    return { ids, identities: await readCallIdentities(db, deps.keys.nir, ids) }
  }
  let writing: Promise<void> = Promise.resolve()
  let next = signal?.aborted ? undefined : claim()
  for (;;) {
    if (!next || signal?.aborted) break
    const { ids, identities } = await next
    if (ids.length === 0) break
    next = signal?.aborted ? undefined : claim()
    next?.catch(() => {})
    const results = await mapConcurrent(ids, flow.source.concurrency, async (personId): Promise<{ personId: number; result: LookupOutcome | undefined; aborted: boolean }> => {
      const identity = identities.get(personId)
      if (!identity) return { personId, result: { outcome: 'failed', code: 'no_identity', callId: '' }, aborted: false }
      try {
        return { personId, result: await lookUpPerson(deps.client, { nir: identity.nir, birthDate: identity.birthDate }, signal), aborted: false }
      } catch (error) {
        if (error instanceof FranceTravailCallError) {
          if (error.reason === 'aborted') return { personId, result: undefined, aborted: true }
          return { personId, result: { outcome: 'failed', code: `exhausted_${error.lastOutcome}`, callId: error.callId }, aborted: false }
        }
        throw error
      }
    })
    const now = new Date()
    const decided = results.filter((r) => r.result !== undefined)
    // The batch's outcomes are written while the next batch is called (one write in flight; the next waits for it).
    await writing
    // Every call that sent a NIR is traced (a person with no identity was not sent anything), even when the
    // bookkeeping of the batch fails.
    const events = decided.flatMap((r) => {
      const identity = identities.get(r.personId)
      if (!identity) return []
      return [disclosureEvent(deps.keys.pseudonym, { flowId: flow.id, purpose: deps.purpose, matchKey: identity.matchKey, action: 'francetravail.rechercher-usager', ok: r.result!.outcome !== 'failed', code: r.result!.code, callId: r.result!.callId, at: now })]
    })
    writing = writeWithCallEvents(db, events, async (tx) => {
      await tx.query(
        `update france_travail_lookups l
         set outcome = r.outcome, code = r.code, call_id = nullif(r.call_id, ''), decided_at = now()
         from unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) as r (person_id, outcome, code, call_id)
         where l.run_id = $1 and l.person_id = r.person_id`,
        [runId, decided.map((r) => r.personId), decided.map((r) => r.result!.outcome), decided.map((r) => r.result!.code), decided.map((r) => r.result!.callId)],
      )
      // An aborted call (the process is stopping) is interrupted: it may or may not have reached France Travail.
      const aborted = results.filter((r) => r.aborted).map((r) => r.personId)
      if (aborted.length > 0) {
        await tx.query(`update france_travail_lookups set outcome = 'interrupted', decided_at = now() where run_id = $1 and person_id = any($2::bigint[])`, [runId, aborted])
      }
      const links = decided.flatMap((r) => (r.result!.outcome === 'found' && r.result!.identifier ? [{ personId: r.personId, identifier: r.result!.identifier, callId: r.result!.callId }] : []))
      await linkFranceTravailIdentifier(tx, deps.keys.index, links, 'api')
    })
    writing.catch(() => {})
    for (const r of decided) {
      counts.called += identities.has(r.personId) ? 1 : 0
      const o = r.result!.outcome
      if (o === 'found') counts.found++
      else if (o === 'several') counts.several++
      else if (o === 'not_recognised') counts.notRecognised++
      else counts.failed++
      apiMetrics.lookups.inc({ flow: flow.id, outcome: o })
    }
    counts.interrupted += results.filter((r) => r.aborted).length
  }
  await writing
  // A batch claimed ahead and not called (the run was stopped): settled before returning; the next run interrupts it.
  await next?.catch(() => {})
  if (!signal?.aborted) {
    const left = await db.query<{ n: number }>(`select count(*)::int as n from france_travail_lookups where run_id = $1 and outcome in ('pending', 'calling')`, [runId])
    if (Number(left.rows[0]!.n) === 0) await db.query('update france_travail_lookup_runs set finished_at = now() where id = $1', [runId])
  }
  return counts
}
