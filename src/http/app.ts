import { OpenAPIHono } from '@hono/zod-openapi'
import { HTTPException } from 'hono/http-exception'
import { secureHeaders } from 'hono/secure-headers'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AuditEventInput } from '../audit/chain.ts'
import type { Authenticator } from '../auth/authenticator.ts'
import { CredentialChanges } from '../auth/credential-changes.ts'
import { createTokenAuthenticator } from '../auth/token-authenticator.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import { migrationsApplied } from '../db/migrate.ts'
import { createLogger, type Logger } from '../log/logger.ts'
import { registry } from '../metrics/metrics.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { ApiError, errorBody } from './api-error.ts'
import { audit, type ApiEnv } from './api-context.ts'
import { DEFAULT_API_OPTIONS, type ApiOptions } from '../config/config.ts'
import { DOCS_CSP, docsAsset, renderDocsPage } from './docs-page.ts'
import { apiBodyLimit } from './middleware/api-body-limit.ts'
import { auditTrail } from './middleware/audit-trail.ts'
import { authenticate } from './middleware/authenticate.ts'
import { canonicalApiPath } from './middleware/canonical-api-path.ts'
import { httpMetrics } from './middleware/http-metrics.ts'
import { inProcessAnswer } from './middleware/in-process-caller.ts'
import { rateLimitPerToken } from './middleware/rate-limit-per-token.ts'
import { requestId } from './middleware/request-id.ts'
import { buildOpenApiDocument } from './openapi-document.ts'
import { checkGuarded } from './resource-router.ts'
import { purposeFieldsCache, type RouteKit } from './route-kit.ts'
import { adminRoutes } from './routes/admin.ts'
import { beneficiaireRoutes } from './routes/beneficiaires.ts'
import { dpoRoutes } from './routes/dpo.ts'
import { extractRoutes } from './routes/extracts.ts'
import { meRoutes } from './routes/me.ts'
import { rightsRoutes } from './routes/rights.ts'
import { runsRoutes } from './routes/runs.ts'
import { outboxRoutes } from './routes/outbox.ts'
import { matchingRoutes } from './routes/matching.ts'
import { validationHook } from './validation-hook.ts'

export { UNMATCHED_ROUTE } from './middleware/route-pattern.ts'
export { IN_PROCESS_CALLER, type InProcessCaller } from './middleware/in-process-caller.ts'

/**
 * The partner API. `createApp(deps)` only wires routes and middleware (no I/O): tests call `app.request(...)`,
 * the server hands it to @hono/node-server.
 *
 * Every request goes through metrics (labelled by route pattern, or `unmatched`), a request id and security
 * headers. Every request whose path reads as /v1 (src/http/canonical-path.ts) then goes through, in order: the audit
 * trail → no-store caching and a refusal (400) of any non-canonical spelling of the path → body size limit →
 * authentication (401) → rate limit per token (429) → the resource's role guard (404) → the route (zod-validated
 * parameters, 400). Each step is a named middleware factory in src/http/middleware/; each resource is one router
 * in src/http/routes/. The operations routes (/healthz, /readyz, /metrics, /openapi.json, /docs) need no token.
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
  /** Whether the scheduler of this process runs (null: none here), as /readyz reports it. */
  schedulerRunning?: () => boolean | null
  /** Shared with the console (its session cache): a change of users or tokens made by either clears both caches. */
  credentialChanges?: CredentialChanges
}

export type ApiApp = OpenAPIHono<ApiEnv>

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

export function createApp(deps: ApiDeps): ApiApp {
  const options: ApiOptions = { ...DEFAULT_API_OPTIONS, ...deps.options, rateLimit: { ...DEFAULT_API_OPTIONS.rateLimit, ...deps.options?.rateLimit } }
  const log = deps.log ?? createLogger()
  const now = deps.now ?? (() => new Date())
  const authenticator = deps.authenticator ?? createTokenAuthenticator(deps.db, deps.purposes, { log, cacheMs: options.tokenCacheMs })
  const credentialChanges = deps.credentialChanges ?? new CredentialChanges()
  credentialChanges.subscribe(() => authenticator.invalidate?.())
  const kit: RouteKit = {
    db: deps.db,
    keys: deps.keys,
    purposes: deps.purposes,
    now,
    options,
    log,
    fieldsOf: purposeFieldsCache(),
    credentialsChanged: () => credentialChanges.changed(),
  }

  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  app.use('*', httpMetrics())
  app.use('*', inProcessAnswer())
  app.use('*', requestId({ trustProxy: options.trustProxy }))
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
  app.use('*', auditTrail({ audit: deps.audit, now, log }))
  app.use('*', canonicalApiPath())
  app.use('/v1/*', apiBodyLimit(options.bodyLimitBytes))
  app.use('/v1/*', authenticate({ authenticator, now, failuresPerMinute: options.authFailuresPerMinute }))
  app.use('/v1/*', rateLimitPerToken({ ...options.rateLimit, now }))

  // One router per resource, each opening with its role guard (resource-router.ts).
  const v1 = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook })
  for (const resource of [meRoutes, beneficiaireRoutes, adminRoutes, dpoRoutes, extractRoutes, runsRoutes, outboxRoutes, matchingRoutes, rightsRoutes]) v1.route('/', checkGuarded(resource(kit)))
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
  app.get('/readyz', async (c) => {
    const checks = { database: false, migrations: false, scheduler: deps.schedulerRunning?.() ?? null }
    try {
      await deps.db.query('select 1')
      checks.database = true
      checks.migrations = await migrationsApplied(deps.db)
    } catch {
      // Reported below; the reason is in the logs, never in the response.
    }
    const ready = checks.database && checks.migrations && checks.scheduler !== false
    return c.json({ ready, checks }, ready ? 200 : 503)
  })
  app.get('/metrics', async (c) => {
    c.header('Content-Type', registry.contentType)
    return c.body(await registry.metrics())
  })

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
