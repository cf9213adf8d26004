import { createRoute } from '@hono/zod-openapi'
import { callerOf, decideForPerson } from '../../access/can-see.ts'
import { bestAccess, portfolioRelation, portfolioWindow, type PortfolioAccess } from '../../access/portfolio.ts'
import { FILTER_FIELDS, listPersonStateChanges, listPortfolio, type PersonRow } from '../../access/portfolio-queries.ts'
import { auditSubject } from '../../audit/subject-pseudonym.ts'
import type { Principal } from '../../auth/principal.ts'
import type { CanonicalField } from '../../model/fields.ts'
import { canonicalRecordFromRow, stateChangeField } from '../../model/canonical-records.ts'
import { project, transformValue } from '../../purposes/project.ts'
import { exposedName, ROLES } from '../../purposes/purpose.ts'
import { badRequest, notFound } from '../api-error.ts'
import { audit, auditAs, principalOf, type ApiContext } from '../api-context.ts'
import { decodeCursor, encodeCursor } from '../cursor.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import { fieldSelection, type FieldSelection } from '../field-selection.ts'
import { BeneficiairePageSchema, BeneficiaireSchema, HistoryPageSchema, IdParam, PageQuery, PortfolioQuery, RecordQuery } from '../schemas.ts'
import { errorResponses, json } from './responses.ts'

/**
 * The referent's view: their portfolio, one beneficiary, and the history of a beneficiary's states. The row filter
 * is the assignment rules (src/access/portfolio.ts); the column filter is the token's purpose, through
 * project(). A person outside the portfolio, unknown or under a limitation answers 404 alike.
 */
const TAG = 'Bénéficiaires'
const security = [{ bearerAuth: [] }]
/** The roles with a portfolio (portfolioRelation): everyone else gets 404 on these routes. */
const PORTFOLIO_ROLES = ROLES.filter((role) => portfolioRelation(role) !== undefined)

const listRoute = createRoute({
  middleware: [auditAs('api.beneficiaires.list')] as const,
  method: 'get',
  path: '/beneficiaires',
  tags: [TAG],
  security,
  summary: 'The caller’s portfolio',
  description:
    'Persons assigned to the caller now (referent), or to the caller’s structure (structure manager), plus those whose assignment ended less than the grace period ago (read-only); for an instructor of the département, every person of the active base. Keyset pagination in a stable order: persons added by an import while paging appear on later pages, never twice. Persons under a limitation of processing are left out.',
  request: { query: PortfolioQuery },
  responses: { 200: json(BeneficiairePageSchema, 'A page of the portfolio'), ...errorResponses(400) },
})

const getRoute = createRoute({
  middleware: [auditAs('api.beneficiaire.read')] as const,
  method: 'get',
  path: '/beneficiaires/{id}',
  tags: [TAG],
  security,
  summary: 'One beneficiary of the portfolio',
  description: 'The person’s record through the token’s purpose: only the fields the purpose declares, under its names.',
  request: { params: IdParam, query: RecordQuery },
  responses: { 200: json(BeneficiaireSchema, 'The beneficiary'), ...errorResponses(400, 404) },
})

const historyRoute = createRoute({
  middleware: [auditAs('api.beneficiaire.history')] as const,
  method: 'get',
  path: '/beneficiaires/{id}/historique',
  tags: [TAG],
  security,
  summary: 'State changes of a beneficiary',
  description:
    'Changes seen across successive flows (état du droit, France Travail registration...), oldest first, limited to the fields the token’s purpose declares.',
  request: { params: IdParam, query: PageQuery },
  responses: { 200: json(HistoryPageSchema, 'A page of history'), ...errorResponses(400, 404) },
})

