import type { MiddlewareHandler } from 'hono'
import { metrics } from '../../metrics/metrics.ts'
import type { ApiEnv } from '../api-context.ts'
import { routePattern, UNMATCHED_ROUTE } from './route-pattern.ts'

/** Methods counted under their own name in metrics; any other is `other` (a label set must stay bounded). */
const METRIC_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * Counts and times every request. Labels are the route's pattern (`/v1/beneficiaires/:id`), never the path a
 * client sent: no value from a URL reaches /metrics, and the label set is bounded by the routes.
 */
export function httpMetrics(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const started = performance.now()
    await next()
    const method = METRIC_METHODS.has(c.req.method) ? c.req.method : 'other'
    const route = routePattern(c) ?? UNMATCHED_ROUTE
    metrics.httpRequests.inc({ method, route, status: String(c.res.status) })
    metrics.httpDuration.observe({ method, route }, (performance.now() - started) / 1000)
  }
}
