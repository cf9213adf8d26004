import { createRoute, z } from '@hono/zod-openapi'
import { auditSubject } from '../../audit/subject-pseudonym.ts'
import { listQueue, type QueuedRecord } from '../../matching/queue-queries.ts'
import { openIdentity } from '../../matching/queued-identity.ts'
import { discardQueued, linkQueued, MatchingResolutionError } from '../../matching/resolve-queued.ts'
import { ApiError, badRequest, notFound } from '../api-error.ts'
import { audit, auditAs, principalOf } from '../api-context.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { errorResponses, json } from './responses.ts'

/**
 * The matching queue (roles admin and dpo): France Travail records without a NIR that matched nobody or several
 * persons (src/matching/). The listing opens each record's sealed identity for the operator who decides, in this
 * answer only (never logged, never in the audit event); the resolution links the record to a person or discards it.
 */
const TAG = 'Administration'
const security = [{ bearerAuth: [] }]

const QueueQuery = z.object({
  state: z.enum(['pending', 'linked', 'discarded']).default('pending').openapi({ description: 'Only this state (default pending)' }),
  flow: z.string().regex(/^[a-z0-9-]{1,64}$/).optional().openapi({ description: 'Only this flow' }),
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ description: 'How many (1 to 500), the longest waiting first' }),
})

const QueueIdParam = z.object({
  id: z.coerce.number().int().min(1).openapi({ param: { name: 'id', in: 'path' }, description: 'Queued record id', example: 12 }),
})

const IdentitySchema = z
  .object({
    nomNaissance: z.string(),
    prenom: z.string(),
    dateNaissance: z.string(),
    identifiantFranceTravail: z.string().nullable(),
  })
  .openapi('IdentiteEnAttente')

const QueuedSchema = z
  .object({
    id: z.number().int(),
    flow: z.string(),
    state: z.enum(['pending', 'linked', 'discarded']),
    reason: z.enum(['ambiguous', 'not_found', 'identifier_conflict']),
    candidates: z.array(z.string()).openapi({ description: 'Public ids of the persons of the active base bearing this identity' }),
    identity: IdentitySchema.nullable().openapi({ description: 'As the file spelt it; null once resolved (wiped)' }),
    fileId: z.number().int(),
    recordIndex: z.number().int(),
    transmittedAt: z.string(),
    beneficiaireId: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
  })
  .openapi('EnregistrementEnAttente')

const ResolutionSchema = z
  .discriminatedUnion('decision', [
    z.object({ decision: z.literal('link'), beneficiaireId: z.string().uuid() }).strict(),
    z.object({ decision: z.literal('discard') }).strict(),
  ])
  .openapi('ResolutionRapprochement')

const ResolvedSchema = z.object({
  id: z.number().int(),
  decision: z.enum(['link', 'discard']),
  beneficiaireId: z.string().nullable(),
  registrationApplied: z.boolean(),
  identifierLinked: z.boolean(),
})

const routes = {
  list: createRoute({
    middleware: [auditAs('api.matching.list')] as const,
    method: 'get',
    path: '/matching-queue',
    tags: [TAG],
    security,
    summary: 'France Travail records waiting for an operator to match them',
    request: { query: QueueQuery },
    responses: { 200: json(z.object({ items: z.array(QueuedSchema) }), 'The longest waiting first'), ...errorResponses(400, 404) },
  }),
  resolve: createRoute({
    middleware: [auditAs('api.matching.resolve')] as const,
    method: 'post',
    path: '/matching-queue/{id}/resolution',
    tags: [TAG],
    security,
    summary: 'Link a queued record to a person, or discard it',
    request: { params: QueueIdParam, body: { required: true, content: { 'application/json': { schema: ResolutionSchema } } } },
    responses: { 200: json(ResolvedSchema, 'Resolved'), ...errorResponses(400, 404, 409, 413) },
  }),
}

export function matchingRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(['admin', 'dpo'])
  const { db, keys } = kit
  const body = (q: QueuedRecord) => ({
    id: q.id,
    flow: q.flowId,
    state: q.state,
    reason: q.reason,
    candidates: q.candidates,
    identity: q.identitySealed ? openIdentity(keys.nir, q.identitySealed) : null,
    fileId: q.fileId,
    recordIndex: q.recordIndex,
    transmittedAt: q.transmittedAt.toISOString(),
    beneficiaireId: q.personPublicId,
    resolvedBy: q.resolvedBy,
    resolvedAt: q.resolvedAt ? q.resolvedAt.toISOString() : null,
  })

  router.openapi(routes.list, async (c) => {
    const q = c.req.valid('query')
    const items = await listQueue(db, { state: q.state, flowId: q.flow, limit: q.limit })
    audit(c, { details: { count: items.length, state: q.state, identitiesShown: items.filter((i) => i.identitySealed).length } })
    return c.json({ items: items.map(body) }, 200)
  })

  router.openapi(routes.resolve, async (c) => {
    const { id } = c.req.valid('param')
    const decision = c.req.valid('json')
    const principal = principalOf(c)
    const input = { id, actor: principal.user.email, now: kit.now(), via: 'api' as const, requestId: c.get('requestId') ?? null }
    try {
      if (decision.decision === 'discard') {
        await discardQueued(db, input)
        audit(c, { details: { queueId: id, decision: 'discard' } })
        return c.json({ id, decision: 'discard' as const, beneficiaireId: null, registrationApplied: false, identifierLinked: false }, 200)
      }
      const outcome = await linkQueued(db, { keys, purposes: kit.purposes }, { ...input, personPublicId: decision.beneficiaireId })
      const { rows } = await db.query<{ match_key: string }>('select match_key from persons where public_id = $1', [outcome.personPublicId])
      if (rows[0]) audit(c, { subject: auditSubject(keys.pseudonym, rows[0].match_key) })
      audit(c, { details: { queueId: id, decision: 'link' } })
      return c.json({ id, decision: 'link' as const, beneficiaireId: outcome.personPublicId, registrationApplied: outcome.registrationApplied, identifierLinked: outcome.identifierLinked }, 200)
    } catch (error) {
      if (!(error instanceof MatchingResolutionError)) throw error
      if (error.code === 'not_found') throw notFound('unknown_queue_id')
      if (error.code === 'unknown_person') throw badRequest('unknown_beneficiaire', 'beneficiaireId: no such person')
      throw new ApiError(409, 'conflict', 'this record is already resolved', 'conflict')
    }
  })
  return router
}
