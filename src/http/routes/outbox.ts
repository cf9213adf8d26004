import { createRoute, z } from '@hono/zod-openapi'
import { auditAs } from '../api-context.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { errorResponses, json } from './responses.ts'
import { listOutbox, outboxDepth } from '../../outbox/queries.ts'

/** GET /v1/admin/outbox (role admin): what waits for France Travail, what was delivered, what is dead-lettered. */
const OutboxQuery = z.object({
  state: z.enum(['pending', 'delivered', 'dead', 'withdrawn']).optional().openapi({ description: 'Only this state' }),
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ description: 'How many (1 to 500)' }),
})

const MessageSchema = z.object({
  id: z.number().int(),
  topic: z.string(),
  beneficiaireId: z.string().nullable(),
  state: z.enum(['pending', 'delivered', 'dead', 'withdrawn']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  nextAttemptAt: z.string(),
  deliveredAt: z.string().nullable(),
})

const DepthSchema = z.object({ topic: z.string(), pending: z.number().int(), dead: z.number().int(), oldestPendingSeconds: z.number() })

const route = createRoute({
  middleware: [auditAs('api.admin.outbox.list')] as const,
  method: 'get',
  path: '/admin/outbox',
  tags: ['Administration'],
  security: [{ bearerAuth: [] }],
  summary: 'Outbox messages sent to France Travail',
  request: { query: OutboxQuery },
  responses: {
    200: json(z.object({ depth: z.array(DepthSchema), messages: z.array(MessageSchema) }), 'Newest first'),
    ...errorResponses(400, 404),
  },
})

export function outboxRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(['admin'])
  router.openapi(route, async (c) => {
    const { state, limit } = c.req.valid('query')
    const messages = await listOutbox(kit.db, { state, limit })
    return c.json(
      {
        depth: await outboxDepth(kit.db),
        messages: messages.map((m) => ({
          id: m.id,
          topic: m.topic,
          beneficiaireId: m.personPublicId,
          state: m.state,
          attempts: m.attempts,
          lastError: m.lastError,
          createdAt: m.createdAt.toISOString(),
          nextAttemptAt: m.nextAttemptAt.toISOString(),
          deliveredAt: m.deliveredAt ? m.deliveredAt.toISOString() : null,
        })),
      },
      200,
    )
  })
  return router
}
