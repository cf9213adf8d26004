import type { MiddlewareHandler } from 'hono'
import type { Authenticator } from '../../auth/authenticator.ts'
import { audit, type ApiEnv } from '../api-context.ts'
import { ApiError } from '../api-error.ts'
import { RateLimiter } from '../rate-limiter.ts'
import { inProcessCaller } from './in-process-caller.ts'
import { requestHeader } from './request-header.ts'

/**
 * Sets the principal from the request's credentials, or answers 401. Failed attempts are limited per client
 * address (429): valid tokens are never held back by others' failures.
 */
export function authenticate(deps: { authenticator: Authenticator; now: () => Date; failuresPerMinute: number }): MiddlewareHandler<ApiEnv> {
  const failuresLimit = new RateLimiter(deps.failuresPerMinute / 60, deps.failuresPerMinute)
  return async (c, next) => {
    // The web console's in-process call carries its agent's principal (in-process-caller.ts).
    const handed = inProcessCaller(c)
    if (handed) {
      c.set('principal', handed.principal)
      return next()
    }
    const t = deps.now()
    const outcome = await deps.authenticator.authenticate({ authorization: requestHeader(c, 'authorization') }, t)
    if (!outcome.ok) {
      audit(c, { action: 'api.authenticate', actor: outcome.actor, details: { reason: outcome.reason, ...(outcome.credentialId ? { tokenId: outcome.credentialId } : {}) } })
      const failures = failuresLimit.take(`addr:${c.get('clientAddress') ?? 'unknown'}`, t.getTime())
      if (!failures.ok) {
        audit(c, { details: { limited: true } })
        throw new ApiError(429, 'rate_limited', 'too many failed authentications from this address; retry later', outcome.reason, {
          'Retry-After': String(failures.retryAfterSeconds),
        })
      }
      throw new ApiError(401, 'unauthorized', 'a valid bearer token is required', outcome.reason, {
        'WWW-Authenticate': outcome.reason === 'missing_credentials' ? 'Bearer realm="passerelle"' : 'Bearer realm="passerelle", error="invalid_token"',
      })
    }
    c.set('principal', outcome.principal)
    await next()
  }
}
