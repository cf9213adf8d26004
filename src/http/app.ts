import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { matchedRoutes } from 'hono/route'
import { secureHeaders } from 'hono/secure-headers'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AuditEventInput } from '../audit/chain.ts'
import type { Authenticator } from '../auth/authenticator.ts'
import { createTokenAuthenticator } from '../auth/token-authenticator.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import { createLogger, type Logger } from '../log/logger.ts'
import { metrics } from '../metrics/metrics.ts'
import type { Purpose, Role } from '../purposes/purpose.ts'
import { ApiError, errorBody } from './api-error.ts'
import { allowRoles, audit, type ApiEnv } from './api-context.ts'
import { DEFAULT_API_OPTIONS, type ApiOptions } from '../config/config.ts'
import { classifyApiPath } from './canonical-path.ts'
import { DOCS_CSP, docsAsset, renderDocsPage } from './docs-page.ts'
import { buildOpenApiDocument } from './openapi-document.ts'
import { RateLimiter } from './rate-limiter.ts'
import { purposeFieldsCache, type ApiRouter, type RouteKit } from './route-kit.ts'
import { registerAdminRoutes } from './routes/admin.ts'
import { registerBeneficiaireRoutes } from './routes/beneficiaires.ts'
import { registerDpoRoutes } from './routes/dpo.ts'
import { registerMeRoutes } from './routes/me.ts'

/**
 * The partner API. `createApp(deps)` only wires routes and middleware (no I/O): tests call `app.request(...)`,
 * the server hands it to @hono/node-server.
 *
 * Every request goes through metrics (labelled by route pattern, or `unmatched`), a request id and security
 * headers. Every request whose path reads as /v1 (src/http/canonical-path.ts) then goes through, in order: the audit
 * trail (one event per request, written after the handler and awaited before the response leaves; if it cannot be
 * written the response is replaced by a 503 and nothing is served) → no-store caching → a refusal (400) of any
 * non-canonical spelling of the path → body size limit → authentication (401) → rate limit per token (429) → the
 * route's roles (404) → the route (zod-validated parameters, 400).
 */
export interface ApiDeps {
  db: Db
  keys: Keys
  /** Purpose declarations (loadPurposes(config.mappingsDir)). */
  purposes: ReadonlyMap<string, Purpose>
  /** The audit log writer (an AuditWriter: group commit, resolves once the event is committed). */
  audit: { append(event: AuditEventInput): Promise<unknown> }
  log?: Logger
  /** The clock (tests inject one). */
  now?: () => Date
  /** Defaults to bearer API tokens; an OIDC authenticator can take its place. */
  authenticator?: Authenticator
  options?: Partial<ApiOptions>
  /** More /v1 routes (e.g. statistics extracts); see ApiExtension. */
  extensions?: readonly ApiExtension[]
}

/**
 * Registers routes on the /v1 router, before it is mounted. Routes are registered with `v1.openapi(createRoute({
 * middleware: [auditAs('api.extracts.read')], ...forRoles(['statistician']), ... }), handler)`: validated and
 * documented, and only the declared roles reach them (anyone else: 404, checked before validation; a route that
 * declares no roles, or is added with `v1.get(...)`, stops createApp). Authentication, rate limiting and the audit
 * trail already apply. A handler adds audit details with `audit(c, { details: {...} })`, reads the caller with
 * `principalOf(c)`, and throws `ApiError` / `notFound(reason)` for errors (src/http/api-error.ts).
 */
export type ApiExtension = (v1: ApiRouter, kit: RouteKit) => void

export type ApiApp = OpenAPIHono<ApiEnv>

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/

/**
 * A request header. Under @hono/node-server it is read from Node's parsed headers (names lower-case; a repeated
 * Authorization keeps the first, as Node does): going through the Fetch Request would build a Headers object for
 * every request. Elsewhere (tests through `app.request`), from the Request.
 */
