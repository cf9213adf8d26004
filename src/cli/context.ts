import { loadConfig, type Config } from '../config/config.ts'
import { loadKeys, type Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import { migrate } from '../db/migrate.ts'
import { openDatabase, type DatabaseRole } from '../db/open-database.ts'
import { log, type Logger } from '../log/logger.ts'

/** What a CLI command or the server needs: configuration, an open and migrated database, keys, a logger. */
export interface AppContext {
  config: Config
  db: Db
  keys: Keys
  log: Logger
  close(): Promise<void>
}

/**
 * `role`: `serve` owns the embedded database and shares it; a CLI command reaches a running `serve` through it
 * (see open-database.ts).
 */
export async function openContext(env: NodeJS.ProcessEnv = process.env, options: { role?: DatabaseRole } = {}): Promise<AppContext> {
  const config = loadConfig(env)
  log.level = config.logLevel
  const keys = loadKeys(config, (file) =>
    log.warn({ file }, 'no keys configured: generated embedded keys (set PASSERELLE_*_KEY for production)'),
  )
  const db = await openDatabase(config, { role: options.role ?? 'cli', onWait: sayWaiting })
  try {
    const { applied } = await migrate(db)
    if (applied.length > 0) log.info({ applied }, 'migrations applied')
  } catch (error) {
    await db.close()
    throw error
  }
  return { config, db, keys, log, close: () => db.close() }
}

/** Plain words on stderr (not a JSON log line): the operator is looking at this terminal. */
export function sayWaiting(message: string): void {
  process.stderr.write(`passerelle: ${message}\n`)
}
