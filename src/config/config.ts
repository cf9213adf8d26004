import path from 'node:path'
import { z } from 'zod'

/**
 * Configuration comes from environment variables only, parsed once, failing fast with every bad variable listed.
 * Tests pass their own env object. Secrets (keys, passwords in DATABASE_URL) are redacted by `redactConfig`.
 */
const base64Key = z
  .string()
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes encoded in base64 (openssl rand -base64 32)')

const ConfigSchema = z.object({
  DATABASE_URL: z.string().url('must be a postgres:// URL').optional(),
  PASSERELLE_DATA_DIR: z.string().min(1).default('./var'),
  PASSERELLE_STAGING_DIR: z.string().min(1).optional(),
  PASSERELLE_EXTRACTS_DIR: z.string().min(1).optional(),
  PASSERELLE_FLOWS_DIR: z.string().min(1).default('./flows'),
  PASSERELLE_MAPPINGS_DIR: z.string().min(1).default('./mappings'),
  PASSERELLE_NIR_KEY: base64Key.optional(),
  PASSERELLE_INDEX_KEY: base64Key.optional(),
  PASSERELLE_PSEUDONYM_KEY: base64Key.optional(),
  // Ed25519 private key signing audit checkpoints: PEM text, a path to a PEM file, or PKCS#8 DER in base64.
  PASSERELLE_AUDIT_SIGNING_KEY: z.string().min(1).optional(),
  PASSERELLE_AUDIT_CHECKPOINT_FILE: z.string().min(1).optional(),
  PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR: z.string().min(1).optional(),
  PASSERELLE_AUDIT_CHECKPOINT_SCHEDULE: z.string().min(1).default('*/5 * * * *'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PASSERELLE_HOST: z.string().min(1).default('127.0.0.1'),
  PASSERELLE_RETENTION_SCHEDULE: z.string().min(1).default('30 4 * * *'),
  PASSERELLE_EXTRACT_SCHEDULE: z.string().min(1).default('0 6 1 * *'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PASSERELLE_SFTP_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  PASSERELLE_SFTP_RETRY_DELAY_MS: z.coerce.number().int().min(0).default(1000),
})

export type Config = {
  databaseUrl: string | undefined
  dataDir: string
  stagingDir: string
  /** Where scheduled statistical extracts are written (their files are swept by the extract-files policy). */
  extractsDir: string
  flowsDir: string
  mappingsDir: string
  keys: { nir?: string; index?: string; pseudonym?: string; auditSigning?: string }
  /** Signed checkpoints of the audit chain, written outside the database (src/audit/checkpoints.ts). */
  audit: { checkpointFile: string; checkpointMirrorDir: string | undefined; checkpointSchedule: string }
  port: number
  host: string
  schedules: { retention: string; extracts: string }
  logLevel: string
  sftp: { retries: number; retryDelayMs: number }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env)
  if (!parsed.success) {
    // Never echo a value: a key or a URL with a password may be what is wrong.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(problems)
  }
  const e = parsed.data
  const dataDir = path.resolve(e.PASSERELLE_DATA_DIR)
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir,
    stagingDir: path.resolve(e.PASSERELLE_STAGING_DIR ?? path.join(dataDir, 'staging')),
    extractsDir: path.resolve(e.PASSERELLE_EXTRACTS_DIR ?? path.join(dataDir, 'extracts')),
    flowsDir: path.resolve(e.PASSERELLE_FLOWS_DIR),
    mappingsDir: path.resolve(e.PASSERELLE_MAPPINGS_DIR),
    keys: { nir: e.PASSERELLE_NIR_KEY, index: e.PASSERELLE_INDEX_KEY, pseudonym: e.PASSERELLE_PSEUDONYM_KEY, auditSigning: e.PASSERELLE_AUDIT_SIGNING_KEY },
    audit: {
      checkpointFile: path.resolve(e.PASSERELLE_AUDIT_CHECKPOINT_FILE ?? path.join(dataDir, 'audit-checkpoints.jsonl')),
      checkpointMirrorDir: e.PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR ? path.resolve(e.PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR) : undefined,
      checkpointSchedule: e.PASSERELLE_AUDIT_CHECKPOINT_SCHEDULE,
    },
    port: e.PORT,
    host: e.PASSERELLE_HOST,
    schedules: { retention: e.PASSERELLE_RETENTION_SCHEDULE, extracts: e.PASSERELLE_EXTRACT_SCHEDULE },
    logLevel: e.LOG_LEVEL,
    sftp: { retries: e.PASSERELLE_SFTP_RETRIES, retryDelayMs: e.PASSERELLE_SFTP_RETRY_DELAY_MS },
  }
}

/** The configuration as it may be printed: keys and passwords replaced by a marker. */
export function redactConfig(config: Config): Record<string, unknown> {
  const redactUrl = (url: string | undefined) => {
    if (!url) return undefined
    try {
      const u = new URL(url)
      if (u.password) u.password = '***'
      return u.toString()
    } catch {
      return '***'
    }
  }
  return {
    ...config,
    databaseUrl: redactUrl(config.databaseUrl) ?? '(embedded PGlite)',
    keys: Object.fromEntries(Object.entries(config.keys).map(([k, v]) => [k, v ? '***' : '(unset)'])),
  }
}
