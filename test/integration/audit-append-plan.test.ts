import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Queryable } from '../../src/db/db.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'

/**
 * The chain's head, read by audit_append under the lock, by the primary key however much the log grew since the
 * connection first appended (migration 0233): PL/pgSQL keeps the plan it made then, and a plan made on a small log
 * scanned the whole log at every append.
 */
describe.skipIf(postgresUnavailable())('audit_append on a log grown since the connection first used it', () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())

  /** audit_append with an impossible head: it reads the head under the lock and answers it, appending nothing. */
  const head = async (c: Queryable) =>
    Number(
      (
        await c.query<{ head_seq: string }>(
          `select head_seq::text from audit_append(-1, '', '{}'::bigint[], '{}'::timestamptz[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::jsonb[], '{}'::text[], '{}'::text[])`,
        )
      ).rows[0]!.head_seq,
    )
  const seqScans = async (c: Queryable) => {
    await c.query('select pg_stat_force_next_flush()')
    await c.query('select pg_stat_clear_snapshot()')
    return Number((await c.query<{ n: string }>(`select seq_scan::text as n from pg_stat_user_tables where relname = 'audit_events'`)).rows[0]!.n)
  }

  // PGlite keeps no cumulative statistics to count the scans with (the migration applies to it all the same).
  it.skipIf(testBackend() === 'pglite')('reads the head without scanning the log', async () => {
    await t.db.session(async (c) => {
      await c.query('delete from audit_events')
      await c.query('analyze audit_events')
      expect(await head(c)).toBe(0)
      await c.query(
        `insert into audit_events (seq, occurred_at, action, outcome, details, prev_hash, hash, hash_version)
         select i, now(), 'api.test', 'granted', '{}', md5(i::text), md5((i + 1)::text), 2 from generate_series(1, 20000) i`,
      )
      const before = await seqScans(c)
      expect(await head(c)).toBe(20000)
      expect(await seqScans(c)).toBe(before)
    })
  })
})
