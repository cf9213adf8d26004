import cron, { type ScheduledTask } from 'node-cron'
import type { Db } from '../db/db.ts'
import { runJob, type JobCounts, type JobResult } from '../jobs/run-job.ts'
import type { Logger } from '../log/logger.ts'

export interface ScheduledJob {
  /** Job name, also the advisory lock name: `ingest:caf-beneficiaires`, `retention`, `extract:statistiques:drees`. */
  name: string
  /** node-cron expression (5 fields, or 6 with seconds), Europe/Paris time. */
  schedule: string
  run: (signal: AbortSignal) => Promise<JobCounts>
}

export interface Scheduler {
  readonly running: boolean
  readonly jobs: readonly { name: string; schedule: string; nextRun: Date | null }[]
  /** Runs one job now (the first-run cycle, or an operator's request), with the same lock and recording. */
  runNow(name: string): Promise<JobResult>
  /** Stops taking jobs, aborts the running ones (their file rolls back) and waits for them to finish. */
  stop(): Promise<void>
}

/**
 * Schedules each job with node-cron (Europe/Paris) and runs it through `runJob` (advisory lock across instances,
 * recorded in job_runs, never crashes the process). Jobs of this process run **one at a time**, in the order they
 * came due: each holds a pooled connection for its advisory lock while it works and needs others to work with, so
 * jobs due on the same minute could otherwise hold every connection of the pool and wait on each other for ever.
 */
export function startScheduler(deps: { db: Db; log: Logger }, jobs: readonly ScheduledJob[]): Scheduler {
  for (const job of jobs) {
    if (!cron.validate(job.schedule)) throw new Error(`job "${job.name}": invalid cron schedule "${job.schedule}"`)
  }
  const abort = new AbortController()
  const inFlight = new Set<Promise<JobResult>>()
  let running = true
  /** The end of the last job queued: the next one starts after it. */
  let queue: Promise<unknown> = Promise.resolve()
  const execute = (job: ScheduledJob): Promise<JobResult> => {
    const p = queue.then((): Promise<JobResult> | JobResult => {
      // The job stops on either: the scheduler stopping, or its lock lost (another instance may be running it).
      if (running) return runJob(deps, job.name, (lockLost) => job.run(AbortSignal.any([abort.signal, lockLost])))
      deps.log.info({ job: job.name }, 'job not started: the scheduler is stopping')
      return { job: job.name, runId: undefined, outcome: 'skipped', counts: {}, error: undefined }
    })
    queue = p.catch(() => {})
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
    return p
  }
  const tasks = new Map<string, ScheduledTask>()
  for (const job of jobs) {
    tasks.set(
      job.name,
      cron.schedule(
        job.schedule,
        async () => {
          if (!running) return
          await execute(job)
        },
        { name: job.name, noOverlap: true, timezone: 'Europe/Paris' },
      ),
    )
  }
  deps.log.info({ jobs: jobs.map((j) => ({ name: j.name, schedule: j.schedule })) }, 'scheduler started')
  return {
    get running() {
      return running
    },
    get jobs() {
      return jobs.map((j) => ({ name: j.name, schedule: j.schedule, nextRun: tasks.get(j.name)?.getNextRun() ?? null }))
    },
    async runNow(name) {
      const job = jobs.find((j) => j.name === name)
      if (!job) throw new Error(`unknown job "${name}" (known: ${jobs.map((j) => j.name).join(', ')})`)
      return execute(job)
    },
    async stop() {
      running = false
      for (const task of tasks.values()) await task.destroy()
      abort.abort()
      await Promise.allSettled([...inFlight])
      deps.log.info({}, 'scheduler stopped')
    },
  }
}
