import type { Db, Queryable } from './db.ts'

/**
 * The session holding a job's advisory lock ended while the job worked (the backend was terminated, the server
 * restarted, the network dropped): the lock is gone, and another instance may now take it. The job is told through
 * the signal its lock hands it, stops at its next checkpoint (a file rolls back; retention stops before its next
 * chunk), and its run is recorded as failed with this message. What it committed before stays.
 */
export class LockLostError extends Error {
  override readonly name = 'LockLostError'
  readonly code = 'lock_lost'
  constructor(names: readonly string[]) {
    super(`lost the advisory lock ${names.map((n) => `"${n}"`).join(', ')}: its database session ended while the work ran (rule lock_lost); the work stopped at its next checkpoint, what it had committed stays, the rest runs next time`)
  }
}

/** How often a held lock's session is checked (ms): a check not answered by the next one counts as the lock lost. */
export const LOCK_CHECK_MS = 10_000

export interface LockOptions {
  /** Check interval of the lock's session (ms, default LOCK_CHECK_MS). */
  checkMs?: number
}

/**
 * Watches the session holding `names`: the signal aborts (reason: LockLostError) when a check of the session fails,
 * or, on a server of its own, goes unanswered for a whole interval (a server may keep a backend whose client is cut
 * off for hours; on a shared embedded backend a check rightly waits for another connection's transaction).
 * Session-level advisory locks last as long as their session, so a session that still answers still holds them.
 */
function watchLock(db: Db, connection: Queryable, names: readonly string[], checkMs: number): { signal: AbortSignal; stop(): void } {
  const lost = new AbortController()
  let pending = false
  const timer = setInterval(() => {
    if (lost.signal.aborted) return
    if (pending) {
      if (!db.sharedBackend) lost.abort(new LockLostError(names))
      return
    }
    pending = true
    connection.query('select 1').then(
      () => {
        pending = false
      },
      () => lost.abort(new LockLostError(names)),
    )
  }, checkMs)
  timer.unref()
  return { signal: lost.signal, stop: () => clearInterval(timer) }
}

/**
 * Runs `fn` while holding a session-level PostgreSQL advisory lock named `name`, so that work is exclusive
 * across instances sharing one database. With `wait: false` (the default for scheduled jobs) it returns
 * `{ acquired: false }` at once when another instance holds the lock. `fn` gets a signal that aborts if the lock is
 * lost while it runs (LockLostError).
 */
export async function withAdvisoryLock<T>(
  db: Db,
  name: string,
  fn: (lost: AbortSignal) => Promise<T>,
  options: { wait?: boolean } & LockOptions = {},
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  if (!options.wait) {
    const locked = await withAdvisoryLocks(db, [name], fn, options)
    return locked.acquired ? locked : { acquired: false }
  }
  return db.session(async (connection) => {
    await connection.query('select pg_advisory_lock(hashtextextended($1, 0))', [name])
    const watch = watchLock(db, connection, [name], options.checkMs ?? LOCK_CHECK_MS)
    try {
      return { acquired: true as const, value: await fn(watch.signal) }
    } finally {
      watch.stop()
      // A lost session holds nothing to unlock (and may never answer); the connection is destroyed either way.
      if (!watch.signal.aborted) await connection.query('select pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => {})
    }
  })
}

/**
 * Runs `fn` holding every lock of `names` (try, no wait), all on **one** connection: a connection per lock would
 * let a caller with many locks (retention takes one per flow of a policy) exhaust the pool before `fn` could get one
 * to work with. When one is held elsewhere, the locks already taken are released and `busy` names it. `fn` gets a
 * signal that aborts if the locks are lost while it runs (LockLostError).
 */
export async function withAdvisoryLocks<T>(
  db: Db,
  names: readonly string[],
  fn: (lost: AbortSignal) => Promise<T>,
  options: LockOptions = {},
): Promise<{ acquired: true; value: T } | { acquired: false; busy: string }> {
  if (names.length === 0) return { acquired: true, value: await fn(new AbortController().signal) }
  return db.session(async (connection) => {
    const held: string[] = []
    let watch: ReturnType<typeof watchLock> | undefined
    try {
      for (const name of names) {
        const { rows } = await connection.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as locked', [name])
        if (!rows[0]?.locked) return { acquired: false as const, busy: name }
        held.push(name)
      }
      watch = watchLock(db, connection, names, options.checkMs ?? LOCK_CHECK_MS)
      return { acquired: true as const, value: await fn(watch.signal) }
    } finally {
      watch?.stop()
      for (const name of watch?.signal.aborted ? [] : held.reverse()) {
        await connection.query('select pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => {})
      }
    }
  })
}
