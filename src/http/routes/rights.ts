import { createRoute, z } from '@hono/zod-openapi'
import { ApiError, badRequest, notFound } from '../api-error.ts'
import { audit, auditAs, type ApiContext, principalOf } from '../api-context.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { errorResponses, json } from './responses.ts'
import { CalendarDate } from '../schemas.ts'
import { renderAccessExport } from '../../rights/access-export.ts'
import { eraseForRequest } from '../../rights/erasure.ts'
import { liftLimitation } from '../../rights/limitation.ts'
import { issueRectificationNotice } from '../../rights/rectification-notice.ts'
import { closeRequest, extendRequest, listRequests, openRequest, publicRequest, showRequest } from '../../rights/requests.ts'
import { OUTCOMES, REQUEST_TYPES, RightsError, type RightsContext } from '../../rights/rights-request.ts'
import { selectRequest } from '../../rights/queries.ts'

/**
 * Data-subject requests over the partner API, for the DPO only (role `dpo`; anyone else gets 404, as for an unknown
 * route). The same steps as `passerelle rights`: each writes the request's action and an audit event about the
 * person's pseudonym, besides the API's own trail event (`api.dpo.rights.*`). The NIR and birth date sent to open a
 * request become blind indexes at once; no response echoes them, and no error message quotes a value.
 */
const TAG = 'Droits des personnes'
const security = [{ bearerAuth: [] }]
const body = <T>(schema: T) => ({ required: true, content: { 'application/json': { schema } } })

const NumberParam = z.object({
  number: z
    .string()
    .regex(/^[1-9][0-9]{0,11}$/, 'must be a request number')
    .transform(Number)
    .openapi({ param: { name: 'number', in: 'path' }, description: 'Request number.', example: 12, type: 'integer' }),
})

const OpenSchema = z
  .object({
    type: z.enum(REQUEST_TYPES, { message: `must be one of ${REQUEST_TYPES.join(', ')}` }),
    nir: z
      .string()
      .regex(/^[0-9ABab ]{13,19}$/, 'must be a NIR of 13 or 15 characters')
      .openapi({ description: 'The person’s NIR. Turned into blind indexes at once; never stored, logged or returned.' }),
    birthDate: CalendarDate.openapi({ description: 'The person’s birth date. Used for the match key only; never stored.' }),
    receivedOn: CalendarDate.optional().openapi({ description: 'Day of receipt (default: today, Europe/Paris).' }),
    purpose: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be a purpose id').optional().openapi({ description: 'Access, opposition or erasure for one purpose.' }),
    fields: z
      .array(z.string().regex(/^[a-zA-Z]+\.[a-zA-Z0-9]+$/, 'must be a canonical field id such as personne.nom'))
      .max(50, 'at most 50 fields')
      .optional()
      .openapi({ description: 'Rectification: the contested canonical field ids.' }),
  })
  .strict()
  .openapi('RightsRequestOpen')

const RequestSchema = z
  .object({
    id: z.number().int(),
    type: z.enum(REQUEST_TYPES),
    purpose: z.string().nullable(),
    fields: z.array(z.string()),
    subject: z.string().openapi({ description: 'The person’s audit pseudonym.' }),
    matchedBy: z.enum(['nir_and_birth_date', 'nir', 'none']),
    receivedOn: z.string(),
    dueOn: z.string(),
    extendedDueOn: z.string().nullable(),
    extensionReason: z.string().nullable(),
    state: z.enum(['open', 'closed']),
    outcome: z.enum(OUTCOMES).nullable(),
    limitation: z.number().int().nullable(),
    openedBy: z.string(),
    openedAt: z.string(),
    closedBy: z.string().nullable(),
    closedAt: z.string().nullable(),
  })
  .openapi('RightsRequest')

const OpenedSchema = RequestSchema.extend({ found: z.boolean(), notes: z.array(z.string()) }).openapi('RightsRequestOpened')
const ListedSchema = RequestSchema.extend({ deadline: z.string(), urgency: z.enum(['overdue', 'due_soon', 'on_time', 'closed']), daysLeft: z.number().int() })
const ListSchema = z.object({ items: z.array(ListedSchema) }).openapi('RightsRequestList')
const DetailsSchema = z
  .object({
    request: RequestSchema,
    deadline: z.string(),
    urgency: z.enum(['overdue', 'due_soon', 'on_time', 'closed']),
    actions: z.array(z.object({ occurredAt: z.string(), actor: z.string(), action: z.string(), details: z.record(z.string(), z.unknown()) })),
    contested: z.array(z.object({ fieldId: z.string(), table: z.string(), open: z.boolean(), closedReason: z.string().nullable(), closedByFileId: z.number().int().nullable() })),
    oppositions: z.array(z.object({ purpose: z.string(), since: z.string() })),
  })
  .openapi('RightsRequestDetails')
