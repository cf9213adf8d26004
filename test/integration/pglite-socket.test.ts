import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/db/db.ts'
import { listMigrations, migrate } from '../../src/db/migrate.ts'
import { socketUrl } from '../../src/db/open-database.ts'
import { openPglite, type PgliteDb } from '../../src/db/pglite.ts'
import { openPostgres } from '../../src/db/postgres.ts'
import { testBackend } from '../helpers/database.ts'

/**
 * The embedded database served on a Unix socket to other processes (here: `pg` clients in the same process,
 * which reach it exactly as a CLI process does). One backend for all: each transaction must run alone.
 */
describe.skipIf(testBackend() !== 'pglite')('the embedded database over its Unix socket', { timeout: 120_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-socket-'))
  const socketDir = path.join(work, 'socket')
  let owner: PgliteDb
  let client: Db
  const later = (ms: number) => new Promise((r) => setTimeout(r, ms))

  beforeAll(async () => {
    owner = await openPglite(path.join(work, 'pglite'), { socketDir })
    client = await openPostgres(socketUrl(socketDir), { max: 4, prepare: false })
  })
  afterAll(async () => {
    await client?.close()
    await owner?.close()
    rmSync(work, { recursive: true, force: true })
  })

  it('lets only its user connect: socket 0600 in a 0700 folder', () => {
    expect(statSync(socketDir).mode & 0o777).toBe(0o700)
    expect(statSync(owner.socketPath!).mode & 0o777).toBe(0o600)
  })

  it('applies the migrations through the socket, and the owner sees them', async () => {
    const { applied } = await migrate(client)
    expect(applied).toHaveLength(listMigrations().length)
    expect((await migrate(owner)).applied).toEqual([])
    await owner.exec('create table probe (id int primary key, side text not null)')
  })

  it('keeps a socket transaction whole: the owner waits for its end and never runs inside it', async () => {
    const events: string[] = []
    const remote = client.transaction(async (tx) => {
      await tx.query(`insert into probe values (1, 'client')`)
      events.push('client inserted')
      await later(400)
      await tx.query(`insert into probe values (2, 'client')`)
      events.push('client committing')
    })
    await later(150)
    // Issued while the client's transaction is open: runs after it, and not as part of it.
    const seen = owner.query<{ n: number }>('select count(*)::int as n from probe').then((r) => (events.push('owner read'), r.rows[0]!.n))
    await remote
    expect(await seen).toBe(2)
    expect(events).toEqual(['client inserted', 'client committing', 'owner read'])
  })

  it('rolls back a socket transaction that fails, leaving the owner unaffected', async () => {
    await expect(
      client.transaction(async (tx) => {
        await tx.query(`insert into probe values (3, 'client')`)
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    await owner.transaction(async (tx) => tx.query(`insert into probe values (4, 'owner')`))
    expect((await owner.query<{ id: number }>('select id from probe order by id')).rows.map((r) => r.id)).toEqual([1, 2, 4])
  })

  it('does not interleave two socket connections: a statement of one waits for the other one’s transaction', async () => {
    const a = new pg.Client({ connectionString: socketUrl(socketDir) })
    const b = new pg.Client({ connectionString: socketUrl(socketDir) })
    await a.connect()
    await b.connect()
    try {
      await a.query('begin')
      await a.query(`insert into probe values (5, 'a')`)
      let bDone = false
      const bInsert = b.query(`insert into probe values (6, 'b')`).then(() => (bDone = true))
      await later(300)
      expect(bDone).toBe(false)
      await a.query('rollback')
      await bInsert
      expect((await owner.query<{ id: number }>('select id from probe where id in (5, 6)')).rows.map((r) => r.id)).toEqual([6])
    } finally {
      await a.end()
      await b.end()
    }
  })

  it('rolls back the transaction of a connection that vanishes, and frees the database for the others', async () => {
    const dying = new pg.Client({ connectionString: socketUrl(socketDir) })
    dying.on('error', () => {})
    await dying.connect()
    await dying.query('begin')
    await dying.query(`insert into probe values (7, 'dying')`)
    ;(dying as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy()
    const rows = await owner.query<{ id: number }>('select id from probe where id = 7')
    expect(rows.rows).toEqual([])
    await client.query(`insert into probe values (8, 'client')`)
  })

  it('loads rows with COPY through the socket, whole or not at all inside a transaction', async () => {
    await client.exec('create table copied (id int primary key, label text)')
    expect(await client.copyRows('copied', ['id', 'label'], [[1, 'un'], [2, null], [3, 'tab\there']])).toBe(3)
    await expect(
      client.transaction(async (tx) => {
        await tx.copyRows('copied', ['id', 'label'], [[10, 'ok']])
        await tx.copyRows('copied', ['id', 'label'], [[1, 'duplicate key']])
      }),
    ).rejects.toThrow(/duplicate key/)
    const { rows } = await owner.query<{ id: number; label: string | null }>('select id, label from copied order by id')
    expect(rows).toEqual([
      { id: 1, label: 'un' },
      { id: 2, label: null },
      { id: 3, label: 'tab\there' },
    ])
  })

  it('ends its connections and removes the socket when the owner closes', async () => {
    const extra = await openPglite(path.join(work, 'second'), { socketDir: path.join(work, 'socket2') })
    const c = new pg.Client({ connectionString: socketUrl(path.join(work, 'socket2')) })
    c.on('error', () => {})
    await c.connect()
    await c.query('begin')
    await c.query('create table gone (id int)')
    await extra.close()
    await expect(c.query('commit')).rejects.toThrow()
    expect(() => statSync(extra.socketPath!)).toThrow()
    const reopened = await openPglite(path.join(work, 'second'))
    expect((await reopened.query(`select to_regclass('gone') as t`)).rows).toEqual([{ t: null }])
    await reopened.close()
  })
})
