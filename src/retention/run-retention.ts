import { randomUUID } from 'node:crypto'
import { eraseOrphanAuditTexts } from './erase-orphan-audit-texts.ts'
import type { Keys } from '../crypto/keys.ts'
import { withAdvisoryLocks } from '../db/advisory-lock.ts'
import type { Db, Queryable } from '../db/db.ts'
import type { Declarations } from '../declarations/load-declarations.ts'
import type { Logger } from '../log/logger.ts'
import { columnsOf } from '../purposes/stored-fields.ts'
import { archiveExpired } from './archive-expired.ts'
import { destroyExpired } from './destroy-expired.ts'
import { activeClearTargets, archiveClearTargets, countMinimisable, minimiseStored, type ClearTarget } from './minimise-stored.ts'
import { planRetention, type PolicyCutoffs } from './plan.ts'
import type { RetentionPolicy } from './policy.ts'
import { purgeAuditLog } from './purge-audit-log.ts'
import {
  countDueRejections,
  countDueQueueRows,
  purgeMatchingQueue,
  countDueTokens,
  listExpiredFiles,
  purgeExpiredTokens,
  purgeRejections,
  sweepExpiredFiles,
} from './purge-gateway-data.ts'
import { archiveTableColumns, keptColumns, type CanonicalTable } from './archive-columns.ts'
import { countDueDossiers, countDueOrphanPersons, countDueRegistrations } from './archive-queries.ts'
import { countDestroyable, refreshArchiveStatistics } from './destroy-queries.ts'
import { createPacer, DEFAULT_PAUSE_RATIO, type ChunkHook, type RunContext } from './run-context.ts'

/**
 * The advisory lock a retention run holds: the scheduler's job lock (`runJob` names it `job:<job>`), so a manual
 * `passerelle retention` and the nightly run never overlap.
 */
export const RETENTION_LOCK = 'job:retention'

/** The lock an ingestion of `flowId` holds (the scheduler's job lock); archiving waits for no import of its flows. */
export const ingestionLock = (flowId: string) => `job:ingest:${flowId}`

/**
 * Runs `fn` holding the ingestion locks of `flowIds` (try, no wait; on one connection, withAdvisoryLocks). While a
 * flow is being loaded, moving its rows could delete a person the running import has just linked to a dossier; the
 * policy is then postponed to the next run instead.
 */
async function withIngestionLocks<T>(db: Db, flowIds: readonly string[], fn: (lost: AbortSignal) => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false; busy: string }> {
  const names = flowIds.map(ingestionLock)
  const locked = await withAdvisoryLocks(db, names, fn)
  return locked.acquired ? locked : { acquired: false, busy: flowIds[names.indexOf(locked.busy)]! }
}

/**
 * Dossiers (or rows) per archive transaction. Smaller chunks keep each burst short; at 2,000 the archive rate was
 * the same as at 5,000 and the destroy chunks (a tenth) slowed the API less (bench/retention.bench.ts).
 */
export const DEFAULT_CHUNK_SIZE = 2000

export interface RetentionDeps {
  db: Db
  keys: Keys
  log: Logger
  /**
   * The declarations the process loaded (loadDeclarations): the same object ingestion stores by, so retention clears
   * exactly the columns ingestion no longer fills. Without `stored`, active-base minimisation is not checked.
   */
  declarations: Pick<Declarations, 'flows' | 'retentionPolicies'> & Partial<Pick<Declarations, 'stored'>>
  /** When given, leftover staged files past the staging policy are deleted. */
  stagingDir?: string
  /** When given, statistical extract files past the extract-files policy are deleted. */
  extractsDir?: string
}

export interface RetentionOptions {
  now: Date
  dryRun: boolean
  /** Rows per transaction (default 2,000 archived; destroy chunks are a tenth of it). */
  chunkSize?: number
  /** Smallest pause between chunks (ms, default 0). */
  pauseMs?: number
  /** Pause after each chunk as a share of the time it took (default 0.5; 0: none): leaves room to the API. */
  pauseRatio?: number
  /** Test hook, called inside each chunk's transaction (throw to simulate a crash mid-run). */
  onChunk?: ChunkHook
  /** Stops the run before its next chunk (the job's lock lost, the scheduler stopping); the reason is reported. */
  signal?: AbortSignal
}

