import { createRoute } from '@hono/zod-openapi'
import { findAssignmentById, findAssignmentByPublicId, listAssignments, setAssignmentEnd, upsertAssignments, type Assignment } from '../../assignments/assignments.ts'
import { findPersonByPublicId } from '../../access/person-by-public-id.ts'
import { auditSubject } from '../../audit/subject-pseudonym.ts'
import { createOrganisation, findOrganisationBySiret, listOrganisations, type Organisation } from '../../auth/organisations.ts'
import { isSiret } from '../../auth/siret.ts'
import { createUser, findUserByEmail, findUserByPublicId, listUsers, updateUser, type User } from '../../auth/users.ts'
import { ApiError, badRequest, notFound } from '../api-error.ts'
import { audit, auditAs, principalOf } from '../api-context.ts'
import { decodeCursor, encodeCursor } from '../cursor.ts'
import { resourceRouter } from '../resource-router.ts'
import type { ApiRouter, RouteKit } from '../route-kit.ts'
import {
  AssignmentChangesSchema,
  AssignmentSchema,
  AssignmentsQuery,
  IdParam,
  NewAssignmentSchema,
  NewOrganisationSchema,
  NewUserSchema,
  OrganisationSchema,
  PageQuery,
  UserChangesSchema,
  UsersQuery,
  UserSchema,
} from '../schemas.ts'
import { z } from '@hono/zod-openapi'
import { ORGANISATION_TYPES } from '../../purposes/purpose.ts'
import { errorResponses, json } from './responses.ts'

/**
 * Administration (role `admin`): organisations, their users, and assignments made by hand (the orientations flow
 * brings the rest). Every other role gets 404 on these routes.
 */
const TAG = 'Administration'
const security = [{ bearerAuth: [] }]
const body = <T>(schema: T) => ({ required: true, content: { 'application/json': { schema } } })

const routes = {
  listOrganisations: createRoute({
    middleware: [auditAs('api.admin.organisations.list')] as const,
    method: 'get', path: '/admin/organisations', tags: [TAG], security, summary: 'List organisations',
    request: { query: PageQuery },
    responses: { 200: json(z.object({ items: z.array(OrganisationSchema), nextCursor: z.string().nullable() }), 'A page of organisations'), ...errorResponses(400, 404) },
  }),
  createOrganisation: createRoute({
    middleware: [auditAs('api.admin.organisations.create')] as const,
    method: 'post', path: '/admin/organisations', tags: [TAG], security, summary: 'Create an organisation',
    request: { body: body(NewOrganisationSchema) },
    responses: { 201: json(OrganisationSchema, 'Created'), ...errorResponses(400, 404, 409, 413) },
  }),
  listUsers: createRoute({
    middleware: [auditAs('api.admin.users.list')] as const,
    method: 'get', path: '/admin/users', tags: [TAG], security, summary: 'List users',
    request: { query: UsersQuery },
    responses: { 200: json(z.object({ items: z.array(UserSchema), nextCursor: z.string().nullable() }), 'A page of users'), ...errorResponses(400, 404) },
  }),
  createUser: createRoute({
    middleware: [auditAs('api.admin.users.create')] as const,
    method: 'post', path: '/admin/users', tags: [TAG], security, summary: 'Create a user',
    request: { body: body(NewUserSchema) },
    responses: { 201: json(UserSchema, 'Created'), ...errorResponses(400, 404, 409, 413) },
  }),
  updateUser: createRoute({
    middleware: [auditAs('api.admin.users.update')] as const,
    method: 'patch', path: '/admin/users/{id}', tags: [TAG], security, summary: 'Change a user (name, role, active)',
    description: 'Deactivating a user stops every token of theirs at once.',
    request: { params: IdParam, body: body(UserChangesSchema) },
    responses: { 200: json(UserSchema, 'Updated'), ...errorResponses(400, 404, 413) },
  }),
  listAssignments: createRoute({
    middleware: [auditAs('api.admin.assignments.list')] as const,
    method: 'get', path: '/admin/assignments', tags: [TAG], security, summary: 'List assignments',
    request: { query: AssignmentsQuery },
    responses: { 200: json(z.object({ items: z.array(AssignmentSchema), nextCursor: z.string().nullable() }), 'A page of assignments'), ...errorResponses(400, 404) },
  }),
  createAssignment: createRoute({
    middleware: [auditAs('api.admin.assignments.create')] as const,
    method: 'post', path: '/admin/assignments', tags: [TAG], security, summary: 'Assign a beneficiary to a structure (and a referent)',
    description: 'As an orientation: it ends the person’s previous assignment the day before it starts.',
    request: { body: body(NewAssignmentSchema) },
    responses: { 201: json(AssignmentSchema, 'Created'), ...errorResponses(400, 404, 413) },
  }),
  updateAssignment: createRoute({
    middleware: [auditAs('api.admin.assignments.update')] as const,
    method: 'patch', path: '/admin/assignments/{id}', tags: [TAG], security, summary: 'End (or reopen) an assignment',
    request: { params: IdParam, body: body(AssignmentChangesSchema) },
    responses: { 200: json(AssignmentSchema, 'Updated'), ...errorResponses(400, 404, 413) },
  }),
}

