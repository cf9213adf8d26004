import type { Context, MiddlewareHandler } from 'hono'
import type { AuditEventInput } from '../audit/chain.ts'
import type { Principal } from '../auth/principal.ts'
import { ROLES, type Role } from '../purposes/purpose.ts'
import type { ApiPathKind } from './canonical-path.ts'

/**
 * What every /v1 handler finds on its context: the request id, the client address, the authenticated principal,
 * and the audit draft it fills (action, subject, details); the audit middleware writes the event once the
 * response is ready and before it is sent.
 */
export interface AuditDraft {
  action: string
  subject: string | null
  /** Defaults from the status: granted below 400, denied otherwise. */
  outcome?: AuditEventInput['outcome']
  /** Counts, ids, reasons: never a personal value. */
  details: Record<string, unknown>
  /** Who presented a credential that was refused (the principal names the actor otherwise). */
  actor?: string | undefined
}

export type ApiEnv = {
  Variables: {
    requestId: string
    clientAddress: string | null
    /** Whether the path is the API's, in canonical form (src/http/canonical-path.ts). */
    apiPath: ApiPathKind
    principal: Principal | undefined
    audit: AuditDraft
  }
}

export type ApiContext = Context<ApiEnv>

export function principalOf(c: ApiContext): Principal {
  const principal = c.get('principal')
  if (!principal) throw new Error('route reached without an authenticated principal')
  return principal
}

/** Names the audited action of the request and, optionally, its subject and details. */
export function audit(c: ApiContext, patch: Partial<AuditDraft>): void {
  const draft = c.get('audit')
  if (patch.action !== undefined) draft.action = patch.action
  if (patch.subject !== undefined) draft.subject = patch.subject
  if (patch.outcome !== undefined) draft.outcome = patch.outcome
  if (patch.actor !== undefined) draft.actor = patch.actor
  if (patch.details) Object.assign(draft.details, patch.details)
}

/**
 * Route middleware naming the audited action before validation runs, so a request refused with a 400 is logged
 * under its action too: `createRoute({ ..., middleware: [auditAs('api.beneficiaire.read')] })`.
 */
export function auditAs(action: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    audit(c, { action })
    await next()
  }
}

/** Every role (routes about the caller themselves). */
export const EVERY_ROLE: readonly Role[] = ROLES
