import type { Db } from './db.ts'

/**
 * Runs `fn` while holding a session-level PostgreSQL advisory lock named `name`, so that work is exclusive
 * across instances sharing one database. With `wait: false` (the default for scheduled jobs) it returns
 * `{ acquired: false }` at once when another instance holds the lock.
 */
export async function withAdvisoryLock<T>(
  db: Db,
  name: string,
  fn: () => Promise<T>,
  options: { wait?: boolean } = {},
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  if (!options.wait) {
    const locked = await withAdvisoryLocks(db, [name], fn)
    return locked.acquired ? locked : { acquired: false }
  }
  return db.session(async (connection) => {
    await connection.query('select pg_advisory_lock(hashtextextended($1, 0))', [name])
    try {
      return { acquired: true as const, value: await fn() }
    } finally {
      await connection.query('select pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => {})
    }
  })
}

/**
 * Runs `fn` holding every lock of `names` (try, no wait), all on **one** connection: a connection per lock would
 * let a caller with many locks (retention takes one per flow of a policy) exhaust the pool before `fn` could get one
 * to work with. When one is held elsewhere, the locks already taken are released and `busy` names it.
 */
export async function withAdvisoryLocks<T>(
  db: Db,
  names: readonly string[],
  fn: () => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false; busy: string }> {
  if (names.length === 0) return { acquired: true, value: await fn() }
  return db.session(async (connection) => {
    const held: string[] = []
    try {
      for (const name of names) {
        const { rows } = await connection.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as locked', [name])
        if (!rows[0]?.locked) return { acquired: false as const, busy: name }
        held.push(name)
      }
      return { acquired: true as const, value: await fn() }
    } finally {
      for (const name of held.reverse()) {
        await connection.query('select pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => {})
      }
    }
  })
}
