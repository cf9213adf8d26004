import type { MiddlewareHandler } from 'hono'
import { audit, principalOf, type ApiEnv } from '../api-context.ts'
import { ApiError } from '../api-error.ts'
import { RateLimiter } from '../rate-limiter.ts'

/** A token bucket per API token (429 with Retry-After once empty). */
export function rateLimitPerToken(deps: { perSecond: number; burst: number; now: () => Date }): MiddlewareHandler<ApiEnv> {
  const perToken = new RateLimiter(deps.perSecond, deps.burst)
  return async (c, next) => {
    const { credential } = principalOf(c)
    const taken = perToken.take(`${credential.kind}:${credential.id}`, deps.now().getTime())
    if (!taken.ok) {
      audit(c, { action: 'api.rate_limited', details: { reason: 'rate_limited' } })
      throw new ApiError(429, 'rate_limited', 'too many requests for this token; retry later', 'rate_limited', { 'Retry-After': String(taken.retryAfterSeconds) })
    }
    await next()
  }
}
