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
  return db.session(async (connection) => {
    if (options.wait) {
      await connection.query('select pg_advisory_lock(hashtextextended($1, 0))', [name])
    } else {
      const { rows } = await connection.query<{ locked: boolean }>(
        'select pg_try_advisory_lock(hashtextextended($1, 0)) as locked',
        [name],
      )
      if (!rows[0]?.locked) return { acquired: false as const }
    }
    try {
      return { acquired: true as const, value: await fn() }
    } finally {
      await connection.query('select pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => {})
    }
  })
}