const ErasureSchema = z
  .object({
    requestId: z.number().int(),
    dryRun: z.boolean(),
    outcome: z.enum(['granted', 'partially_granted', 'refused', 'no_data']),
    scope: z.enum(['full', 'fields', 'none']),
    granted: z.array(z.string()),
    refused: z.array(z.object({ purpose: z.string(), reason: z.string() })),
    fieldsCleared: z.array(z.string()),
    counts: z.record(z.string(), z.number()),
    ids: z.object({ count: z.number().int(), sha256: z.string() }),
  })
  .openapi('RightsErasure')

const ListQuery = z
  .object({
    all: z.enum(['true', 'false']).optional().openapi({ description: 'Include closed requests.' }),
    due: z.enum(['true', 'false']).optional().openapi({ description: 'Only overdue and due-soon requests.' }),
  })
  .strict()
const FormatQuery = (formats: [string, ...string[]]) => z.object({ format: z.enum(formats).optional() }).strict()

const base = { tags: [TAG], security }

const routes = {
  open: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.open')] as const,
    method: 'post',
    path: '/dpo/rights-requests',
    summary: 'Record a data-subject request',
    description: 'Records the request with its legal deadline (one month from receipt). A limitation applies at once; a rectification flags the contested fields.',
    request: { body: body(OpenSchema) },
    responses: { 201: json(OpenedSchema, 'Recorded'), ...errorResponses(400, 404, 413) },
  }),
  list: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.list')] as const,
    method: 'get',
    path: '/dpo/rights-requests',
    summary: 'Requests by urgency',
    description: 'Overdue first, then due within 7 days, then the others.',
    request: { query: ListQuery },
    responses: { 200: json(ListSchema, 'The requests'), ...errorResponses(400, 404) },
  }),
  show: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.read')] as const,
    method: 'get',
    path: '/dpo/rights-requests/{number}',
    summary: 'One request with every action taken',
    request: { params: NumberParam },
    responses: { 200: json(DetailsSchema, 'The request'), ...errorResponses(400, 404) },
  }),
  extend: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.extend')] as const,
    method: 'post',
    path: '/dpo/rights-requests/{number}/extension',
    summary: 'Extend the deadline by two months (once, within the first month)',
    request: { params: NumberParam, body: body(z.object({ reason: z.string().min(10, 'at least 10 characters').max(1000, 'too long') }).strict()) },
    responses: { 200: json(RequestSchema, 'Extended'), ...errorResponses(400, 404, 409, 413) },
  }),
  close: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.close')] as const,
    method: 'post',
    path: '/dpo/rights-requests/{number}/close',
    summary: 'Record the answer given to the person',
    request: { params: NumberParam, body: body(z.object({ outcome: z.enum(OUTCOMES, { message: `must be one of ${OUTCOMES.join(', ')}` }) }).strict()) },
    responses: { 200: json(RequestSchema, 'Closed'), ...errorResponses(400, 404, 409, 413) },
  }),
  lift: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.lift')] as const,
    method: 'post',
    path: '/dpo/rights-requests/{number}/lift',
    summary: 'Lift the limitation a request applied',
    request: { params: NumberParam },
    responses: { 200: json(z.object({ limitation: z.number().int(), liftedAt: z.string() }), 'Lifted'), ...errorResponses(400, 404, 409) },
  }),
  erase: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.erase')] as const,
    method: 'post',
    path: '/dpo/rights-requests/{number}/erasure',
    summary: 'Carry out an opposition or erasure request',
    description: 'Decides from the purposes’ legal bases (refusals come with the reason to give the person), then deletes, with a receipt in the audit log. `dryRun` counts without changing anything.',
    request: { params: NumberParam, body: body(z.object({ dryRun: z.boolean().optional() }).strict()) },
    responses: { 200: json(ErasureSchema, 'Done (or counted)'), ...errorResponses(400, 404, 409, 413) },
  }),
  export: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.export')] as const,
    method: 'get',
    path: '/dpo/rights-requests/{number}/export',
    summary: 'The answer to an access request (personal data, audited)',
    description: 'Everything held on the person, what each purpose sees, and who accessed their file: JSON (default) or a standalone French HTML page (`format=html`).',
    request: { params: NumberParam, query: FormatQuery(['json', 'html']) },
    responses: {
      200: { description: 'The export', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) }, 'text/html': { schema: z.string() } } },
      ...errorResponses(400, 404, 409),
    },
  }),
  notice: createRoute({
    ...base,
    middleware: [auditAs('api.dpo.rights.notice')] as const,
    method: 'get',
    path: '/dpo/rights-requests/{number}/notice',
    summary: 'The rectification notice to the source body',
    description: 'Dossier identifiers and contested fields, never the contested values: text (default) or HTML (`format=html`).',
    request: { params: NumberParam, query: FormatQuery(['text', 'html']) },
    responses: { 200: { description: 'The notice', content: { 'text/plain': { schema: z.string() }, 'text/html': { schema: z.string() } } }, ...errorResponses(400, 404, 409) },
  }),
}

function toApiError(error: unknown): unknown {
  if (!(error instanceof RightsError)) return error
  if (error.code === 'not_found') return notFound('unknown_request')
  if (error.code === 'invalid') return badRequest('invalid_request', error.message)
  return new ApiError(409, 'conflict', error.message, 'conflict')
}

