import { userInfo } from 'node:os'
import { useAuditKeys } from '../audit/audit-keys.ts'
import { auditHeadSeq, checkpointAuditLog } from '../audit/write-checkpoint.ts'
import type { Config } from '../config/config.ts'
import { loadDeclarations, type Declarations } from '../declarations/load-declarations.ts'
import { loadKeys, type Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import { migrate } from '../db/migrate.ts'
import { openDatabase, type DatabaseRole } from '../db/open-database.ts'
import { log, type Logger } from '../log/logger.ts'
import { setLogFormat } from '../log/log-output.ts'
import { parisTime } from './format/paris-time.ts'

/** What a CLI command or the server needs: configuration, an open and migrated database, keys, a logger. */
export interface AppContext {
  config: Config
  db: Db
  keys: Keys
  log: Logger
  close(): Promise<void>
}

let parsedConfig: Config | undefined
let loadedDeclarations: Declarations | undefined

/**
 * The configuration of this CLI run, parsed and validated once by the entry point (`main`, before the command's
 * action and before any I/O: a bad setting has already exited 78 when a command runs).
 */
export function cliConfig(): Config {
  if (!parsedConfig) throw new Error('the configuration was not parsed by the entry point (bug: call useConfig first)')
  return parsedConfig
}

/** Called once by the entry point with the validated configuration; applies its log level. */
export function useConfig(config: Config): void {
  parsedConfig = config
  log.level = config.logLevel
  // Pretty lines for a person at a terminal, JSON lines for anything else (LOG_FORMAT forces one).
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stderr.isTTY === true)
  setLogFormat(pretty ? 'pretty' : 'json', { colorize: process.stderr.isTTY === true, formatTime: parisTime })
}

/**
 * The declarations of this CLI run, read and cross-checked once (on first use, by the commands that need them): a
 * DeclarationError (every problem `passerelle check` reports) makes the entry point exit 78, like a bad setting.
 */
export function cliDeclarations(): Declarations {
  loadedDeclarations ??= loadDeclarations(cliConfig())
  return loadedDeclarations
}

/** Who a CLI command audits as when `--actor` is not given: PASSERELLE_ACTOR, else `cli:<user name>`. */
export function defaultCliActor(): string {
  return cliConfig().actor ?? `cli:${userInfo().username}`
}

/**
 * `role`: `serve` owns the embedded database and shares it; a CLI command reaches a running `serve` through it
 * (see open-database.ts).
 */
export async function openContext(config: Config = cliConfig(), options: { role?: DatabaseRole } = {}): Promise<AppContext> {
  const keys = loadKeys(config, (file) =>
    log.warn({ file }, 'no keys configured: generated embedded keys (set PASSERELLE_*_KEY for production)'),
  )
  useAuditKeys(keys.audit)
  const db = await openDatabase(config, { role: options.role ?? 'cli', onWait: sayWaiting })
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

/** Plain words on stderr (not a JSON log line): the operator is looking at this terminal. */
export function sayWaiting(message: string): void {
  process.stderr.write(`passerelle: ${message}\n`)
}
