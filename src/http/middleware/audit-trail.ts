import type { MiddlewareHandler } from 'hono'
import type { AuditEventInput } from '../../audit/chain.ts'
import type { Logger } from '../../log/logger.ts'
import type { ApiEnv } from '../api-context.ts'
import { errorBody } from '../api-error.ts'
import { routePattern } from './route-pattern.ts'

/**
 * One audit event per request whose path reads as /v1 (canonical or not), written after the handler and awaited
 * before the response leaves; if it cannot be written the response is replaced by a 503 and nothing is served.
 */
export function auditTrail(deps: { audit: { append(event: AuditEventInput): Promise<unknown> }; now: () => Date; log: Logger }): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (c.get('apiPath') === 'other') return next()
    const occurredAt = deps.now()
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
        ...(principal ? (principal.credential.kind === 'api-token' ? { tokenId: principal.credential.id } : { consoleSessionId: principal.credential.id, channel: 'console' }) : {}),
        ...draft.details,
      },
    }
    try {
      await deps.audit.append(event)
    } catch (error) {
      deps.log.error({ err: error, requestId: c.get('requestId') }, 'audit event not written: response withheld')
      c.res = undefined
      c.res = c.json(errorBody('audit_unavailable', 'the access could not be recorded; nothing was served, retry later'), 503)
    }
  }
}
