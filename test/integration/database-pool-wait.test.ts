import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DatabaseError } from '../../src/db/database-error.ts'
import { ConnectionWaitError, openPostgres } from '../../src/db/postgres.ts'
import type { Db } from '../../src/db/db.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'

/**
 * A call that finds every pooled connection busy waits at most PASSERELLE_DB_WAIT_SECONDS, then fails naming the
 * cause. Before, it waited for ever: the retention run that took one connection per flow lock hung CI for 60 s per
 * test on a pool of five (2026-12-06), with nothing in any log.
 */
describe.skipIf(testBackend() !== 'postgres' || postgresUnavailable())('a full pool makes a call fail, not hang (postgres)', () => {
  let t: TestDatabase
  let small: Db
  beforeAll(async () => {
    t = await createTestDatabase({ migrate: false })
    small = await openPostgres(t.url!, { max: 1, waitMs: 300 })
  })
  afterAll(async () => {
    await small?.close()
    await t?.drop()
  })

  /** Holds the pool's one connection until `release` is called. */
  function holdTheConnection(db: Db = small): { held: Promise<void>; release: () => void; done: Promise<unknown> } {
    let release!: () => void
    let taken!: () => void
    const held = new Promise<void>((resolve) => (taken = resolve))
    const done = db.session(async (s) => {
      await s.query('select 1')
      taken()
      await new Promise<void>((resolve) => (release = resolve))
    })
    return { held, release: () => release(), done }
  }

  it('a query, a transaction, a session and a COPY each fail after the wait, naming it; the pool serves again once freed', async () => {
    const holder = holdTheConnection()
    await holder.held
    const started = Date.now()
    const query = await small.query('select 1').catch((e: unknown) => e)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(Date.now() - started).toBeLessThan(5_000)
    // A query names itself as every failing query does (DatabaseError); the others fail before any query.
    expect(query).toBeInstanceOf(DatabaseError)
    const failures = [
      query,
      await small.transaction(async (tx) => tx.query('select 1')).catch((e: unknown) => e),
      await small.session(async (s) => s.query('select 1')).catch((e: unknown) => e),
      await small.copyRows('nothing', ['a'], [['x']]).catch((e: unknown) => e),
    ]
    for (const failure of failures) {
      expect(failure instanceof DatabaseError || failure instanceof ConnectionWaitError).toBe(true)
      expect((failure as { code: string }).code).toBe('connection_wait')
      expect((failure as Error).message).toMatch(/no database connection within 0\.3 s: the pool's 1 connections stayed busy, or the server did not answer \(PASSERELLE_DB_WAIT_SECONDS\)/)
    }
    holder.release()
    await holder.done
    const { rows } = await small.query<{ one: number }>('select 1 as one')
    expect(rows).toEqual([{ one: 1 }])
  })

  it('a call waiting in the queue gets the connection when it is freed within the wait', async () => {
    const longer = await openPostgres(t.url!, { max: 1, waitMs: 5_000 })
    try {
      const holder = holdTheConnection(longer)
      await holder.held
      const waiting = longer.query<{ one: number }>('select 1 as one')
      setTimeout(() => holder.release(), 200)
      expect((await waiting).rows).toEqual([{ one: 1 }])
      await holder.done
    } finally {
      await longer.close()
    }
  })
})

/**
 * A checked-out connection losing its server while idle (a failover; here its backend terminated, as happened to
 * the connection holding a job's advisory lock) must not kill the process with an unhandled 'error' event: the
 * session or transaction fails, or ends, and the pool serves again.
 */
describe.skipIf(testBackend() !== 'postgres' || postgresUnavailable())('a held connection lost while idle (postgres)', () => {
  let t: TestDatabase
  let db: Db
  beforeAll(async () => {
    t = await createTestDatabase({ migrate: false })
    db = await openPostgres(t.url!, { max: 2, waitMs: 5_000 })
  })
  afterAll(async () => {
    await db?.close()
    await t?.drop()
  })

  const terminate = (pid: number) => t.db.query('select pg_terminate_backend($1)', [pid])
  const idle = () => new Promise((r) => setTimeout(r, 300))

  it('in a session (an advisory lock held across HTTP calls): the next query fails, nothing crashes, the pool serves again', async () => {
    const outcome = await db
      .session(async (s) => {
        const { rows } = await s.query<{ pid: number }>('select pg_backend_pid() as pid')
        await terminate(rows[0]!.pid)
        await idle()
        await s.query('select 1')
        return 'still connected'
      })
      .then(
        (v) => v,
        (e: unknown) => (e as Error).name,
      )
    expect(outcome).toBe('DatabaseError')
    expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
  })

  it('in a transaction: it fails, nothing crashes, the pool serves again', async () => {
    const outcome = await db
      .transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('select pg_backend_pid() as pid')
        await terminate(rows[0]!.pid)
        await idle()
        return 'committed'
      })
      .then(
        (v) => v,
        (e: unknown) => (e as Error).name,
      )
    expect(outcome).not.toBe('committed')
    expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }])
  })
})