export function beneficiaireRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(PORTFOLIO_ROLES)
  const { db, keys, options } = kit
  const subjectOf = (principal: Principal, matchKey: string) =>
    principal.purpose.audit === 'metadata' ? null : auditSubject(keys.pseudonym, matchKey)

  /** The fields `champs` chooses among the caller's purpose (all of them without it); 400 for a name it does not expose. */
  function selectionOf(c: ApiContext, champs: string | undefined): FieldSelection {
    const principal = principalOf(c)
    const selection = fieldSelection(principal.purpose, champs, kit.fieldsOf)
    if ('unknown' in selection) {
      throw badRequest('unknown_field', `champs: ${selection.unknown} name(s) are not fields of purpose ${principal.purpose.id} (its fields are in the response schema)`)
    }
    if (selection.names) audit(c, { details: { champs: selection.names } })
    return selection
  }

  /**
   * The person if the caller may see them now; otherwise a 404 whose audit reason says why. `read` are the fields
   * read with the person (none when only the decision is needed).
   */
  async function authorisedPerson(c: ApiContext, id: string, read: readonly CanonicalField[]): Promise<{ principal: Principal; row: PersonRow; access: PortfolioAccess; now: Date }> {
    const principal = principalOf(c)
    const now = kit.now()
    const found = await decideForPerson(db, { principal, publicId: id, fields: read, now, graceDays: options.graceDays })
    if (!found) throw notFound('unknown_id')
    const { row, decision } = found
    audit(c, { subject: subjectOf(principal, row.matchKey) })
    if (!decision.granted) throw notFound(decision.reason)
    audit(c, { details: { access: decision.access.mode } })
    return { principal, row, access: decision.access, now }
  }

  const present = (selection: FieldSelection, row: PersonRow, access: PortfolioAccess, now: Date) => ({
    id: row.publicId,
    updatedAt: row.updatedAt.toISOString(),
    access,
    data: project(canonicalRecordFromRow(row.values, selection.read, keys), selection.purpose, { asOf: now }),
  })

  router.openapi(listRoute, async (c) => {
    const principal = principalOf(c)
    const query = c.req.valid('query')
    const filters = { etatDroit: query.etatDroit, soumisDroitsDevoirs: query.soumisDroitsDevoirs, inscritFranceTravail: query.inscritFranceTravail }
    for (const [name, value] of Object.entries(filters)) {
      if (value === undefined) continue
      const fieldId = FILTER_FIELDS[name as keyof typeof FILTER_FIELDS]
      const exposed = principal.purpose.fields.some((f) => f.field === fieldId && f.transform === 'keep')
      // Filtering on a field the purpose does not expose would reveal it one yes/no at a time.
      if (!exposed) throw badRequest('filter_not_allowed', `${name}: purpose ${principal.purpose.id} does not expose ${fieldId}, so it cannot filter on it`)
    }
    const relation = portfolioRelation(principal.user.role)
    if (!relation) throw notFound('role_without_portfolio')
    const selection = selectionOf(c, query.champs)
    const now = kit.now()
    const after = decodeCursor(keys.pseudonym, 'beneficiaires', query.cursor)
    const rows = await listPortfolio(db, {
      caller: callerOf(principal),
      fields: selection.read,
      window: portfolioWindow(now, options.graceDays),
      afterPersonId: after,
      limit: query.limit,
      filters: { ...filters, modifieDepuis: query.modifieDepuis ? new Date(query.modifieDepuis) : undefined },
      now,
    })
    const page = rows.slice(0, query.limit)
    const items = []
    const subjects: string[] = []
    for (const row of page) {
      // The SQL pre-filter and the pure rules must agree; a row they disagree on is not served.
      const access = bestAccess(row.assignments, relation, now, options.graceDays)
      if (!access) continue
      items.push(present(selection, row, access, now))
      const subject = subjectOf(principal, row.matchKey)
      if (subject) subjects.push(subject)
    }
    audit(c, { details: { count: items.length, subjects } })
    const last = page.at(-1)
    const nextCursor = rows.length > query.limit && last ? encodeCursor(keys.pseudonym, 'beneficiaires', last.personId) : null
    return c.json({ items, nextCursor }, 200)
  })

  router.openapi(getRoute, async (c) => {
    const selection = selectionOf(c, c.req.valid('query').champs)
    const { row, access, now } = await authorisedPerson(c, c.req.valid('param').id, selection.read)
    return c.json(present(selection, row, access, now), 200)
  })

  router.openapi(historyRoute, async (c) => {
    const query = c.req.valid('query')
    const after = decodeCursor(keys.pseudonym, 'historique', query.cursor)
    // The history reads only the person's changes: no field of the record itself.
    const { principal, row, now } = await authorisedPerson(c, c.req.valid('param').id, [])
    const changes = await listPersonStateChanges(db, { personId: row.personId, matchKey: row.matchKey, afterId: after, limit: query.limit })
    const page = changes.slice(0, query.limit)
    const items = []
    for (const change of page) {
      const field = stateChangeField(change.field, change.onDossier)
      if (!field) continue
      for (const declared of principal.purpose.fields) {
        if (declared.field !== field.id || declared.transform === 'omit') continue
        items.push({
          field: exposedName(declared),
          from: transformValue(change.oldValue, declared, { asOf: now }),
          to: transformValue(change.newValue, declared, { asOf: now }),
          effectiveDate: change.effectiveDate,
          recordedAt: change.transmittedAt.toISOString(),
        })
      }
    }
    audit(c, { details: { count: items.length } })
    const last = page.at(-1)
    const nextCursor = changes.length > query.limit && last ? encodeCursor(keys.pseudonym, 'historique', last.id) : null
    return c.json({ id: row.publicId, items, nextCursor }, 200)
  })
  return router
}
