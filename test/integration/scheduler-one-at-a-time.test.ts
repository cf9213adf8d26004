import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log/logger.ts'
import { startScheduler, type ScheduledJob } from '../../src/scheduler/start-scheduler.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

const log = createLogger({ level: 'silent' })
/** Never due during a test: jobs run only through runNow. */
const NEVER = '0 0 1 1 *'

/**
 * The jobs of one process run one at a time: each holds a pooled connection for its advisory lock while it works,
 * so jobs due together could otherwise hold the whole pool and wait on each other.
 */
describe.skipIf(postgresUnavailable())('scheduler', () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())

  it('runs jobs due together one after the other, in the order they came due, each with its own lock and run row', async () => {
    let active = 0
    let most = 0
    const order: string[] = []
    const job = (name: string): ScheduledJob => ({
      name,
      schedule: NEVER,
      run: async () => {
        active++
        most = Math.max(most, active)
        order.push(name)
        // Work that needs a connection besides the lock's, as an ingestion does.
        await t.db.transaction(async (tx) => tx.query('select pg_sleep(0.05)'))
        active--
        return { done: 1 }
      },
    })
    const names = ['ingest:a', 'ingest:b', 'ingest:c', 'retention', 'audit:checkpoint', 'extract:x']
    const scheduler = startScheduler({ db: t.db, log }, names.map(job))
    try {
      const results = await Promise.all(names.map((n) => scheduler.runNow(n)))
      expect(results.map((r) => r.outcome)).toEqual(names.map(() => 'succeeded'))
      expect(most).toBe(1)
      expect(order).toEqual(names)
      const { rows } = await t.db.query<{ job: string }>(`select job from job_runs where job = any($1) and outcome = 'succeeded' order by id`, [names])
      expect(rows.map((r) => r.job)).toEqual(names)
    } finally {
      await scheduler.stop()
    }
  })

  it('a failed job does not stop the queue, and jobs still queued when it stops are not started', async () => {
    const started: string[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const jobs: ScheduledJob[] = [
      { name: 'fails', schedule: NEVER, run: async () => { started.push('fails'); throw new Error('boom') } },
      { name: 'long', schedule: NEVER, run: async (signal) => { started.push('long'); await Promise.race([gate, new Promise((r) => signal.addEventListener('abort', r))]); return {} } },
      { name: 'queued', schedule: NEVER, run: async () => { started.push('queued'); return {} } },
    ]
    const scheduler = startScheduler({ db: t.db, log }, jobs)
    const failed = scheduler.runNow('fails')
    const long = scheduler.runNow('long')
    const queued = scheduler.runNow('queued')
    expect((await failed).outcome).toBe('failed')
    while (!started.includes('long')) await new Promise((r) => setTimeout(r, 5))
    await scheduler.stop()
    release()
    expect((await long).outcome).toBe('succeeded')
    expect(await queued).toMatchObject({ outcome: 'skipped', runId: undefined })
    expect(started).toEqual(['fails', 'long'])
  })
})
