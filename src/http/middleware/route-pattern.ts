import { matchedRoutes } from 'hono/route'

/** The metrics label of a request's route: the pattern of the handler that answered, or `unmatched`. */
export const UNMATCHED_ROUTE = 'unmatched'

export function routePattern(c: Parameters<typeof matchedRoutes>[0]): string | undefined {
  // Middleware is registered with method ALL; the handler (and its route middleware) under the route's method.
  return matchedRoutes(c).filter((r) => r.method !== 'ALL').at(-1)?.path
}
