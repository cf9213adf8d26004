import { createRoute } from '@hono/zod-openapi'
import { subjectOfPublicId } from '../../rights/identify-person.ts'
import { notFound } from '../api-error.ts'
import { audit, auditAs } from '../api-context.ts'
import { searchAuditEvents, type AuditEventRow } from '../audit-search.ts'
import { decodeCursor, encodeCursor } from '../cursor.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { AuditPageSchema, AuditQuery, IdParam, PageQuery } from '../schemas.ts'
import { errorResponses, json } from './responses.ts'

/**
 * The DPO's view of the audit log (role `dpo`): search it, and answer "who accessed this person's file". Events
 * name persons by keyed pseudonym only; the DPO gives a person's opaque id and the pseudonym is computed here.
 */
const TAG = 'Délégué à la protection des données'
const security = [{ bearerAuth: [] }]

const searchRoute = createRoute({
    middleware: [auditAs('api.dpo.audit.search')] as const,
  method: 'get',
  path: '/dpo/audit-events',
  tags: [TAG],
  security,
  summary: 'Search the audit log',
  description: 'Newest first. Every filter is optional; `beneficiaireId` finds the events about one person.',
  request: { query: AuditQuery },
  responses: { 200: json(AuditPageSchema, 'A page of events'), ...errorResponses(400, 404) },
})

const accessesRoute = createRoute({
    middleware: [auditAs('api.dpo.accesses.read')] as const,
  method: 'get',
  path: '/dpo/beneficiaires/{id}/acces',
  tags: [TAG],
  security,
  summary: 'Who accessed this person’s file',
  description: 'Every audited request that concerned the person (reads, list pages that included them, denials), newest first.',
  request: { params: IdParam, query: PageQuery },
  responses: { 200: json(AuditPageSchema, 'A page of events'), ...errorResponses(400, 404) },
})

const eventBody = (e: AuditEventRow) => ({ ...e, occurredAt: e.occurredAt.toISOString() })

export function dpoRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(['dpo'])
  const { db, keys } = kit
  const subjectOfPerson = async (publicId: string) => {
    const subject = await subjectOfPublicId(db, keys, publicId)
    if (!subject) throw notFound('unknown_id')
    return subject
  }
  const respond = (items: AuditEventRow[], limit: number, kind: string) => {
    const page = items.slice(0, limit)
    const last = page.at(-1)
    return { items: page.map(eventBody), nextCursor: items.length > limit && last ? encodeCursor(keys.pseudonym, kind, last.seq) : null }
  }

  router.openapi(searchRoute, async (c) => {
    const q = c.req.valid('query')
    const subject = q.beneficiaireId ? await subjectOfPerson(q.beneficiaireId) : undefined
    if (subject) audit(c, { subject })
    const items = await searchAuditEvents(db, {
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      actor: q.actor,
      organisation: q.organisation,
      purpose: q.purpose,
      action: q.action,
      outcome: q.outcome,
      requestId: q.requestId,
      subject,
      beforeSeq: decodeCursor(keys.pseudonym, 'audit', q.cursor) || undefined,
      limit: q.limit + 1,
    })
    audit(c, { details: { count: Math.min(items.length, q.limit) } })
    return c.json(respond(items, q.limit, 'audit'), 200)
  })

  router.openapi(accessesRoute, async (c) => {
    const q = c.req.valid('query')
    const beforeSeq = decodeCursor(keys.pseudonym, 'acces', q.cursor) || undefined
    const subject = await subjectOfPerson(c.req.valid('param').id)
    audit(c, { subject })
    const items = await searchAuditEvents(db, { subject, beforeSeq, limit: q.limit + 1 })
    audit(c, { details: { count: Math.min(items.length, q.limit) } })
    return c.json(respond(items, q.limit, 'acces'), 200)
  })
  return router
}
