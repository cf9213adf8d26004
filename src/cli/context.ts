import { useAuditKeys } from '../audit/audit-keys.ts'
import { auditHeadSeq, checkpointAuditLog } from '../audit/write-checkpoint.ts'
import { loadConfig, type Config } from '../config/config.ts'
import { loadKeys, type Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import { migrate } from '../db/migrate.ts'
import { openDatabase } from '../db/open-database.ts'
import { log, type Logger } from '../log/logger.ts'

/** What a CLI command or the server needs: configuration, an open and migrated database, keys, a logger. */
export interface AppContext {
  config: Config
  db: Db
  keys: Keys
  log: Logger
  close(): Promise<void>
}

export async function openContext(env: NodeJS.ProcessEnv = process.env): Promise<AppContext> {
  const config = loadConfig(env)
  log.level = config.logLevel
  const keys = loadKeys(config, (file) =>
    log.warn({ file }, 'no keys configured: generated embedded keys (set PASSERELLE_*_KEY for production)'),
  )
  useAuditKeys(keys.audit)
  const db = await openDatabase(config)
  let headAtOpen: number
  try {
    const { applied } = await migrate(db)
    if (applied.length > 0) log.info({ applied }, 'migrations applied')
    headAtOpen = await auditHeadSeq(db)
  } catch (error) {
    await db.close()
    throw error
  }
  const ctx: AppContext = {
    config,
    db,
    keys,
    log,
    // A command that appended audit events ends with a signed checkpoint outside the database (serve's final one).
    async close() {
      try {
        if ((await auditHeadSeq(db)) !== headAtOpen) await checkpointAuditLog(ctx, 'close')
      } catch (error) {
        log.error({ err: { name: (error as Error).name } }, 'audit checkpoint not written')
      } finally {
        await db.close()
      }
    },
  }
  return ctx
}
