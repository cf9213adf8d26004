import path from 'node:path'
import type { Config } from '../config/config.ts'
import type { Db } from './db.ts'
import { openPglite } from './pglite.ts'
import { openPostgres } from './postgres.ts'

/** PostgreSQL when DATABASE_URL is set, otherwise the embedded PGlite persisted under the data directory. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<Db> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl)
  return openPglite(path.join(config.dataDir, 'pglite'))
}
