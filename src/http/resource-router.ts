import { OpenAPIHono } from '@hono/zod-openapi'
import type { Role } from '../purposes/purpose.ts'
import type { ApiEnv } from './api-context.ts'
import { validationHook } from './validation-hook.ts'
import { allowRoles } from './middleware/allow-roles.ts'
import type { ApiRouter } from './route-kit.ts'

const declaredRoutes = new WeakMap<ApiRouter, Set<string>>()

/**
 * The router of one resource, mounted under /v1 by createApp. It opens with its one role guard: every route
 * registered with `router.openapi(createRoute({...}), handler)` is documented with these roles (`x-roles`) and
 * reached by them only — anyone else gets 404, checked after the route's own middleware (which names the audited
 * action) and before any parameter is validated, so the answer is the same whatever the id, query or body.
 */
export function resourceRouter(roles: readonly Role[]): ApiRouter {
  if (roles.length === 0) throw new Error('a resource router needs at least one role')
  const router = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  const declared = new Set<string>()
  declaredRoutes.set(router, declared)
  const register = router.openapi
  router.openapi = ((route: { method: string; path: string; middleware?: unknown }, handler: unknown, hook?: unknown) => {
    const { middleware, ...rest } = route
    const own = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware]
    declared.add(`${route.method.toUpperCase()} ${route.path.replaceAll(/\/{(.+?)}/g, '/:$1')}`)
    return (register as (...args: unknown[]) => unknown).call(router, { middleware: [...own, allowRoles(roles)], 'x-roles': [...roles], ...rest }, handler, hook)
  }) as typeof router.openapi
  return router
}

/** Refuses a route added around `openapi()` (e.g. `router.get(...)`): it would have no role guard. */
export function checkGuarded(router: ApiRouter): ApiRouter {
  const declared = declaredRoutes.get(router)
  if (!declared) throw new Error('a /v1 router must be made by resourceRouter(roles)')
  for (const route of router.routes) {
    if (route.method === 'ALL') continue
    if (!declared.has(`${route.method} ${route.path}`)) throw new Error(`route ${route.method} /v1${route.path} was not registered with router.openapi(createRoute({...}))`)
  }
  return router
}
