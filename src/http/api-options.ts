import { z } from 'zod'
import { DEFAULT_GRACE_DAYS } from '../assignments/portfolio.ts'

/**
 * Settings of the partner API, from the environment (parsed once, every bad variable listed):
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | PASSERELLE_API_GRACE_DAYS | 30 | days a former referent (or structure) keeps read-only access after an assignment ends |
 * | PASSERELLE_API_RATE_PER_SECOND | 20 | sustained requests per second per token |
 * | PASSERELLE_API_RATE_BURST | 100 | burst size per token (token bucket capacity) |
 * | PASSERELLE_API_AUTH_FAILURES_PER_MINUTE | 30 | failed authentications per client address per minute before 429 |
 * | PASSERELLE_API_BODY_LIMIT_BYTES | 65536 | largest request body |
 * | PASSERELLE_API_TRUST_PROXY | false | take the client address from X-Forwarded-For (behind a reverse proxy only) |
 * | PASSERELLE_API_TOKEN_CACHE_SECONDS | 2 | how long a valid token is trusted without re-reading it; a token revoked or a user deactivated from the CLI stops within this delay (0: checked at every request) |
 */
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
  graceDays: DEFAULT_GRACE_DAYS,
  rateLimit: { perSecond: 20, burst: 100 },
  authFailuresPerMinute: 30,
  bodyLimitBytes: 64 * 1024,
  trustProxy: false,
  tokenCacheMs: 2000,
  maxPageSize: 200,
}

const EnvSchema = z.object({
  PASSERELLE_API_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(DEFAULT_API_OPTIONS.graceDays),
  PASSERELLE_API_RATE_PER_SECOND: z.coerce.number().positive().max(100_000).default(DEFAULT_API_OPTIONS.rateLimit.perSecond),
  PASSERELLE_API_RATE_BURST: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_API_OPTIONS.rateLimit.burst),
  PASSERELLE_API_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_API_OPTIONS.authFailuresPerMinute),
  PASSERELLE_API_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(DEFAULT_API_OPTIONS.bodyLimitBytes),
  PASSERELLE_API_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  PASSERELLE_API_TOKEN_CACHE_SECONDS: z.coerce.number().min(0).max(300).default(DEFAULT_API_OPTIONS.tokenCacheMs / 1000),
})

export function loadApiOptions(env: NodeJS.ProcessEnv = process.env): ApiOptions {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    throw new Error(`invalid API configuration:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`)
  }
  const e = parsed.data
  return {
    graceDays: e.PASSERELLE_API_GRACE_DAYS,
    rateLimit: { perSecond: e.PASSERELLE_API_RATE_PER_SECOND, burst: e.PASSERELLE_API_RATE_BURST },
    authFailuresPerMinute: e.PASSERELLE_API_AUTH_FAILURES_PER_MINUTE,
    bodyLimitBytes: e.PASSERELLE_API_BODY_LIMIT_BYTES,
    trustProxy: e.PASSERELLE_API_TRUST_PROXY === 'true',
    tokenCacheMs: Math.round(e.PASSERELLE_API_TOKEN_CACHE_SECONDS * 1000),
    maxPageSize: DEFAULT_API_OPTIONS.maxPageSize,
  }
}
