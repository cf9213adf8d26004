import { createRoute } from '@hono/zod-openapi'
import { portfolioRelation } from '../../access/portfolio.ts'
import { FIELDS_BY_ID } from '../../model/fields.ts'
import { exposedName } from '../../purposes/purpose.ts'
import { auditAs, EVERY_ROLE, principalOf } from '../api-context.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { MeSchema } from '../schemas.ts'
import { errorResponses, json } from './responses.ts'

const meRoute = createRoute({
  middleware: [auditAs('api.me.read')] as const,
  method: 'get',
  path: '/me',
  tags: ['Compte'],
  security: [{ bearerAuth: [] }],
  summary: 'Who the token speaks for',
  description: 'The user, organisation and purpose the token is bound to, and the fields that purpose lets out.',
  responses: { 200: json(MeSchema, 'The caller'), ...errorResponses() },
})

export function meRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(EVERY_ROLE)
  router.openapi(meRoute, (c) => {
    const { user, organisation, purpose, credential } = principalOf(c)
    return c.json(
      {
        user: { id: user.publicId, email: user.email, displayName: user.displayName, role: user.role },
        organisation: { id: organisation.publicId, siret: organisation.siret, name: organisation.name, type: organisation.type },
        purpose: { id: purpose.id, title: purpose.title, legalBasis: purpose.legal_basis },
        fields: purpose.fields
          .filter((f) => f.transform !== 'omit')
          .map((f) => ({ name: exposedName(f), field: f.field, label: FIELDS_BY_ID.get(f.field)?.label ?? f.field, transform: f.transform })),
        token: { id: credential.id, expiresAt: credential.expiresAt.toISOString() },
        portfolio: { relation: portfolioRelation(user.role) ?? null, graceDays: kit.options.graceDays },
      },
      200,
    )
  })
  return router
}