function requestHeader(c: { env?: unknown; req: { header(name: string): string | undefined } }, name: string): string | undefined {
  const incoming = (c.env as { incoming?: { headers?: Record<string, string | string[] | undefined> } } | undefined)?.incoming
  if (incoming?.headers) {
    const value = incoming.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
  return c.req.header(name)
}

function validationMessage(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }, target: string): string {
  const text = error.issues
    .slice(0, 5)
    .map((i) => `${[target, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ')
  return text.length > 500 ? `${text.slice(0, 497)}...` : text
}

const defaultHook = (result: { success: boolean; error?: unknown; target?: string }, c: any) => {
  if (result.success) return
  const error = result.error as { issues: { path: PropertyKey[]; message: string; code?: string }[] }
  // Unknown keys are named by zod; everything else says which parameter and which rule, never the value.
  audit(c, { details: { reason: 'invalid_parameters' } })
  return c.json(errorBody('invalid_parameters', validationMessage(error, result.target ?? 'request')), 400)
}

/** Methods counted under their own name in metrics; any other is `other` (a label set must stay bounded). */
const METRIC_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The metrics label of a request's route: the pattern of the handler that answered, or `unmatched`. */
export const UNMATCHED_ROUTE = 'unmatched'

function routePattern(c: Parameters<typeof matchedRoutes>[0]): string | undefined {
  // Middleware is registered with method ALL; the handler (and its route middleware) under the route's method.
  return matchedRoutes(c).filter((r) => r.method !== 'ALL').at(-1)?.path
}

/**
 * True when the client went away before its request was read (it closed the connection mid-body): nobody will
 * read the answer, and it is no fault of the server's.
 */
export function clientClosed(c: { env?: unknown; req: { raw: Request } }): boolean {
  const incoming = (c.env as { incoming?: { complete?: boolean; destroyed?: boolean; errored?: unknown; aborted?: boolean } } | undefined)?.incoming
  if (incoming) return incoming.complete === false && (incoming.destroyed === true || incoming.aborted === true || Boolean(incoming.errored))
  return c.req.raw.signal?.aborted === true
}

/** Status recorded (metrics, audit) for a request whose client left before it was read, as nginx does. */
const CLIENT_CLOSED = 499

const declaredRoutes = new WeakMap<object, Set<string>>()

/**
 * Every route registered on the /v1 router declares who may use it (`...forRoles([...])` in its createRoute):
 * the role check is added after the route's own middleware (which names the audited action) and before parameter
 * validation, so a caller whose role may not use a route gets the same 404 whatever the id, query or body.
 */
function requireDeclaredRoles(v1: OpenAPIHono<ApiEnv>): void {
  const declared = new Set<string>()
  declaredRoutes.set(v1, declared)
  const register = v1.openapi
  v1.openapi = ((route: { method: string; path: string; middleware?: unknown; 'x-roles'?: readonly Role[] }, handler: unknown, hook?: unknown) => {
    const roles = route['x-roles']
    const name = `${route.method.toUpperCase()} /v1${route.path}`
    if (!roles || roles.length === 0) throw new Error(`route ${name} declares no roles: add ...forRoles([...]) to its createRoute`)
    const own = route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware]
    declared.add(`${route.method.toUpperCase()} ${route.path.replaceAll(/\/{(.+?)}/g, '/:$1')}`)
    return (register as (...args: unknown[]) => unknown)({ ...route, middleware: [...own, allowRoles(roles)] }, handler, hook)
  }) as typeof v1.openapi
}

/** Refuses a /v1 route added around `openapi()` (e.g. `v1.get(...)`): it would have no role check. */
function checkDeclaredRoles(v1: OpenAPIHono<ApiEnv>): void {
  const declared = declaredRoutes.get(v1)!
  for (const route of v1.routes) {
    if (route.method === 'ALL') continue
    if (!declared.has(`${route.method} ${route.path}`)) throw new Error(`route ${route.method} /v1${route.path} was not registered with v1.openapi(createRoute({ ...forRoles([...]) }))`)
  }
}

export function createApp(deps: ApiDeps): ApiApp {
  const options: ApiOptions = { ...DEFAULT_API_OPTIONS, ...deps.options, rateLimit: { ...DEFAULT_API_OPTIONS.rateLimit, ...deps.options?.rateLimit } }
  const log = deps.log ?? createLogger()
  const now = deps.now ?? (() => new Date())
  const authenticator = deps.authenticator ?? createTokenAuthenticator(deps.db, deps.purposes, { log, cacheMs: options.tokenCacheMs })
  const perToken = new RateLimiter(options.rateLimit.perSecond, options.rateLimit.burst)
  const authFailures = new RateLimiter(options.authFailuresPerMinute / 60, options.authFailuresPerMinute)
  const kit: RouteKit = {
    db: deps.db,
    keys: deps.keys,
    purposes: deps.purposes,
    now,
    options,
    log,
    fieldsOf: purposeFieldsCache(),
    credentialsChanged: () => authenticator.invalidate?.(),
  }

  const app = new OpenAPIHono<ApiEnv>({ defaultHook })
  const v1 = new OpenAPIHono<ApiEnv>({ defaultHook })

  const clientAddress = (c: any): string | null => {
    if (options.trustProxy) {
      const forwarded = requestHeader(c, 'x-forwarded-for')?.split(',')[0]?.trim()
      if (forwarded && isIP(forwarded)) return forwarded
    }
    const address = c.env?.incoming?.socket?.remoteAddress
    return typeof address === 'string' && isIP(address) ? address : null
  }

  // Labels are the route's pattern (`/v1/beneficiaires/:id`), never the path a client sent: no value from a URL
  // reaches /metrics, and the label set is bounded by the routes.
  const httpMetrics: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const started = performance.now()
    await next()
    const method = METRIC_METHODS.has(c.req.method) ? c.req.method : 'other'
    const route = routePattern(c) ?? UNMATCHED_ROUTE
    metrics.httpRequests.inc({ method, route, status: String(c.res.status) })
    metrics.httpDuration.observe({ method, route }, (performance.now() - started) / 1000)
  }

  const requestId: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const given = requestHeader(c, 'x-request-id')
    const id = given && REQUEST_ID.test(given) ? given : randomUUID()
    c.set('requestId', id)
    c.set('clientAddress', clientAddress(c))
    // The target as the client sent it (Node's request line), not as the URL parser rewrote it.
    const incoming = (c.env as { incoming?: { url?: string } } | undefined)?.incoming
    let apiPath = classifyApiPath(incoming?.url ?? c.req.url)
    // Belt and braces: if the parsed URL reads as the API where the raw target did not, it is not canonical.
    if (apiPath === 'other' && incoming?.url !== undefined && classifyApiPath(c.req.url) !== 'other') apiPath = 'non_canonical'
    c.set('apiPath', apiPath)
    // Set before the handler runs: every response built from this context carries it (a header added to a
    // finished response makes Hono copy the whole response).
    c.header('X-Request-Id', id)
    await next()
  }

  const auditTrail: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const occurredAt = now()
    c.set('audit', { action: 'api.request', subject: null, details: {} })
    await next()
    const draft = c.get('audit')
    const principal = c.get('principal')
    const handler = routePattern(c)
    const status = c.res.status
    const event: AuditEventInput = {
      occurredAt,
      actor: principal?.user.email ?? draft.actor ?? null,
      organisation: principal?.organisation.siret ?? null,
      purpose: principal?.purpose.id ?? null,
      action: draft.action,
      subject: draft.subject,
      outcome: draft.outcome ?? (status < 400 ? 'granted' : 'denied'),
      requestId: c.get('requestId'),
      clientAddress: c.get('clientAddress'),
      details: {
        status,
        method: c.req.method,
        route: handler ?? null,
        ...(principal ? { tokenId: principal.credential.id } : {}),
        ...draft.details,
      },
    }
    try {
      await deps.audit.append(event)
    } catch (error) {
      log.error({ err: error, requestId: c.get('requestId') }, 'audit event not written: response withheld')
      c.res = undefined
      c.res = c.json(errorBody('audit_unavailable', 'the access could not be recorded; nothing was served, retry later'), 503)
    }
  }

  const authenticate: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const t = now()
    const outcome = await authenticator.authenticate({ authorization: requestHeader(c, 'authorization') }, t)
    if (!outcome.ok) {
      audit(c, { action: 'api.authenticate', actor: outcome.actor, details: { reason: outcome.reason, ...(outcome.credentialId ? { tokenId: outcome.credentialId } : {}) } })
      // Failed attempts are limited per client address (valid tokens are never held back by others' failures).
      const failures = authFailures.take(`addr:${c.get('clientAddress') ?? 'unknown'}`, t.getTime())
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

  const rateLimit: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const principal = c.get('principal')!
    const taken = perToken.take(`token:${principal.credential.id}`, now().getTime())
    if (!taken.ok) {
      audit(c, { action: 'api.rate_limited', details: { reason: 'rate_limited' } })
      throw new ApiError(429, 'rate_limited', 'too many requests for this token; retry later', 'rate_limited', { 'Retry-After': String(taken.retryAfterSeconds) })
    }
    await next()
  }

  app.use('*', httpMetrics)
  app.use('*', requestId)
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
      crossOriginResourcePolicy: 'same-origin',
      referrerPolicy: 'no-referrer',
      strictTransportSecurity: 'max-age=31536000; includeSubDomains',
      overwrite: false,
    }),
  )
  // Every request whose path reads as /v1 once decoded, collapsed and lower-cased is audited; only the canonical
  // form reaches authentication and the routes, anything else is refused (src/http/canonical-path.ts).
  app.use('*', (c, next) => (c.get('apiPath') === 'other' ? next() : auditTrail(c, next)))
  app.use('*', async (c, next) => {
    if (c.get('apiPath') === 'other') return next()
    c.header('Cache-Control', 'no-store')
    if (c.get('apiPath') === 'non_canonical') {
      throw new ApiError(400, 'invalid_path', 'the path is not in canonical form: /v1 in lower case, single slashes, no trailing slash, no encoded character, no dot segment', 'non_canonical_path')
    }
    await next()
  })
  const limitBody = bodyLimit({
    maxSize: options.bodyLimitBytes,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `the request body exceeds ${options.bodyLimitBytes} bytes`, 'payload_too_large')
    },
  })
  // GET and HEAD carry no body that any route reads; asking for one would build a full Fetch Request per call.
  app.use('/v1/*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)))
  app.use('/v1/*', authenticate)
  app.use('/v1/*', rateLimit)

  requireDeclaredRoles(v1)
  registerMeRoutes(v1, kit)
  registerBeneficiaireRoutes(v1, kit)
  registerAdminRoutes(v1, kit)
  registerDpoRoutes(v1, kit)
  for (const extend of deps.extensions ?? []) extend(v1, kit)
  checkDeclaredRoles(v1)
  app.route('/v1', v1)

  let document: Record<string, unknown> | undefined
  const openApi = () => (document ??= buildOpenApiDocument(app, deps.purposes))
  app.get('/openapi.json', (c) => c.json(openApi()))
  app.get('/docs', (c) => {
    c.header('Content-Security-Policy', DOCS_CSP)
    return c.html(renderDocsPage(openApi() as never))
  })
  // Swagger UI and the page's own style and configuration, from node_modules: no CDN, the page works offline.
  app.get('/docs/assets/:name', (c) => {
    const asset = docsAsset(c.req.param('name'))
    if (!asset) return c.json(errorBody('not_found', 'no such resource'), 404)
    c.header('Content-Type', asset.type)
    c.header('Cache-Control', 'public, max-age=3600')
    return c.body(asset.body as never)
  })
  app.get('/healthz', (c) => c.json({ status: 'ok' }))

  app.notFound((c) => {
    if (c.get('audit')) audit(c as never, { details: { reason: 'unknown_route' } })
    return c.json(errorBody('not_found', 'no such resource'), 404)
  })

  app.onError((error, c) => {
    if (clientClosed(c)) {
      // Reading the body failed because the client left: not a server error, and no one reads this answer.
      log.info({ requestId: c.get('requestId') }, 'client closed the request before sending it whole')
      if (c.get('audit')) audit(c as never, { outcome: 'failed', details: { reason: 'client_closed' } })
      return c.json(errorBody('client_closed', 'the client closed the connection before the request was complete'), CLIENT_CLOSED as ContentfulStatusCode)
    }
    if (error instanceof ApiError) {
      if (c.get('audit')) audit(c as never, { details: { reason: error.auditReason ?? error.code } })
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value)
      return c.json(errorBody(error.code, error.message), error.status)
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode
      if (c.get('audit')) audit(c as never, { details: { reason: `http_${status}` } })
      const code = status === 415 ? 'unsupported_media_type' : status === 413 ? 'payload_too_large' : status === 400 ? 'bad_request' : 'error'
      const message = status === 400 ? 'malformed request (a JSON body must be valid JSON)' : status === 415 ? 'send application/json' : 'request refused'
      return c.json(errorBody(code, message), status)
    }
    // A bug or an infrastructure fault: logged with the request id, never echoed (no stack, no SQL).
    log.error({ err: error, requestId: c.get('requestId') }, 'request failed')
    if (c.get('audit')) audit(c as never, { outcome: 'failed', details: { reason: 'internal_error' } })
    return c.json(errorBody('internal_error', `internal error; quote request id ${c.get('requestId') ?? 'unknown'} to the operator`), 500)
  })

  return app
}
