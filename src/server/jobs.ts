import path from 'node:path'
import { checkpointAuditLog, writeAuditCheckpoint } from '../audit/write-checkpoint.ts'
import type { AppContext } from '../cli/context.ts'
import type { Declarations } from '../declarations/load-declarations.ts'
import { pullFlow } from '../ingestion/pull-flow.ts'
import type { JobCounts } from '../jobs/run-job.ts'
import { metrics } from '../metrics/metrics.ts'
import { runRetention } from '../retention/run-retention.ts'
import type { ScheduledJob } from '../scheduler/start-scheduler.ts'
import { extractJobs } from '../statistics/extract-jobs.ts'
import { franceTravailApiJobs } from '../exchange/france-travail-api/api-jobs.ts'

/** When the nightly retention run and the monthly extracts run (Europe/Paris); flows carry their own schedule. */
export interface JobSchedules {
  retention: string
  extracts: string
}


/**
 * The scheduled work of the gateway, from the declarations: one pull per flow with an SFTP source, the nightly
 * retention run, and one monthly extract per statistical purpose and recipient.
 */
export function gatewayJobs(ctx: AppContext, declarations: Declarations, schedules: JobSchedules, env: NodeJS.ProcessEnv): ScheduledJob[] {
  const jobs: ScheduledJob[] = []
  for (const flow of declarations.flows.values()) {
    if (!flow.source) continue
    jobs.push({
      name: `ingest:${flow.id}`,
      schedule: flow.schedule,
      run: async (signal) => ingestCounts(
        await pullFlow(
          {
            db: ctx.db,
            keys: ctx.keys,
            log: ctx.log,
            stored: declarations.stored,
            purposes: declarations.purposes,
            // A CNAF file older than its flow's retention horizon is refused (src/ingestion/retention-horizon.ts).
            retention: declarations.retentionPolicies,
            config: ctx.config,
            env,
          },
          flow,
          { signal },
        ),
      ),
    })
  }
  // France Travail partner-API flows (source.type francetravail-api): lookups, orientation reads, the outbox.
  jobs.push(...franceTravailApiJobs({ db: ctx.db, keys: ctx.keys, log: ctx.log, stored: declarations.stored }, declarations.apiFlows, env))
  jobs.push({
    name: 'retention',
    schedule: schedules.retention,
    run: async (signal) => {
      const report = await runRetention(
        { db: ctx.db, keys: ctx.keys, log: ctx.log, declarations, stagingDir: ctx.config.stagingDir, extractsDir: ctx.config.extractsDir },
        { now: new Date(), dryRun: false, signal },
      )
      const counts: JobCounts = { archived: 0, destroyed: 0, heldBack: 0, errors: report.errors.length }
      for (const policy of report.policies) {
        const archived = Object.values(policy.archived).reduce((a, b) => a + b, 0)
        const destroyed = Object.values(policy.destroyed).reduce((a, b) => a + b, 0)
        counts.archived! += archived
        counts.destroyed! += destroyed
        counts.heldBack! += policy.heldBack
        metrics.retentionRows.inc({ policy: policy.id, action: 'archived' }, archived)
        metrics.retentionRows.inc({ policy: policy.id, action: 'destroyed' }, destroyed)
      }
      // A purge of the audit log is attested at once, not at the next periodic checkpoint.
      await checkpointAuditLog(ctx, 'retention')
      if (!report.ok) throw new Error(`retention finished with errors in: ${report.errors.map((e) => e.step).join(', ')}`)
      return counts
    },
  })
  jobs.push({
    // Signed checkpoints of the audit chain outside the database: a refused one (the chain no longer agrees with
    // the last checkpoint) is a failed run, visible in `passerelle runs` and job_runs.
    name: 'audit:checkpoint',
    schedule: ctx.config.audit.checkpointSchedule,
    run: async () => {
      const outcome = await writeAuditCheckpoint(ctx.db, ctx.keys.audit, ctx.config.audit, new Date())
      for (const restored of outcome.restored) ctx.log.warn({}, `audit checkpoint file repaired: ${restored}`)
      return { written: outcome.written ? 1 : 0, checkpoint: outcome.n, seq: outcome.seq }
    },
  })
  jobs.push(
    ...extractJobs(
      { db: ctx.db, log: ctx.log, env, sftp: ctx.config.sftp },
      declarations.purposes,
      { outDir: ctx.config.extractsDir, schedule: schedules.extracts },
    ),
  )
  return jobs
}

export function ingestCounts(outcomes: { status: string; accepted: number; rejected: number; code?: string | undefined }[]): JobCounts {
  return {
    files: outcomes.length,
    loaded: outcomes.filter((o) => o.status === 'loaded').length,
    rejected: outcomes.filter((o) => o.status === 'rejected').length,
    skipped: outcomes.filter((o) => o.status === 'skipped').length,
    recordsAccepted: outcomes.reduce((n, o) => n + (o.status === 'loaded' ? o.accepted : 0), 0),
    recordsRejected: outcomes.reduce((n, o) => n + (o.status === 'skipped' ? 0 : o.rejected), 0),
  }
}
