import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withAdvisoryLock } from '../../src/db/advisory-lock.ts'
import { listMigrations, migrate, migrationsApplied } from '../../src/db/migrate.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

describe.skipIf(postgresUnavailable())('database layer', () => {
  let t: TestDatabase
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())

  it('applies every migration once and is a no-op the second time', async () => {
    expect(await migrationsApplied(t.db)).toBe(true)
    const again = await migrate(t.db)
    expect(again.applied).toEqual([])
    const { rows } = await t.db.query<{ n: number }>('select count(*)::int as n from schema_migrations')
    expect(rows[0]?.n).toBe(listMigrations().length)
  })

  it('keeps dates as YYYY-MM-DD strings and int8 as numbers on both backends', async () => {
    const { rows } = await t.db.query<{ d: string; n: number }>("select '2024-02-29'::date as d, 42::int8 as n")
    expect(rows[0]).toEqual({ d: '2024-02-29', n: 42 })
  })

  it('rolls a transaction back when it throws', async () => {
    await t.db.query('create table tx_probe (v text)')
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query('insert into tx_probe (v) values ($1)', ['a'])
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const { rows } = await t.db.query('select * from tx_probe')
    expect(rows).toEqual([])
  })

  it('copies rows with tabs, newlines, backslashes, nulls and bytes intact', async () => {
    await t.db.query('create table copy_probe (a text, b int, c boolean, d bytea, e date)')
    const tricky = 'tab\there\nnew line \\ backslash é'
    await t.db.transaction((tx) =>
      tx.copyRows('copy_probe', ['a', 'b', 'c', 'd', 'e'], [
        [tricky, 1, true, Buffer.from([0, 255, 10]), '2020-01-31'],
        [null, null, null, null, null],
      ]),
    )
    const { rows } = await t.db.query<{ a: string | null; d: Uint8Array | null }>('select a, d from copy_probe order by b nulls last')
    expect(rows[0]?.a).toBe(tricky)
    expect(Buffer.from(rows[0]!.d!)).toEqual(Buffer.from([0, 255, 10]))
    expect(rows[1]?.a).toBeNull()
  })

  it('backs every foreign key whose parent rows get deleted with a full index on its columns', async () => {
    // On delete cascade / set null, PostgreSQL looks the key up once per deleted parent row (a person, a dossier):
    // without an index, or with only a partial one, each lookup is a sequential scan of the child table.
    const { rows } = await t.db.query<{ key: string }>(
      `select c.conrelid::regclass::text || '.' || c.conname as key
       from pg_constraint c
       where c.contype = 'f'
         and c.confdeltype in ('c', 'n', 'd')
         and not exists (
           select 1
           from pg_index i
           where i.indrelid = c.conrelid
             and i.indpred is null
             and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
             and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey
         )
       order by 1`,
    )
    expect(rows.map((r) => r.key)).toEqual([])
  })

  it('grants an advisory lock to one holder at a time', async () => {
    const outer = await withAdvisoryLock(t.db, 'probe', async () => {
      if (t.db.backend === 'pglite') return 'held' // one embedded connection: locks are re-entrant within it
      const inner = await withAdvisoryLock(t.db, 'probe', async () => 'second')
      expect(inner.acquired).toBe(false)
      return 'held'
    })
    expect(outer).toEqual({ acquired: true, value: 'held' })
  })
})
