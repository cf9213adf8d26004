import { DEFAULT_GRACE_DAYS } from '../access/portfolio.ts'

/**
 * Settings of the partner API. They come from the environment through the one settings schema
 * (`src/config/config.ts`, `config.api`), parsed once by the entry point:
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