export function rightsRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(['dpo'])
  const contextOf = (c: ApiContext): RightsContext => {
    const principal = principalOf(c)
    return { db: kit.db, keys: kit.keys, purposes: kit.purposes, now: kit.now(), actor: principal.user.email, organisation: principal.organisation.siret, requestId: c.get('requestId') }
  }
  /** Names the request and its person's pseudonym on the trail event, then runs the step. */
  const step = async <T>(c: ApiContext, number: number | undefined, fn: (ctx: RightsContext) => Promise<T>): Promise<T> => {
    const ctx = contextOf(c)
    if (number !== undefined) {
      const request = await selectRequest(kit.db, number)
      if (!request) throw notFound('unknown_request')
      audit(c, { subject: request.subject, details: { rightsRequest: number } })
    }
    try {
      return await fn(ctx)
    } catch (error) {
      throw toApiError(error)
    }
  }

  router.openapi(routes.open, async (c) => {
    const b = c.req.valid('json')
    const opened = await step(c, undefined, (ctx) =>
      openRequest(ctx, { type: b.type, nir: b.nir, birthDate: b.birthDate, receivedOn: b.receivedOn, purpose: b.purpose, fields: b.fields }),
    )
    audit(c, { subject: opened.request.subject, details: { rightsRequest: opened.request.id, type: opened.request.type } })
    return c.json({ ...publicRequest(opened.request), found: opened.found, notes: opened.notes }, 201)
  })

  router.openapi(routes.list, async (c) => {
    const q = c.req.valid('query')
    const listed = await step(c, undefined, (ctx) => listRequests(ctx, { includeClosed: q.all === 'true', only: q.due === 'true' ? 'due' : undefined }))
    audit(c, { details: { count: listed.length } })
    return c.json({ items: listed.map((l) => ({ ...publicRequest(l.request), deadline: l.deadline, urgency: l.urgency, daysLeft: l.daysLeft })) }, 200)
  })

  router.openapi(routes.show, async (c) => {
    const number = c.req.valid('param').number
    const d = await step(c, number, (ctx) => showRequest(ctx, number))
    return c.json(
      {
        request: publicRequest(d.request),
        deadline: d.deadline,
        urgency: d.urgency,
        actions: d.actions.map((a) => ({ occurredAt: a.occurredAt.toISOString(), actor: a.actor, action: a.action, details: a.details })),
        contested: d.contested.map((f) => ({ fieldId: f.fieldId, table: f.table, open: f.closedAt === null, closedReason: f.closedReason, closedByFileId: f.closedByFileId })),
        oppositions: d.oppositions.map((o) => ({ purpose: o.purpose, since: o.since.toISOString() })),
      },
      200,
    )
  })

  router.openapi(routes.extend, async (c) => {
    const number = c.req.valid('param').number
    const r = await step(c, number, (ctx) => extendRequest(ctx, number, c.req.valid('json').reason))
    return c.json(publicRequest(r), 200)
  })

  router.openapi(routes.close, async (c) => {
    const number = c.req.valid('param').number
    const r = await step(c, number, (ctx) => closeRequest(ctx, number, c.req.valid('json').outcome))
    return c.json(publicRequest(r), 200)
  })

  router.openapi(routes.lift, async (c) => {
    const number = c.req.valid('param').number
    const lifted = await step(c, number, (ctx) => liftLimitation(ctx, number))
    return c.json({ limitation: lifted.limitationId, liftedAt: lifted.liftedAt.toISOString() }, 200)
  })

  router.openapi(routes.erase, async (c) => {
    const number = c.req.valid('param').number
    const result = await step(c, number, (ctx) => eraseForRequest(ctx, number, { dryRun: c.req.valid('json').dryRun ?? false }))
    audit(c, { details: { dryRun: result.dryRun, outcome: result.decision.outcome, scope: result.decision.scope } })
    const d = result.decision
    return c.json(
      { requestId: result.requestId, dryRun: result.dryRun, outcome: d.outcome, scope: d.scope, granted: d.granted, refused: d.refused, fieldsCleared: d.fieldsToClear, counts: result.counts, ids: result.ids },
      200,
    )
  })

  router.openapi(routes.export, async (c) => {
    const number = c.req.valid('param').number
    const rendered = await step(c, number, (ctx) => renderAccessExport(ctx, number))
    const headers = { 'Content-Disposition': `attachment; filename="demande-${number}-acces.${c.req.valid('query').format === 'html' ? 'html' : 'json'}"` }
    if (c.req.valid('query').format === 'html') return c.body(rendered.html, 200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }) as never
    return c.body(rendered.json, 200, { ...headers, 'Content-Type': 'application/json; charset=utf-8' }) as never
  })

  router.openapi(routes.notice, async (c) => {
    const number = c.req.valid('param').number
    const issued = await step(c, number, (ctx) => issueRectificationNotice(ctx, number))
    const html = c.req.valid('query').format === 'html'
    return c.body(html ? issued.html : issued.text, 200, {
      'Content-Type': html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="demande-${number}-avis-rectification.${html ? 'html' : 'txt'}"`,
    }) as never
  })
  return router
}