export interface PolicyReport {
  id: string
  title: string
  appliesTo: RetentionPolicy['appliesTo']
  sources: string[]
  flows: string[]
  active: { duration: string; anchor: string; anchorCutoff: string }
  archive: { duration: string; anchor: string; keeps: string[] } | null
  destroyAfter: string
  /** Rows whose (archive, or only) clock started on or before this day are destroyed. */
  destroyAnchorCutoff: string
  /** Rows copied from the active base into the archive, per table, then deleted from it (dry run: that would be). */
  archived: Record<string, number>
  /** Rows destroyed, per table (dry run: already in the archive and due; `alsoDestroyedOnArchiving` adds those archived today and due). */
  destroyed: Record<string, number>
  alsoDestroyedOnArchiving?: number
  /** Rows due for destruction that a legal hold keeps. */
  heldBack: number
  note?: string
}

export interface RetentionReport {
  runId: string
  dryRun: boolean
  now: string
  today: string
  policies: PolicyReport[]
  minimisation: { cleared: Record<string, number>; skipped?: string }
  /** Rows of flows no declaration governs any more (a flow file was removed): they need a decision. */
  ungoverned: { flowIds: string[]; dossiers: number; registrations: number }
  errors: { step: string; message: string }[]
  ok: boolean
}

function sourcesOf(policy: RetentionPolicy): string[] {
  return policy.sources.map((s) => s.text)
}

function baseReport(policy: RetentionPolicy, flows: string[], cutoffs: PolicyCutoffs): PolicyReport {
  return {
    id: policy.id,
    title: policy.title,
    appliesTo: policy.appliesTo,
    sources: sourcesOf(policy),
    flows,
    active: { duration: policy.active.durationText, anchor: policy.active.anchor, anchorCutoff: cutoffs.activeAnchorCutoff },
    archive: policy.archive ? { duration: policy.archive.durationText, anchor: policy.archive.anchor, keeps: policy.archive.keeps } : null,
    destroyAfter: policy.destroyAfterText,
    destroyAnchorCutoff: cutoffs.destroyAnchorCutoff,
    archived: {},
    destroyed: {},
    heldBack: 0,
  }
}

/** Every archive column a policy keeps must exist (a field added to the catalogue later needs its archive column). */
function checkArchiveColumns(policies: RetentionPolicy[], columns: Map<string, Set<string>>): string[] {
  const problems: string[] = []
  for (const policy of policies) {
    for (const [table, kept] of keptColumns(policy)) {
      const have = columns.get(table)
      for (const column of kept) {
        if (!have?.has(column)) {
          problems.push(`policy "${policy.id}" keeps ${table}.${column}, which archive.${table} has no column for: add a migration (0030-0039) creating it`)
        }
      }
    }
  }
  return problems
}

async function countUngoverned(db: Queryable, governed: string[]): Promise<RetentionReport['ungoverned']> {
  const { rows } = await db.query<{ flow_id: string; dossiers: number; registrations: number }>(
    `select flow_id, sum(dossiers)::int as dossiers, sum(registrations)::int as registrations
     from (
       select d.flow_id, count(*) as dossiers, 0 as registrations from dossiers d where not (d.flow_id = any($1::text[])) group by d.flow_id
       union all
       select f.flow_id, 0, count(*) from france_travail_registrations r join files f on f.id = r.file_id where not (f.flow_id = any($1::text[])) group by f.flow_id
     ) u
     group by flow_id
     order by flow_id`,
    [governed],
  )
  return {
    flowIds: rows.map((r) => r.flow_id),
    dossiers: rows.reduce((n, r) => n + r.dossiers, 0),
    registrations: rows.reduce((n, r) => n + r.registrations, 0),
  }
}

/**
 * One retention run: plans (cutoffs per policy for `now`), then applies in this order: minimisation, for each
 * flow-data policy archive then destroy, the gateway's own data (rejections, tokens, staging files), the audit
 * log last. Every step works in bounded chunks, one transaction each with its receipt; a failing step is logged
 * and reported, and the others still run. `dryRun` changes nothing and counts what would be done.
 */
