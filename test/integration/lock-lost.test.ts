import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LockLostError, withAdvisoryLock } from '../../src/db/advisory-lock.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { ingestFile } from '../../src/ingestion/ingest-file.ts'
import { runJob } from '../../src/jobs/run-job.ts'
import { createLogger } from '../../src/log/logger.ts'
import { runRetention } from '../../src/retention/run-retention.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { pullDeps, shippedDeclarations } from '../helpers/ingest.ts'

/**
 * A job's advisory lock lives as long as the database session holding it. When that session ends while the job
 * works (a DBA's pg_terminate_backend, an idle-session timeout, a failover), another instance may take the lock: the
 * job must learn it and stop at its next checkpoint, its run recorded as failed, instead of finishing unguarded.
 */
describe.skipIf(postgresUnavailable())('a job whose lock is lost', () => {
  let t: TestDatabase
  const log = createLogger({ level: 'silent' })
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-lock-lost-'))
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  /** Ends the session holding the advisory lock `name` (as a DBA would), from another connection. */
  async function terminateHolder(name: string): Promise<void> {
    const { rows } = await t.db.query<{ ended: boolean }>(
      `select pg_terminate_backend(l.pid) as ended
       from pg_locks l
       where l.locktype = 'advisory' and l.granted
         and ((l.classid::bigint << 32) | l.objid::bigint) = (hashtextextended($1, 0) & x'ffffffffffffffff'::bigint)`,
      [name],
    )
    expect(rows.map((r) => r.ended)).toEqual([true])
  }

  it.skipIf(testBackend() === 'pglite')('stops the work, records the run failed (lock_lost), and frees the lock for the next run', async () => {
    let sawReason: unknown
    const result = await runJob(
      { db: t.db, log },
      'probe-lost',
      async (lockLost) => {
        await terminateHolder('job:probe-lost')
        await new Promise<void>((resolve, reject) => {
          const timeout = setTimeout(() => reject(new Error('the job was never told its lock was lost')), 10_000)
          lockLost.addEventListener('abort', () => {
            clearTimeout(timeout)
            sawReason = lockLost.reason
            resolve()
          })
        })
        lockLost.throwIfAborted()
        return { done: 1 }
      },
      { checkMs: 50 },
    )
    expect(sawReason).toBeInstanceOf(LockLostError)
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/lost the advisory lock "job:probe-lost".*rule lock_lost/) })
    const { rows } = await t.db.query<{ outcome: string; error: string }>('select outcome, error from job_runs where id = $1', [result.runId])
    expect(rows[0]).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/lock_lost/) })
    // The next run takes the lock.
    expect(await runJob({ db: t.db, log }, 'probe-lost', async () => ({ done: 1 }), { checkMs: 50 })).toMatchObject({ outcome: 'succeeded' })
  })

  it.skipIf(testBackend() === 'pglite')('records as failed a run that finished after losing its lock', async () => {
    const result = await runJob(
      { db: t.db, log },
      'probe-late',
      async () => {
        await terminateHolder('job:probe-late')
        await new Promise((resolve) => setTimeout(resolve, 300))
        return { done: 1 }
      },
      { checkMs: 50 },
    )
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/lock_lost/) })
  })

  it('keeps a lock whose session answers: a long job, or a long transaction on the embedded backend, is not stopped', async () => {
    const locked = await withAdvisoryLock(
      t.db,
      'probe-kept',
      async (lockLost) => {
        await new Promise((resolve) => setTimeout(resolve, 600))
        // On the embedded backend the checks wait for this transaction: waiting is not a lost session.
        await t.db.transaction(async (tx) => {
          await tx.query('select 1')
          await new Promise((resolve) => setTimeout(resolve, 700))
        })
        return lockLost.aborted
      },
      // Each check has a whole interval to answer: wide enough for a loaded CI machine, several checks per run.
      { checkMs: 200 },
    )
    expect(locked).toEqual({ acquired: true, value: false })
  })

  it('rolls a file back, unrecorded and unanswered, when its lock is lost mid-read: not a rejection', async () => {
    const caf = shippedDeclarations().flows.get('caf-beneficiaires')!
    const file = path.join(work, cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-10-01' }))
    await writeCnafFile(file, { flow: 'caf', dtcreaflux: '2026-10-01', typeflux: 'M', seed: 7, foyers: 3000 })
    const lost = new AbortController()
    let batches = 0
    const load = ingestFile(pullDeps(t.db, undefined), caf, { path: file, name: path.basename(file), source: 'local', modifiedAt: new Date() }, {
      signal: lost.signal,
      onProgress: () => {
        if (++batches === 1) lost.abort(new LockLostError(['job:ingest:caf-beneficiaires']))
      },
    })
    // The reader stops with the signal's reason, or with an AbortError carrying it (a stream destroyed by the signal).
    const error = (await load.catch((e: unknown) => e)) as Error
    expect(error instanceof LockLostError || error.cause instanceof LockLostError, String(error)).toBe(true)
    expect(batches).toBeGreaterThanOrEqual(1)
    const { rows } = await t.db.query<{ files: number; dossiers: number }>('select (select count(*)::int from files) as files, (select count(*)::int from dossiers) as dossiers')
    expect(rows[0]).toEqual({ files: 0, dossiers: 0 })
    // The next run loads it whole.
    expect(await ingestFile(pullDeps(t.db, undefined), caf, { path: file, name: path.basename(file), source: 'local', modifiedAt: new Date() })).toMatchObject({ status: 'loaded', accepted: 3000 })
  })

  it('stops a retention run before its next step or chunk, each step left reported as not done', async () => {
    const lost = new AbortController()
    lost.abort(new LockLostError(['job:retention']))
    const report = await runRetention({ db: t.db, keys: pullDeps(t.db, undefined).keys, log, declarations: shippedDeclarations() }, { now: new Date('2026-12-01T12:00:00Z'), dryRun: false, signal: lost.signal })
    expect(report.ok).toBe(false)
    expect(report.errors.length).toBeGreaterThan(0)
    for (const e of report.errors) expect(e.message).toMatch(/^not started: lost the advisory lock "job:retention"/)
  })
})
