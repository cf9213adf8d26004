import type { MiddlewareHandler } from 'hono'
import type { ApiEnv } from '../api-context.ts'
import { ApiError } from '../api-error.ts'

/**
 * For a path that reads as /v1: no caching, and a refusal (400) of any spelling but the canonical one, so that only
 * the canonical form reaches authentication and the routes (src/http/canonical-path.ts).
 */
export function canonicalApiPath(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (c.get('apiPath') === 'other') return next()
    c.header('Cache-Control', 'no-store')
    if (c.get('apiPath') === 'non_canonical') {
      throw new ApiError(400, 'invalid_path', 'the path is not in canonical form: /v1 in lower case, single slashes, no trailing slash, no encoded character, no dot segment', 'non_canonical_path')
    }
    await next()
  }
}
