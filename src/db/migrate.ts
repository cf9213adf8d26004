import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Db } from './db.ts'

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
const LOCK_KEY = 'passerelle:migrate'

export interface Migration {
  version: string
  name: string
  sql: string
  checksum: string
}

/** Forward-only migrations: `NNNN_name.sql`, applied in order, each in its own transaction. */
export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8')
      return {
        version: file.slice(0, 4),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      }
    })
}

/**
 * Applies pending migrations under an advisory lock, so two instances starting at once do not race.
 * Refuses to start when an applied migration was edited since (its checksum changed).
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<{ applied: string[] }> {
  const migrations = listMigrations(dir)
  return db.session(async (connection) => {
    await connection.query('select pg_advisory_lock(hashtextextended($1, 0))', [LOCK_KEY])
    try {
      await connection.exec(`
        create table if not exists schema_migrations (
          version text primary key,
          name text not null,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`)
      const { rows } = await connection.query<{ version: string; name: string; checksum: string }>(
        'select version, name, checksum from schema_migrations',
      )
      const done = new Map(rows.map((r) => [r.version, r]))
      const applied: string[] = []
      for (const migration of migrations) {
        const existing = done.get(migration.version)
        if (existing) {
          if (existing.checksum !== migration.checksum) {
            throw new Error(
              `migration ${migration.version}_${migration.name} was edited after it was applied; ` +
                'applied migrations are never edited: add a new one instead',
            )
          }
          continue
        }
        await connection.exec('begin')
        try {
          await connection.exec(migration.sql)
          await connection.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
            migration.version,
            migration.name,
            migration.checksum,
          ])
          await connection.exec('commit')
        } catch (error) {
          await connection.exec('rollback')
          throw new Error(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, {
            cause: error,
          })
        }
        applied.push(`${migration.version}_${migration.name}`)
      }
      return { applied }
    } finally {
      await connection.query('select pg_advisory_unlock(hashtextextended($1, 0))', [LOCK_KEY]).catch(() => {})
    }
  })
}

/** True when every known migration is applied (used by /readyz). */
export async function migrationsApplied(db: Db, dir = MIGRATIONS_DIR): Promise<boolean> {
  const { rows } = await db.query<{ version: string }>('select version from schema_migrations')
  const applied = new Set(rows.map((r) => r.version))
  return listMigrations(dir).every((m) => applied.has(m.version))
}