export async function runRetention(deps: RetentionDeps, options: RetentionOptions): Promise<RetentionReport> {
  const { db, log } = deps
  const runId = randomUUID()
  const { retentionPolicies: policies, flows, stored } = deps.declarations
  const plan = planRetention(policies, options.now)
  const ctx: RunContext = {
    db,
    log,
    runId,
    now: options.now,
    today: plan.today,
    chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    onChunk: options.onChunk,
    pacer: createPacer({ ratio: options.pauseRatio ?? DEFAULT_PAUSE_RATIO, minMs: options.pauseMs ?? 0 }),
    signal: options.signal,
  }
  const flowsOf = (policyId: string) => [...flows.values()].filter((f) => f.retention === policyId).map((f) => f.id).sort()
  const all = [...policies.values()]
  const flowData = all.filter((p) => p.appliesTo === 'flow-data')
  const byScope = (scope: RetentionPolicy['appliesTo']) => all.find((p) => p.appliesTo === scope)

  const problems = checkArchiveColumns(flowData, await archiveTableColumns(db))
  if (problems.length > 0) throw new Error(`retention: the archive cannot hold what the policies keep:\n${problems.join('\n')}`)

  const report: RetentionReport = {
    runId,
    dryRun: options.dryRun,
    now: options.now.toISOString(),
    today: plan.today,
    policies: [],
    minimisation: { cleared: {} },
    ungoverned: await countUngoverned(db, [...flows.keys()]),
    errors: [],
    ok: true,
  }
  if (report.ungoverned.dossiers + report.ungoverned.registrations > 0) {
    log.warn({ flowIds: report.ungoverned.flowIds, dossiers: report.ungoverned.dossiers, registrations: report.ungoverned.registrations }, 'retention: rows of undeclared flows are not governed')
  }
  log.info({ runId, today: plan.today, dryRun: options.dryRun, policies: all.length }, 'retention run started')

  const step = async (name: string, fn: () => Promise<void>) => {
    // The run's lock lost (or the scheduler stopping): the steps left are not started, each reported as not done.
    if (options.signal?.aborted) {
      report.ok = false
      report.errors.push({ step: name, message: `not started: ${(options.signal.reason as Error)?.message ?? 'the run was stopped'}` })
      return
    }
    try {
      await fn()
    } catch (error) {
      report.ok = false
      report.errors.push({ step: name, message: (error as Error).message })
      log.error({ runId, step: name, err: { message: (error as Error).message } }, 'retention step failed')
    }
  }

  // 1. Minimisation: what no purpose stores any more, and what no archive keeps.
  const kept = new Map(flowData.map((p) => [p.id, keptColumns(p)] as const))
  await step('minimise', async () => {
    const targets: ClearTarget[] = []
    if (stored) {
      targets.push(...activeClearTargets(columnsOf(stored) as Map<CanonicalTable, Set<string>>))
    } else {
      report.minimisation.skipped = 'no stored-field set given: active-base minimisation not checked'
    }
    for (const policy of flowData) targets.push(...archiveClearTargets(policy.id, kept.get(policy.id)!))
    if (options.dryRun) {
      for (const t of targets) {
        const n = await countMinimisable(db, t)
        if (n > 0) report.minimisation.cleared[t.table] = (report.minimisation.cleared[t.table] ?? 0) + n
      }
    } else {
      report.minimisation.cleared = await minimiseStored(ctx, targets)
    }
  })

  // 2. Flow data: archive, then destroy.
  for (const policy of flowData) {
    const cutoffs = plan.cutoffs.get(policy.id)!
    const flowIds = flowsOf(policy.id)
    const r = baseReport(policy, flowIds, cutoffs)
    report.policies.push(r)
    const hasArchive = policy.archive !== undefined
    const query = {
      flowIds,
      activeAnchor: policy.active.anchor,
      archiveAnchor: policy.archive?.anchor ?? policy.active.anchor,
      cutoff: hasArchive ? cutoffs.activeAnchorCutoff : cutoffs.destroyAnchorCutoff,
      today: plan.today,
      excludeHeld: !hasArchive,
    }
    if (options.dryRun) {
      await step(`plan:${policy.id}`, async () => {
        const d = await countDueDossiers(db, query, cutoffs.destroyAnchorCutoff)
        const f = await countDueRegistrations(db, query, cutoffs.destroyAnchorCutoff)
        const o = await countDueOrphanPersons(db, { flowIds, cutoff: query.cutoff })
        r.archived = { dossiers: d.due, france_travail_registrations: f.due, orphan_persons: o }
        const x = await countDestroyable(db, policy.id, cutoffs.destroyAnchorCutoff)
        r.destroyed = { 'archive.dossiers': x.dossiers, 'archive.persons': x.persons, 'archive.france_travail_registrations': x.registrations }
        r.alsoDestroyedOnArchiving = d.alsoDestroyed + f.alsoDestroyed
        r.heldBack = x.heldBack
      })
      continue
    }
    await step(`archive:${policy.id}`, async () => {
      // Stops before its next chunk if the run's lock or one of the flows' ingestion locks is lost.
      const locked = await withIngestionLocks(db, flowIds, (lost) =>
        archiveExpired({ ...ctx, signal: ctx.signal ? AbortSignal.any([ctx.signal, lost]) : lost }, policy, flowIds, cutoffs, kept.get(policy.id)!),
      )
      if (locked.acquired) {
        const { persons_removed: _removed, ...moved } = locked.value
        r.archived = moved
      }
      else {
        r.note = `flow ${locked.busy} is being loaded: archiving postponed to the next run`
        log.warn({ runId, policyId: policy.id, flowId: locked.busy }, 'retention: import under way, archiving postponed')
      }
    })
    await step(`destroy:${policy.id}`, async () => {
      await refreshArchiveStatistics(db)
      const { legal_holds_redacted: _redacted, ...destroyed } = await destroyExpired(ctx, policy, cutoffs)
      r.destroyed = destroyed
      r.heldBack = (await countDestroyable(db, policy.id, cutoffs.destroyAnchorCutoff)).heldBack
    })
  }

  for (const policy of all.filter((p) => p.appliesTo === 'purpose')) {
    const r = baseReport(policy, [], plan.cutoffs.get(policy.id)!)
    r.note = "a purpose's limit: data past it is not served to the purpose; storage follows the flows' policies"
    report.policies.push(r)
  }

  // 3. The gateway's own data, the audit log last (this run's receipts are never what it purges).
  const system: [RetentionPolicy['appliesTo'], (policy: RetentionPolicy, cutoffs: PolicyCutoffs, r: PolicyReport) => Promise<void>][] = [
    [
      'rejections',
      async (policy, cutoffs, r) => {
        r.destroyed = { rejections: options.dryRun ? await countDueRejections(db, cutoffs.destroyAnchorCutoff) : await purgeRejections(ctx, policy.id, cutoffs) }
      },
    ],
    [
      'matching-queue',
      async (policy, cutoffs, r) => {
        r.destroyed = { matching_queue: options.dryRun ? await countDueQueueRows(db, cutoffs.destroyAnchorCutoff) : await purgeMatchingQueue(ctx, policy.id, cutoffs) }
      },
    ],
    [
      'api-tokens',
      async (policy, cutoffs, r) => {
        r.destroyed = { api_tokens: options.dryRun ? await countDueTokens(db, cutoffs.destroyAnchorCutoff) : await purgeExpiredTokens(ctx, policy.id, cutoffs) }
      },
    ],
    ...(
      [
        ['staging-files', 'staging', deps.stagingDir, 'no staging directory given'],
        ['extract-files', 'extract', deps.extractsDir, 'no extracts directory given'],
      ] as const
    ).map(
      ([scope, kind, dir, missing]): [RetentionPolicy['appliesTo'], (policy: RetentionPolicy, cutoffs: PolicyCutoffs, r: PolicyReport) => Promise<void>] => [
        scope,
        async (policy, cutoffs, r) => {
          if (!dir) {
            r.note = missing
            return
          }
          if (options.dryRun) {
            const files = await listExpiredFiles(dir, cutoffs.destroyAnchorCutoff)
            r.destroyed = { [`${kind}_files`]: files.length, [`${kind}_bytes`]: files.reduce((n, f) => n + f.size, 0) }
          } else {
            const swept = await sweepExpiredFiles(ctx, policy.id, cutoffs, dir, kind)
            r.destroyed = { [`${kind}_files`]: swept.files, [`${kind}_bytes`]: swept.bytes }
          }
        },
      ],
    ),
    [
      'audit-log',
      async (policy, cutoffs, r) => {
        if (options.dryRun) {
          const { rows } = await db.query<{ n: number }>(
            `select count(*)::int as n
             from audit_events
             where seq <= coalesce((select min(seq) - 1 from audit_events where (occurred_at at time zone 'Europe/Paris')::date > $1::date), (select max(seq) from audit_events))`,
            [cutoffs.destroyAnchorCutoff],
          )
          r.destroyed = { audit_events: rows[0]!.n }
        } else {
          r.destroyed = { audit_events: await purgeAuditLog(ctx, policy.id, cutoffs) }
        }
      },
    ],
  ]
  for (const [scope, run] of system) {
    const policy = byScope(scope)
    if (!policy) continue
    const cutoffs = plan.cutoffs.get(policy.id)!
    const r = baseReport(policy, [], cutoffs)
    report.policies.push(r)
    await step(`${options.dryRun ? 'plan' : 'destroy'}:${policy.id}`, () => run(policy, cutoffs, r))
  }

  // Free texts of the audit log whose person and dossier are gone from both bases go with them.
  if (!options.dryRun) {
    await step('audit-texts', async () => {
      const erased = await eraseOrphanAuditTexts(db)
      if (erased > 0) log.info({ runId, erased }, 'audit texts erased with their rows')
    })
  }

  log.info(
    {
      runId,
      dryRun: options.dryRun,
      ok: report.ok,
      archived: Object.fromEntries(report.policies.map((p) => [p.id, p.archived])),
      destroyed: Object.fromEntries(report.policies.map((p) => [p.id, p.destroyed])),
    },
    'retention run finished',
  )
  return report
}
