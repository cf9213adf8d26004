import type { MiddlewareHandler } from 'hono'
import type { Role } from '../../purposes/purpose.ts'
import { principalOf, type ApiEnv } from '../api-context.ts'
import { notFound } from '../api-error.ts'

/** Only these roles reach the route; anyone else gets 404, as for an unknown route (audited `role_not_allowed`). */
export function allowRoles(roles: readonly Role[]): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!roles.includes(principalOf(c).user.role)) throw notFound('role_not_allowed')
    await next()
  }
}
