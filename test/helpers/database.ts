import { randomBytes } from 'node:crypto'
import path from 'node:path'
import pg from 'pg'
import { inject } from 'vitest'
import { useAuditKeys } from '../../src/audit/audit-keys.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import { migrate } from '../../src/db/migrate.ts'
import { openPglite } from '../../src/db/pglite.ts'
import { openPostgres } from '../../src/db/postgres.ts'

export type TestBackend = 'postgres' | 'pglite'

export function testBackend(): TestBackend {
  return process.env.PASSERELLE_TEST_BACKEND === 'postgres' ? 'postgres' : 'pglite'
}

/** True when this project targets PostgreSQL and none is reachable: the file should `describe.skipIf(...)`. */
export function postgresUnavailable(): boolean {
  return testBackend() === 'postgres' && !inject('postgresUrl')
}

export interface TestDatabase {
  db: Db
  /** Set for the postgres backend: a URL to the fresh database, for child processes. */
  url: string | undefined
  drop(): Promise<void>
}

/**
 * A fresh, migrated database for one test file: a new database on the real PostgreSQL, or a new in-memory PGlite.
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  // The audit log's keys, as openContext installs them (the same test keys the CLI child processes are given).
  useAuditKeys(testKeys().audit)
  let result: TestDatabase
  if (testBackend() === 'postgres') {
    const adminUrl = inject('postgresUrl')
    if (!adminUrl) throw new Error('PostgreSQL is not reachable: guard the suite with postgresUnavailable()')
    const name = `passerelle_t_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`create database ${name}`)
    await admin.end()
    const u = new URL(adminUrl)
    u.pathname = `/${name}`
    const url = u.toString()
    const db = await openPostgres(url, { max: 5 })
    result = {
      db,
      url,
      async drop() {
        await db.close().catch(() => {})
        const c = new pg.Client({ connectionString: adminUrl })
        await c.connect()
        await c.query(`drop database if exists ${name} with (force)`)
        await c.end()
      },
    }
  } else {
    const db = await openPglite(undefined)
    result = { db, url: undefined, drop: () => db.close() }
  }
  if (options.migrate !== false) await migrate(result.db)
  return result
}

/**
 * The database that `passerelle` child processes of a CLI test use, seeded by `seed` first: a fresh PostgreSQL
 * database (its URL put in `env.DATABASE_URL`), or the embedded PGlite under `env.PASSERELLE_DATA_DIR`, closed
 * after seeding since one process at a time may hold it. Returns the PostgreSQL database to drop, if any.
 */
export async function seedCliTestDatabase(env: Record<string, string>, seed: (db: Db) => Promise<unknown>): Promise<TestDatabase | undefined> {
  if (testBackend() === 'postgres') {
    const t = await createTestDatabase()
    env.DATABASE_URL = t.url!
    await seed(t.db)
    return t
  }
  useAuditKeys(testKeys().audit)
  const db = await openPglite(path.join(env.PASSERELLE_DATA_DIR!, 'pglite'))
  try {
    await migrate(db)
    await seed(db)
  } finally {
    await db.close()
  }
  return undefined
}

/**
 * Reads the database of CLI child processes between two commands: the PostgreSQL test database when there is one,
 * otherwise the embedded PGlite of `dataDir`, opened and closed again (its folder admits one process at a time).
 */
export async function inspectCliDatabase<T>(t: TestDatabase | undefined, dataDir: string, fn: (db: Db) => Promise<T>): Promise<T> {
  if (t) return fn(t.db)
  const db = await openPglite(path.join(dataDir, 'pglite'))
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}
