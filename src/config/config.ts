import cron from 'node-cron'
import { statSync } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { parseSigningKey } from '../crypto/keys.ts'
import { parseFingerprints } from '../sftp/host-key.ts'
import { DEFAULT_DB_WAIT_MS } from '../db/postgres.ts'

/** Settings of the partner API (config.api), from the PASSERELLE_API_* variables below. */
export interface ApiOptions {
  graceDays: number
  rateLimit: { perSecond: number; burst: number }
  authFailuresPerMinute: number
  bodyLimitBytes: number
  trustProxy: boolean
  /** Milliseconds a token found valid is trusted without reading it again (0: every request). */
  tokenCacheMs: number
  /** Largest page of a list endpoint. */
  maxPageSize: number
}

export const DEFAULT_API_OPTIONS: ApiOptions = {
  graceDays: 30,
  rateLimit: { perSecond: 20, burst: 100 },
  authFailuresPerMinute: 30,
  bodyLimitBytes: 64 * 1024,
  trustProxy: false,
  tokenCacheMs: 2000,
  maxPageSize: 200,
}

/**
 * Every setting of Passerelle, in one zod schema over the environment: parsed once by the entry point (the CLI's
 * `preAction` hook), before any I/O, and passed in. Every bad value is listed at once, never echoed (a key or a URL
 * with a password may be what is wrong), and the process exits 78 (EX_CONFIG). Tests pass their own env object.
 *
 * Adding a setting: one entry in `SettingsSchema` (the variable and its rule, a default if any) and one in `SETTINGS`
 * (its meaning, whether it is a secret: TypeScript refuses a variable without one), then map it in `loadConfig`.
 * `passerelle config` shows and checks it from there.
 */
const base64Key = z
  .string()
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes encoded in base64 (openssl rand -base64 32)')

const cronExpression = z
  .string()
  .refine((value) => cron.validate(value), 'must be a cron expression (5 fields, or 6 with seconds), e.g. "30 4 * * *"')

