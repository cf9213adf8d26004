import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Queryable } from '../../src/db/db.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * PL/pgSQL keeps the plan it made at a function's first call on a connection: made on a small table, a lookup by key
 * was a sequential scan, kept as the table grew (until an ANALYZE, which PGlite never runs). The chain's head read by
 * audit_append (migration 0233) and the archived person looked up at each insert into persons (0234) go by their
 * index however much the table grew since.
 */
describe.skipIf(postgresUnavailable())('lookups in functions on tables grown since the connection first called them', () => {
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

  it('reads the head without scanning the log', async () => {
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

  it('looks archived persons up by match key at each insert into persons', async () => {
    await t.db.session(async (c) => {
      const { rows } = await c.query<{ id: string }>(`insert into files (flow_id, name, size, sha256, status, source, started_at) values ('caf-beneficiaires', 'plan.xml', 1, repeat('0', 64), 'loaded', 'local', now()) returning id::text`)
      const fileId = rows[0]!.id
      const insertPerson = (key: string) => c.query(`insert into persons (match_key, file_id, transmitted_at) values ($1, $2, now())`, [key, fileId])
      // The archive analysed while empty (as retention's destroy step analyses it), then more than five calls:
      // PL/pgSQL then settles on the plan it keeps.
      await c.query('analyze archive.persons')
      for (let i = 0; i < 10; i++) await insertPerson(`plan-first-${i}`)
      await c.query(
        `insert into archive.persons (id, public_id, policy_id, match_key, file_id, transmitted_at, anchor_day, archived_at)
         select 1000000 + i, gen_random_uuid(), 'rsa-beneficiaires', 'archived-' || i, $1, now(), current_date, now() from generate_series(1, 20000) i`,
        [fileId],
      )
      const scans = async () => {
        await c.query('select pg_stat_force_next_flush()')
        await c.query('select pg_stat_clear_snapshot()')
        return Number((await c.query<{ n: string }>(`select seq_scan::text as n from pg_stat_all_tables where schemaname = 'archive' and relname = 'persons'`)).rows[0]!.n)
      }
      const before = await scans()
      for (let i = 0; i < 8; i++) await insertPerson(`plan-next-${i}`)
      expect(await scans()).toBe(before)
    })
  })
})
