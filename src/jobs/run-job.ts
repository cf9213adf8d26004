import type { Db } from '../db/db.ts'
import { withAdvisoryLock, type LockOptions } from '../db/advisory-lock.ts'
import type { Logger } from '../log/logger.ts'
import { metrics } from '../metrics/metrics.ts'

export type JobCounts = Record<string, number>

export interface JobResult {
  job: string
  runId: number | undefined
  outcome: 'succeeded' | 'failed' | 'skipped'
  counts: JobCounts
  error: string | undefined
}

/**
 * Runs one job exclusively across instances (a PostgreSQL advisory lock named after the job) and records the run
 * in `job_runs` (start, end, outcome, counts). A job never crashes the process: a failure is caught, logged with
 * its scope and recorded. When another instance holds the lock the run is recorded as skipped. `work` gets a signal
 * that aborts if the lock is lost while it runs (LockLostError): a job stops at its next checkpoint, and a run that
 * lost its lock is recorded as failed even if it finished.
 */
export async function runJob(
  deps: { db: Db; log: Logger },
  job: string,
  work: (lockLost: AbortSignal) => Promise<JobCounts>,
  options: LockOptions = {},
): Promise<JobResult> {
  const started = performance.now()
  let runId: number | undefined
  let lockSignal: AbortSignal | undefined
  try {
    const locked = await withAdvisoryLock(deps.db, `job:${job}`, async (lockLost) => {
      lockSignal = lockLost
      const { rows } = await deps.db.query<{ id: number }>(
        `insert into job_runs (job, outcome)
         values ($1, 'running')
         returning id`,
        [job],
      )
      runId = rows[0]!.id
      const counts = await work(lockLost)
      // Finished, but not all of it under the lock: recorded as failed, so that the operator sees it.
      lockLost.throwIfAborted()
      return counts
    }, options)
    if (!locked.acquired) {
      deps.log.info({ job }, 'job skipped: another instance is running it')
      return { job, runId: undefined, outcome: 'skipped', counts: {}, error: undefined }
    }
    await deps.db.query(
      `update job_runs
       set finished_at = now(), outcome = 'succeeded', counts = $2
       where id = $1`,
      [runId, JSON.stringify(locked.value)],
    )
    const seconds = (performance.now() - started) / 1000
    metrics.jobDuration.observe({ job, outcome: 'succeeded' }, seconds)
    metrics.jobLastSuccess.set({ job }, Date.now() / 1000)
    deps.log.info({ job, runId, counts: locked.value, seconds }, 'job succeeded')
    return { job, runId, outcome: 'succeeded', counts: locked.value, error: undefined }
  } catch (thrown) {
    // A job stopped by its lost lock may fail with an AbortError of its own (a stream destroyed by the signal): the
    // run says why it stopped.
    const error = lockSignal?.aborted ? lockSignal.reason : thrown
    const message = (error as Error).message
    metrics.jobDuration.observe({ job, outcome: 'failed' }, (performance.now() - started) / 1000)
    deps.log.error({ job, runId, err: { message, name: (error as Error).name } }, 'job failed')
    if (runId !== undefined) {
      await deps.db
        .query(
          `update job_runs
           set finished_at = now(), outcome = 'failed', error = $2
           where id = $1`,
          [runId, message.slice(0, 2000)],
        )
        .catch(() => {})
    }
    return { job, runId, outcome: 'failed', counts: {}, error: message }
  }
}