/** A whole number written as digits only: `1e3`, `0x10`, ` 8` or `8.0` are refused rather than coerced. */
const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be a whole number from ${min} to ${max}`).max(max, `must be a whole number from ${min} to ${max}`))

const decimal = (min: number, max: number, exclusiveMin = false) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, `must be a number${exclusiveMin ? ' above' : ' from'} ${min} to ${max}`)
    .transform(Number)
    .pipe(
      (exclusiveMin ? z.number().gt(min) : z.number().min(min)).max(max).refine(Number.isFinite, `must be a number from ${min} to ${max}`),
    )

/** An http(s) URL without credentials: http only on loopback (a local provider), https elsewhere. */
const httpUrl = z.string().refine((value) => {
  if (!URL.canParse(value)) return false
  const u = new URL(value)
  if (u.username || u.password) return false
  if (u.protocol === 'https:') return true
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
}, 'must be an https:// URL (http:// only on loopback), without credentials')

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const

const SettingsSchema = z.object({
  DATABASE_URL: z
    .string()
    .url('must be a postgres:// URL')
    .refine((url) => URL.canParse(url) && /^postgres(ql)?:$/.test(new URL(url).protocol), 'must be a postgres:// URL')
    .optional(),
  PASSERELLE_DATA_DIR: z.string().default('./var'),
  PASSERELLE_STAGING_DIR: z.string().optional(),
  PASSERELLE_EXTRACTS_DIR: z.string().optional(),
  PASSERELLE_EXTRACT_KEYS_DIR: z.string().optional(),
  PASSERELLE_FLOWS_DIR: z.string().default('./flows'),
  PASSERELLE_MAPPINGS_DIR: z.string().default('./mappings'),
  PASSERELLE_NIR_KEY: base64Key.optional(),
  PASSERELLE_INDEX_KEY: base64Key.optional(),
  PASSERELLE_PSEUDONYM_KEY: base64Key.optional(),
  PORT: integer(0, 65535).default(8080),
  PASSERELLE_HOST: z.string().default('127.0.0.1'),
  PASSERELLE_RETENTION_SCHEDULE: cronExpression.default('30 4 * * *'),
  PASSERELLE_EXTRACT_SCHEDULE: cronExpression.default('0 6 1 * *'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  PASSERELLE_DB_WAIT_SECONDS: integer(1, 3600).default(DEFAULT_DB_WAIT_MS / 1000),
  LOG_FORMAT: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).default('auto'),
  PASSERELLE_SFTP_RETRIES: integer(0, 10).default(3),
  PASSERELLE_SFTP_RETRY_DELAY_MS: integer(0, 600_000).default(1000),
  PASSERELLE_ACTOR: z.string().max(200).optional(),
  PASSERELLE_DEPARTEMENT: z
    .string()
    .regex(/^(\d{2}|2[AB]|\d{3})$/, 'must be the département code as France Travail files write it: 2 digits (06, 93), 2A/2B, or 3 digits (974)')
    .optional(),
  PASSERELLE_API_GRACE_DAYS: integer(0, 365).default(DEFAULT_API_OPTIONS.graceDays),
  PASSERELLE_API_RATE_PER_SECOND: decimal(0, 100_000, true).default(DEFAULT_API_OPTIONS.rateLimit.perSecond),
  PASSERELLE_API_RATE_BURST: integer(1, 1_000_000).default(DEFAULT_API_OPTIONS.rateLimit.burst),
  PASSERELLE_API_AUTH_FAILURES_PER_MINUTE: integer(1, 1_000_000).default(DEFAULT_API_OPTIONS.authFailuresPerMinute),
  PASSERELLE_API_BODY_LIMIT_BYTES: integer(1024, 10 * 1024 * 1024).default(DEFAULT_API_OPTIONS.bodyLimitBytes),
  PASSERELLE_API_TRUST_PROXY: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  PASSERELLE_API_TOKEN_CACHE_SECONDS: decimal(0, 300).default(DEFAULT_API_OPTIONS.tokenCacheMs / 1000),
  // Ed25519 private key signing audit checkpoints: PEM text, a path to a PEM file, or PKCS#8 DER in base64.
  // Parsed here with every other setting (exit 78, listed with them), the value never echoed.
  PASSERELLE_AUDIT_SIGNING_KEY: z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      try {
        parseSigningKey(value)
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^PASSERELLE_AUDIT_SIGNING_KEY: /, '') })
      }
    })
    .optional(),
  PASSERELLE_AUDIT_CHECKPOINT_FILE: z.string().min(1).optional(),
  PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR: z.string().min(1).optional(),
  PASSERELLE_AUDIT_CHECKPOINT_SCHEDULE: cronExpression.default('*/5 * * * *'),
  // The web console's sign-in (OpenID Connect; ProConnect in production). All four or none: without them the
  // console signs nobody in (and `serve --demo` starts a local provider on loopback instead).
  PASSERELLE_OIDC_ISSUER: httpUrl.optional(),
  PASSERELLE_OIDC_CLIENT_ID: z.string().min(1).max(500).optional(),
  PASSERELLE_OIDC_CLIENT_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
  PASSERELLE_OIDC_REDIRECT_URL: httpUrl.optional(),
  PASSERELLE_OIDC_POST_LOGOUT_URL: httpUrl.optional(),
  PASSERELLE_OIDC_SCOPES: z
    .string()
    .regex(/^[A-Za-z0-9_:.-]+( [A-Za-z0-9_:.-]+)*$/, 'must be scopes separated by single spaces')
    .refine((s) => s.split(' ').includes('openid'), 'must include openid')
    .default('openid email given_name usual_name siret'),
  PASSERELLE_OIDC_ACR_VALUES: z.string().regex(/^[A-Za-z0-9_:.-]+( [A-Za-z0-9_:.-]+)*$/, 'must be values separated by single spaces').optional(),
  PASSERELLE_OIDC_USERINFO_SIGNED_ALG: z.enum(['RS256', 'ES256'], { error: 'must be RS256 or ES256' }).optional(),
  PASSERELLE_CONSOLE_SESSION_MINUTES: integer(5, 24 * 60).default(480),
})

type SettingName = keyof z.input<typeof SettingsSchema>

/** What each variable means, for `passerelle config` and the README's table; `secret` values are never printed. */
export const SETTINGS: Record<SettingName, { meaning: string; secret?: 'value' | 'url-password' }> = {
  DATABASE_URL: { meaning: 'PostgreSQL connection URL; unset: the embedded PGlite in the data folder', secret: 'url-password' },
  PASSERELLE_DB_WAIT_SECONDS: { meaning: 'longest wait for a free PostgreSQL connection before a call fails naming the cause (1-3600)' },
  PASSERELLE_DATA_DIR: { meaning: 'data folder (embedded database, generated keys, staging, extracts)' },
  PASSERELLE_STAGING_DIR: { meaning: 'where pulled files wait while they load (default <data>/staging)' },
  PASSERELLE_EXTRACTS_DIR: { meaning: 'where statistical extracts are written (default <data>/extracts)' },
  PASSERELLE_EXTRACT_KEYS_DIR: { meaning: 'folder of extract pseudonym keys <recipient>.v<N>.key (mode 600)' },
  PASSERELLE_FLOWS_DIR: { meaning: 'flow declarations folder' },
  PASSERELLE_MAPPINGS_DIR: { meaning: 'purpose declarations folder' },
  PASSERELLE_NIR_KEY: { meaning: 'AES-256-GCM key of stored NIRs (32 bytes, base64)', secret: 'value' },
  PASSERELLE_INDEX_KEY: { meaning: 'HMAC key of the blind indexes (32 bytes, base64)', secret: 'value' },
  PASSERELLE_PSEUDONYM_KEY: { meaning: 'HMAC base key of pseudonyms (32 bytes, base64)', secret: 'value' },
  PORT: { meaning: 'HTTP port of `serve` (overridden by --port)' },
  PASSERELLE_HOST: { meaning: 'listen address of `serve` (overridden by --host)' },
  PASSERELLE_RETENTION_SCHEDULE: { meaning: 'cron of the nightly retention run (Europe/Paris)' },
  PASSERELLE_EXTRACT_SCHEDULE: { meaning: 'cron of the monthly statistical extracts (Europe/Paris)' },
  LOG_LEVEL: { meaning: `log level: ${LOG_LEVELS.join(', ')}` },
  LOG_FORMAT: { meaning: 'logs on stderr: auto (pretty lines on a terminal, JSON otherwise), json or pretty' },
  PASSERELLE_SFTP_RETRIES: { meaning: 'retries of an SFTP operation cut by a network fault (0-10)' },
  PASSERELLE_SFTP_RETRY_DELAY_MS: { meaning: 'first delay between SFTP retries, doubled each time' },
  PASSERELLE_ACTOR: { meaning: 'who CLI commands audit as (default cli:<user name>)' },
  PASSERELLE_DEPARTEMENT: { meaning: 'code of the département this Passerelle serves (93, 06, 2A, 974): a fichier-PE-CG for another is rejected' },
  PASSERELLE_API_GRACE_DAYS: { meaning: 'days a former referent keeps read-only access after an assignment ends' },
  PASSERELLE_API_RATE_PER_SECOND: { meaning: 'sustained API requests per second per token' },
  PASSERELLE_API_RATE_BURST: { meaning: 'API burst per token (token bucket capacity)' },
  PASSERELLE_API_AUTH_FAILURES_PER_MINUTE: { meaning: 'failed authentications per client address per minute before 429' },
  PASSERELLE_API_BODY_LIMIT_BYTES: { meaning: 'largest API request body' },
  PASSERELLE_API_TRUST_PROXY: { meaning: 'take the client address from X-Forwarded-For (behind a reverse proxy only)' },
  PASSERELLE_API_TOKEN_CACHE_SECONDS: { meaning: 'how long a valid API token or console session is trusted without re-reading it (0: every request)' },
  PASSERELLE_AUDIT_SIGNING_KEY: {
    meaning: 'Ed25519 private key signing audit checkpoints (PEM text, PEM file path, or PKCS#8 DER in base64); generated on the embedded default',
    secret: 'value',
  },
  PASSERELLE_AUDIT_CHECKPOINT_FILE: { meaning: 'append-only file of signed audit checkpoints (default <data>/audit-checkpoints.jsonl)' },
  PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR: { meaning: 'a second folder (another disk or mount) receiving every checkpoint line' },
  PASSERELLE_AUDIT_CHECKPOINT_SCHEDULE: { meaning: 'cron of the periodic audit checkpoint (Europe/Paris)' },
  PASSERELLE_OIDC_ISSUER: { meaning: 'console sign-in: OpenID Connect issuer URL (ProConnect in production); unset: nobody signs in to the console' },
  PASSERELLE_OIDC_CLIENT_ID: { meaning: 'console sign-in: client id registered with the provider' },
  PASSERELLE_OIDC_CLIENT_SECRET: { meaning: 'console sign-in: client secret', secret: 'value' },
  PASSERELLE_OIDC_REDIRECT_URL: { meaning: 'console sign-in: redirect URL registered with the provider (https://<host>/console/auth/callback)' },
  PASSERELLE_OIDC_POST_LOGOUT_URL: { meaning: 'console sign-out: where the provider sends the agent back (default: the console home)' },
  PASSERELLE_OIDC_SCOPES: { meaning: 'console sign-in: scopes asked (must include openid; siret for the organisation check)' },
  PASSERELLE_OIDC_ACR_VALUES: { meaning: 'console sign-in: acr_values asked (e.g. eidas1)' },
  PASSERELLE_OIDC_USERINFO_SIGNED_ALG: { meaning: 'console sign-in: algorithm of a signed UserInfo answer (ProConnect: RS256)' },
  PASSERELLE_CONSOLE_SESSION_MINUTES: { meaning: 'console session lifetime in minutes (5-1440)' },
}

export type Config = {
  databaseUrl: string | undefined
  /** Longest wait for a pooled connection (PASSERELLE_DB_WAIT_SECONDS), in milliseconds. */
  dbWaitMs: number
  dataDir: string
  stagingDir: string
  /** Where scheduled statistical extracts are written (their files are swept by the extract-files policy). */
  extractsDir: string
  /** The folder of extract keys (PASSERELLE_EXTRACT_KEYS_DIR), if any. */
  extractKeysDir: string | undefined
  flowsDir: string
  mappingsDir: string
  keys: { nir?: string; index?: string; pseudonym?: string; auditSigning?: string }
  /** Signed checkpoints of the audit chain, written outside the database (src/audit/checkpoints.ts). */
  audit: { checkpointFile: string; checkpointMirrorDir: string | undefined; checkpointSchedule: string }
  port: number
  host: string
  schedules: { retention: string; extracts: string }
  logLevel: (typeof LOG_LEVELS)[number]
  logFormat: (typeof LOG_FORMATS)[number]
  sftp: { retries: number; retryDelayMs: number }
  /** Who CLI commands audit as when `--actor` is not given (PASSERELLE_ACTOR), if set. */
  actor: string | undefined
  api: ApiOptions
  /** The web console: its OpenID Connect client (undefined when no provider is configured) and session lifetime. */
  console: { oidc: OidcSettings | undefined; sessionMinutes: number }
}

/** The console's OpenID Connect client settings (ProConnect in production, the local provider in the demo). */
export interface OidcSettings {
  issuer: string
  clientId: string
  clientSecret: string
  redirectUrl: string
  postLogoutUrl?: string | undefined
  scopes: string
  acrValues?: string | undefined
  userinfoSignedAlg?: string | undefined
}

/** A CLI option that overrides a setting (`serve --port` over PORT): checked by the same rule, in the same pass. */
export interface SettingOverride {
  variable: SettingName
  option: string
  value: string
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

/** Exit code of a bad configuration (sysexits EX_CONFIG). */
export const EX_CONFIG = 78

/** The settings as given: empty values count as unset (as `FOO=` in an env file means), overrides applied. */
function settingsInput(env: NodeJS.ProcessEnv, overrides: readonly SettingOverride[]): Record<string, string> {
  const input: Record<string, string> = {}
  for (const name of Object.keys(SETTINGS)) {
    const value = env[name]
    if (value !== undefined && value.trim() !== '') input[name] = value.trim()
  }
  for (const o of overrides) input[o.variable] = o.value
  return input
}

/**
 * Checks of the flows' SFTP variables that need no declaration: `<X>_SFTP_PORT` must be a port and `<X>_SFTP_HOST_KEY`
 * a list of `SHA256:` fingerprints, whatever flow names them (the flows resolve the rest when they connect).
 */
function sftpVariableProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.trim() === '') continue
    if (/_SFTP_PORT$/.test(name) && !(/^\d+$/.test(value.trim()) && Number(value) >= 1 && Number(value) <= 65535)) {
      problems.push(`${name}: must be a port number (1-65535)`)
    }
    if (/_SFTP_HOST_KEY$/.test(name)) {
      const parsed = parseFingerprints(value)
      if ('problem' in parsed) problems.push(`${name}: ${parsed.problem}`)
    }
  }
  return problems.sort()
}

/**
 * Path settings that point at the wrong kind of thing: a file where a folder goes (or must be created), a folder
 * where a file goes. Caught here, the setting is named at start instead of an EEXIST or EISDIR later (the audit
 * checkpoint file a folder left a server healthy with every checkpoint failing). Nothing is created.
 */
function pathProblems(e: z.infer<typeof SettingsSchema>): string[] {
  const problems: string[] = []
  const kind = (p: string): 'folder' | 'file' | 'none' => {
    try {
      return statSync(p).isDirectory() ? 'folder' : 'file'
    } catch {
      return 'none'
    }
  }
  /** A folder, or a path whose nearest existing ancestor is a folder (so it can be created). */
  const folder = (variable: string, p: string) => {
    let at = p
    while (kind(at) === 'none' && path.dirname(at) !== at) at = path.dirname(at)
    if (kind(at) === 'file') problems.push(`${variable}: ${at === p ? `${p} is a file, not a folder` : `${at} is a file, so the folder ${p} cannot be created`}`)
  }
  const dataDir = path.resolve(e.PASSERELLE_DATA_DIR)
  folder('PASSERELLE_DATA_DIR', dataDir)
  folder('PASSERELLE_STAGING_DIR', path.resolve(e.PASSERELLE_STAGING_DIR ?? path.join(dataDir, 'staging')))
  folder('PASSERELLE_EXTRACTS_DIR', path.resolve(e.PASSERELLE_EXTRACTS_DIR ?? path.join(dataDir, 'extracts')))
  if (e.PASSERELLE_EXTRACT_KEYS_DIR) folder('PASSERELLE_EXTRACT_KEYS_DIR', path.resolve(e.PASSERELLE_EXTRACT_KEYS_DIR))
  if (e.PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR) folder('PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR', path.resolve(e.PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR))
  const checkpoint = path.resolve(e.PASSERELLE_AUDIT_CHECKPOINT_FILE ?? path.join(dataDir, 'audit-checkpoints.jsonl'))
  if (kind(checkpoint) === 'folder') problems.push(`PASSERELLE_AUDIT_CHECKPOINT_FILE: ${checkpoint} is a folder; give the path of a file (it is created)`)
  else folder('PASSERELLE_AUDIT_CHECKPOINT_FILE', path.dirname(checkpoint))
  return problems
}

export function loadConfig(env: NodeJS.ProcessEnv, overrides: readonly SettingOverride[] = []): Config {
  const parsed = SettingsSchema.safeParse(settingsInput(env, overrides))
  const problems = [...sftpVariableProblems(env)]
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0])
      const override = overrides.find((o) => o.variable === variable)
      problems.push(`${override ? `${override.option} (overrides ${variable})` : variable}: ${issue.message}`)
    }
  }
  if (parsed.success) {
    const oidc = ['PASSERELLE_OIDC_ISSUER', 'PASSERELLE_OIDC_CLIENT_ID', 'PASSERELLE_OIDC_CLIENT_SECRET', 'PASSERELLE_OIDC_REDIRECT_URL'] as const
    const given = oidc.filter((name) => parsed.data[name] !== undefined)
    if (given.length > 0 && given.length < oidc.length) {
      for (const name of oidc.filter((n) => !given.includes(n))) problems.push(`${name}: must be set with ${given.join(', ')} (the console's sign-in needs all four)`)
    }
  }
  if (parsed.success) problems.push(...pathProblems(parsed.data))
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems)
  const e = parsed.data
  const dataDir = path.resolve(e.PASSERELLE_DATA_DIR)
  return {
    databaseUrl: e.DATABASE_URL,
    dbWaitMs: e.PASSERELLE_DB_WAIT_SECONDS * 1000,
    dataDir,
    stagingDir: path.resolve(e.PASSERELLE_STAGING_DIR ?? path.join(dataDir, 'staging')),
    extractsDir: path.resolve(e.PASSERELLE_EXTRACTS_DIR ?? path.join(dataDir, 'extracts')),
    extractKeysDir: e.PASSERELLE_EXTRACT_KEYS_DIR,
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
    logFormat: e.LOG_FORMAT,
    sftp: { retries: e.PASSERELLE_SFTP_RETRIES, retryDelayMs: e.PASSERELLE_SFTP_RETRY_DELAY_MS },
    actor: e.PASSERELLE_ACTOR,
    api: {
      graceDays: e.PASSERELLE_API_GRACE_DAYS,
      rateLimit: { perSecond: e.PASSERELLE_API_RATE_PER_SECOND, burst: e.PASSERELLE_API_RATE_BURST },
      authFailuresPerMinute: e.PASSERELLE_API_AUTH_FAILURES_PER_MINUTE,
      bodyLimitBytes: e.PASSERELLE_API_BODY_LIMIT_BYTES,
      trustProxy: e.PASSERELLE_API_TRUST_PROXY === 'true',
      tokenCacheMs: Math.round(e.PASSERELLE_API_TOKEN_CACHE_SECONDS * 1000),
      maxPageSize: DEFAULT_API_OPTIONS.maxPageSize,
    },
    console: {
      oidc:
        e.PASSERELLE_OIDC_ISSUER && e.PASSERELLE_OIDC_CLIENT_ID && e.PASSERELLE_OIDC_CLIENT_SECRET && e.PASSERELLE_OIDC_REDIRECT_URL
          ? {
              issuer: e.PASSERELLE_OIDC_ISSUER,
              clientId: e.PASSERELLE_OIDC_CLIENT_ID,
              clientSecret: e.PASSERELLE_OIDC_CLIENT_SECRET,
              redirectUrl: e.PASSERELLE_OIDC_REDIRECT_URL,
              postLogoutUrl: e.PASSERELLE_OIDC_POST_LOGOUT_URL,
              scopes: e.PASSERELLE_OIDC_SCOPES,
              acrValues: e.PASSERELLE_OIDC_ACR_VALUES,
              userinfoSignedAlg: e.PASSERELLE_OIDC_USERINFO_SIGNED_ALG,
            }
          : undefined,
      sessionMinutes: e.PASSERELLE_CONSOLE_SESSION_MINUTES,
    },
  }
}