const organisationBody = (o: Organisation) => ({ id: o.publicId, siret: o.siret, name: o.name, type: o.type as (typeof ORGANISATION_TYPES)[number], createdAt: o.createdAt.toISOString() })
const userBody = (u: User) => ({
  id: u.publicId,
  email: u.email,
  displayName: u.displayName,
  role: u.role,
  active: u.active,
  organisation: { id: u.organisation.publicId, siret: u.organisation.siret, name: u.organisation.name },
  createdAt: u.createdAt.toISOString(),
})
const assignmentBody = (a: Assignment) => ({
  id: a.publicId,
  beneficiaireId: a.personPublicId,
  organisation: { id: a.organisation.publicId, siret: a.organisation.siret, name: a.organisation.name },
  referent: a.referent ? { id: a.referent.publicId, email: a.referent.email } : null,
  startsOn: a.startsOn,
  endsOn: a.endsOn,
  source: a.source,
  createdAt: a.createdAt.toISOString(),
  updatedAt: a.updatedAt.toISOString(),
})

export function adminRoutes(kit: RouteKit): ApiRouter {
  const router = resourceRouter(['admin'])
  const { db, keys } = kit
  const page = <T extends { id: number }>(rows: T[], limit: number, kind: string) => ({
    rows: rows.slice(0, limit),
    nextCursor: rows.length > limit ? encodeCursor(keys.pseudonym, kind, rows[limit - 1]!.id) : null,
  })
  const organisationBySiret = async (siret: string) => {
    const o = await findOrganisationBySiret(db, siret)
    if (!o) throw badRequest('unknown_organisation', 'organisationSiret: no organisation has this SIRET')
    return o
  }

  router.openapi(routes.listOrganisations, async (c) => {
    const q = c.req.valid('query')
    const rows = await listOrganisations(db, { afterId: decodeCursor(keys.pseudonym, 'organisations', q.cursor), limit: q.limit + 1 })
    const p = page(rows, q.limit, 'organisations')
    return c.json({ items: p.rows.map(organisationBody), nextCursor: p.nextCursor }, 200)
  })

  router.openapi(routes.createOrganisation, async (c) => {
    const input = c.req.valid('json')
    if (!isSiret(input.siret)) throw badRequest('invalid_siret', 'siret: the Luhn check digit is wrong')
    const created = await createOrganisation(db, input)
    if (!created) throw new ApiError(409, 'conflict', 'an organisation has this SIRET already', 'conflict')
    audit(c, { details: { organisation: created.publicId } })
    return c.json(organisationBody(created), 201)
  })

  router.openapi(routes.listUsers, async (c) => {
    const q = c.req.valid('query')
    const organisation = q.organisationSiret ? await organisationBySiret(q.organisationSiret) : undefined
    const rows = await listUsers(db, { organisationId: organisation?.id, afterId: decodeCursor(keys.pseudonym, 'users', q.cursor), limit: q.limit + 1 })
    const p = page(rows, q.limit, 'users')
    return c.json({ items: p.rows.map(userBody), nextCursor: p.nextCursor }, 200)
  })

  router.openapi(routes.createUser, async (c) => {
    const input = c.req.valid('json')
    const organisation = await organisationBySiret(input.organisationSiret)
    const created = await createUser(db, { email: input.email, displayName: input.displayName, role: input.role, organisationId: organisation.id })
    if (!created) throw new ApiError(409, 'conflict', 'a user has this e-mail already', 'conflict')
    audit(c, { details: { user: created.publicId } })
    return c.json(userBody(created), 201)
  })

  router.openapi(routes.updateUser, async (c) => {
    const user = await findUserByPublicId(db, c.req.valid('param').id)
    if (!user) throw notFound('unknown_id')
    const changes = c.req.valid('json')
    const updated = await updateUser(db, user.id, changes)
    kit.credentialsChanged()
    audit(c, { details: { user: user.publicId, changed: Object.keys(changes) } })
    return c.json(userBody(updated!), 200)
  })

  router.openapi(routes.listAssignments, async (c) => {
    const q = c.req.valid('query')
    let personId: number | undefined
    if (q.beneficiaireId) {
      const person = await findPersonByPublicId(db, q.beneficiaireId)
      if (!person) throw notFound('unknown_id')
      personId = person.personId
      audit(c, { subject: auditSubject(keys.pseudonym, person.matchKey) })
    }
    const referent = q.referentEmail ? await findUserByEmail(db, q.referentEmail) : undefined
    if (q.referentEmail && !referent) throw badRequest('unknown_referent', 'referentEmail: no user has this e-mail')
    const organisation = q.organisationSiret ? await organisationBySiret(q.organisationSiret) : undefined
    const rows = await listAssignments(db, {
      personId,
      referentUserId: referent?.id,
      organisationId: organisation?.id,
      afterId: decodeCursor(keys.pseudonym, 'assignments', q.cursor),
      limit: q.limit + 1,
    })
    const p = page(rows, q.limit, 'assignments')
    audit(c, { details: { count: p.rows.length } })
    return c.json({ items: p.rows.map(assignmentBody), nextCursor: p.nextCursor }, 200)
  })

  router.openapi(routes.createAssignment, async (c) => {
    const principal = principalOf(c)
    const input = c.req.valid('json')
    if (input.endsOn && input.endsOn < input.startsOn) throw badRequest('end_before_start', 'endsOn: before startsOn')
    const person = await findPersonByPublicId(db, input.beneficiaireId)
    if (!person) throw badRequest('unknown_beneficiaire', 'beneficiaireId: no such person')
    audit(c, { subject: auditSubject(keys.pseudonym, person.matchKey) })
    const organisation = await organisationBySiret(input.organisationSiret)
    let referentUserId: number | null = null
    if (input.referentEmail) {
      const referent = await findUserByEmail(db, input.referentEmail)
      if (!referent) throw badRequest('unknown_referent', 'referentEmail: no user has this e-mail')
      if (referent.organisation.id !== organisation.id) throw badRequest('referent_not_in_structure', 'referentEmail: the user is not a member of this organisation')
      if (referent.role !== 'referent' && referent.role !== 'structure-manager') throw badRequest('referent_role', 'referentEmail: the user is neither a referent nor a structure manager')
      referentUserId = referent.id
    }
    const [id] = await db.transaction((tx) =>
      upsertAssignments(tx, [{ personId: person.personId, organisationId: organisation.id, referentUserId, startsOn: input.startsOn, endsOn: input.endsOn ?? null }], {
        source: 'admin',
        userId: principal.user.id,
      }),
    )
    const created = await findAssignmentById(db, id!)
    audit(c, { details: { assignment: created!.publicId } })
    return c.json(assignmentBody(created!), 201)
  })

  router.openapi(routes.updateAssignment, async (c) => {
    const assignment = await findAssignmentByPublicId(db, c.req.valid('param').id)
    if (!assignment) throw notFound('unknown_id')
    const person = await findPersonByPublicId(db, assignment.personPublicId)
    if (person) audit(c, { subject: auditSubject(keys.pseudonym, person.matchKey) })
    const { endsOn } = c.req.valid('json')
    if (endsOn !== null && endsOn < assignment.startsOn) throw badRequest('end_before_start', 'endsOn: before the assignment starts')
    await setAssignmentEnd(db, assignment.id, endsOn)
    audit(c, { details: { assignment: assignment.publicId } })
    return c.json(assignmentBody((await findAssignmentById(db, assignment.id))!), 200)
  })
  return router
}