/** One line per setting for `passerelle config`: its value as it may be shown, and where it came from. */
export interface ShownSetting {
  variable: string
  value: string
  source: 'environment' | 'default' | 'unset' | `option ${string}`
  meaning: string
}

/**
 * Every setting as it may be printed: secrets as `***` (a URL keeps all but its password), values validated or not
 * (the problems come from `loadConfig`).
 */
export function showSettings(env: NodeJS.ProcessEnv, overrides: readonly SettingOverride[] = []): ShownSetting[] {
  const input = settingsInput(env, overrides)
  const defaults = SettingsSchema.safeParse({})
  return (Object.keys(SETTINGS) as SettingName[]).map((variable) => {
    const { meaning, secret } = SETTINGS[variable]
    const given = input[variable]
    const override = overrides.find((o) => o.variable === variable)
    if (given === undefined) {
      const fallback = defaults.success ? (defaults.data as Record<string, unknown>)[variable] : undefined
      return fallback === undefined
        ? { variable, value: '(unset)', source: 'unset', meaning }
        : { variable, value: String(fallback), source: 'default', meaning }
    }
    const value = secret === 'value' ? '***' : secret === 'url-password' ? redactUrl(given) : given
    return { variable, value, source: override ? `option ${override.option}` : 'environment', meaning }
  })
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '***'
  }
}

/** The configuration as it may be printed: keys and passwords replaced by a marker. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: config.databaseUrl ? redactUrl(config.databaseUrl) : '(embedded PGlite)',
    keys: Object.fromEntries(Object.entries(config.keys).map(([k, v]) => [k, v ? '***' : '(unset)'])),
    console: { ...config.console, oidc: config.console.oidc ? { ...config.console.oidc, clientSecret: '***' } : undefined },
  }
}
