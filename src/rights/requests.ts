import { AuditTextError, checkAuditText } from '../audit/free-text.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { isCalendarDate } from '../retention/duration.ts'
import { checkExtension, currentDeadline, daysBetween, DEFAULT_DUE_SOON_DAYS, dueOn, today, urgency, type Urgency } from './deadline.ts'
import { identifyPerson } from './identify-person.ts'
import { applyLimitation } from './limitation.ts'
import { holdsAnything, readHeldPerson } from './person-data.ts'
import {
  forgetClosedRequestIndexes,
  insertRequest,
  personIdOf,
  selectActions,
  selectRequest,
  selectRequests,
  updateClosed,
  updateExtension,
} from './queries.ts'
import { recordStep } from './record-step.ts'
import { closeFlagsWithRequest, flagContestedFields, listContestedFields, type ContestedField } from './rectification.ts'
import { RightsError, type MatchedBy, type Outcome, type RequestAction, type RequestType, type RightsContext, type RightsRequest } from './rights-request.ts'

/**
 * The life of a request: opened (with its deadline), maybe extended once, acted upon (export, notice, erasure,
 * limitation and its lifting), closed with an outcome. Each step is one transaction that also writes the request's
 * action and the audit event (record-step.ts).
 */
export interface OpenRequestInput {
  type: RequestType
  /** NIR, 13 or 15 characters; checked, turned into blind indexes, never kept. */
  nir: string
  /** `YYYY-MM-DD`; used for the match key only, never kept. */
  birthDate: string
  /** Day of receipt, `YYYY-MM-DD` (default: today in Europe/Paris). */
  receivedOn?: string | undefined
  /** Access, opposition, erasure: limit the request to one purpose. */
  purpose?: string | undefined
  /** Rectification: the contested canonical field ids. */
  fields?: readonly string[] | undefined
}

export interface OpenedRequest {
  request: RightsRequest
  /** Whether anything is held on the person (active or archive). */
  found: boolean
  matchedBy: MatchedBy
  /** What the DPO should know, without any personal value. */
  notes: string[]
}

const PURPOSE_TYPES: readonly RequestType[] = ['access', 'opposition', 'erasure']

export function validateOpenInput(ctx: Pick<RightsContext, 'purposes' | 'now'>, input: Omit<OpenRequestInput, 'nir' | 'birthDate'>): { receivedOn: string; fields: string[] } {
  const day = today(ctx.now)
  const receivedOn = input.receivedOn ?? day
  if (!isCalendarDate(receivedOn)) throw new RightsError('invalid', 'received: must be a date YYYY-MM-DD')
  if (receivedOn > day) throw new RightsError('invalid', `received: ${receivedOn} is in the future (today is ${day})`)
  if (input.purpose !== undefined) {
    if (!PURPOSE_TYPES.includes(input.type)) throw new RightsError('invalid', `purpose: only access, opposition and erasure requests name a purpose`)
    if (!ctx.purposes.has(input.purpose)) throw new RightsError('invalid', `purpose: unknown purpose "${input.purpose}" (known: ${[...ctx.purposes.keys()].join(', ')})`)
  }
  const fields = [...new Set(input.fields ?? [])]
  if (input.type === 'rectification') {
    if (fields.length === 0) throw new RightsError('invalid', 'fields: a rectification request names the contested fields (canonical ids such as personne.nom, adresse.nomVoie)')
    const unknown = fields.filter((f) => !FIELDS_BY_ID.has(f))
    if (unknown.length > 0) throw new RightsError('invalid', `fields: unknown field ${unknown.map((f) => `"${f}"`).join(', ')} (see passerelle register, or src/model/fields.ts)`)
  } else if (fields.length > 0) {
    throw new RightsError('invalid', 'fields: only rectification requests name fields')
  }
  return { receivedOn, fields }
}

export async function openRequest(ctx: RightsContext, input: OpenRequestInput): Promise<OpenedRequest> {
  const { receivedOn, fields } = validateOpenInput(ctx, input)
  const person = await identifyPerson(ctx.db, ctx.keys, input.nir, input.birthDate)
  return ctx.db.transaction(async (tx) => {
    const request = await insertRequest(tx, {
      type: input.type,
      purpose: input.purpose ?? null,
      fields,
      matchKey: person.matchKey,
      nirIndex: person.nirIndex,
      subject: person.subject,
      matchedBy: person.matchedBy,
      receivedOn,
      dueOn: dueOn(receivedOn),
      openedBy: ctx.actor,
      openedAt: ctx.now,
    })
    const held = await readHeldPerson(tx, ctx.keys, person.matchKey)
    const found = holdsAnything(held)
    await recordStep(tx, ctx, request, {
      action: 'rights.open',
      details: { type: request.type, purpose: request.purpose, fields, receivedOn, dueOn: request.dueOn, matchedBy: person.matchedBy, found },
    })
    const notes: string[] = []
    if (person.matchedBy === 'nir') notes.push('found by NIR only: the birth date held differs from the one given (consider contesting personne.dateNaissance)')
    if (person.othersWithNir > 0) {
      notes.push(
        `${person.othersWithNir} other held person(s) bear this NIR under another birth date (an earlier one since corrected, or a shared NIR): this request does not cover them; check the identity and open a request with the birth date held if they are this person`,
      )
    }
    if (!found && person.othersWithNir === 0) notes.push('Passerelle holds nothing on this person (active base and archive): answer so, then close with --outcome no_data')
    else if (!found) notes.push('nothing is held under this NIR and birth date, but the NIR is held (above): do not answer that nothing is held before checking')
    if (request.type === 'limitation') {
      const { applied } = await applyLimitation(tx, ctx, request)
      notes.push(applied ? 'limitation applied: the partner API, the extracts and the France Travail exchanges leave the person out (an archived person from their return, should a file bring them back)' : 'no record to limit (active base and archive)')
    }
    if (request.type === 'rectification') {
      const flagged = await flagContestedFields(tx, ctx, request, held)
      notes.push(`${flagged.flagged} held value(s) flagged as contested`)
      if (flagged.withoutRow.length > 0) notes.push(`not held for this person: ${flagged.withoutRow.join(', ')}`)
    }
    return { request: (await selectRequest(tx, request.id))!, found, matchedBy: person.matchedBy, notes }
  })
}

export async function extendRequest(ctx: RightsContext, id: number, reason: string): Promise<RightsRequest> {
  try {
    checkAuditText('reason', reason)
  } catch (error) {
    if (error instanceof AuditTextError) throw new RightsError('invalid', `request ${id}: cannot extend: ${error.message}`)
    throw error
  }
  return ctx.db.transaction(async (tx) => {
    const request = await selectRequest(tx, id, true)
    if (!request) throw new RightsError('not_found', `request ${id}: no such request`)
    const check = checkExtension(request, today(ctx.now), reason)
    if (!check.ok) throw new RightsError('conflict', `request ${id}: cannot extend: ${check.reason}`)
    await updateExtension(tx, id, check.extendedDueOn, reason.trim())
    await recordStep(tx, ctx, request, {
      action: 'rights.extend',
      details: { extendedDueOn: check.extendedDueOn },
      texts: { reason: reason.trim() },
      personId: request.matchKey ? await personIdOf(tx, request.matchKey) : null,
    })
    return (await selectRequest(tx, id))!
  })
}

export async function closeRequest(ctx: RightsContext, id: number, outcome: Outcome): Promise<RightsRequest> {
  return ctx.db.transaction(async (tx) => {
    const request = await selectRequest(tx, id, true)
    if (!request) throw new RightsError('not_found', `request ${id}: no such request`)
    if (request.state === 'closed') throw new RightsError('conflict', `request ${id}: already closed (${request.outcome})`)
    // Flags stay open while the source body has not corrected, unless the request was refused or withdrawn.
    const flagsClosed = outcome === 'refused' || outcome === 'withdrawn' ? await closeFlagsWithRequest(tx, id, ctx.now) : 0
    await updateClosed(tx, id, outcome, ctx.actor, ctx.now)
    const indexesCleared = await forgetClosedRequestIndexes(tx, id)
    const day = today(ctx.now)
    await recordStep(tx, ctx, request, {
      action: 'rights.close',
      details: { outcome, onTime: day <= currentDeadline(request), deadline: currentDeadline(request), flagsClosed, indexesCleared },
    })
    return (await selectRequest(tx, id))!
  })
}

export interface ListedRequest {
  request: RightsRequest
  deadline: string
  urgency: Urgency
  /** Days left to the deadline (negative when overdue). */
  daysLeft: number
}

/** Requests with where they stand on `now`'s civil day: overdue first, then due soon, then the others. */
export async function listRequests(
  ctx: Pick<RightsContext, 'db' | 'now'>,
  options: { includeClosed?: boolean; soonDays?: number; only?: 'due' | undefined; limit?: number } = {},
): Promise<ListedRequest[]> {
  const day = today(ctx.now)
  const soon = options.soonDays ?? DEFAULT_DUE_SOON_DAYS
  const requests = await selectRequests(ctx.db, { includeClosed: options.includeClosed ?? false, limit: options.limit ?? 1000 })
  const order: Record<Urgency, number> = { overdue: 0, due_soon: 1, on_time: 2, closed: 3 }
  return requests
    .map((request) => ({ request, deadline: currentDeadline(request), urgency: urgency(request, day, soon), daysLeft: daysBetween(day, currentDeadline(request)) }))
    .filter((r) => options.only !== 'due' || r.urgency === 'overdue' || r.urgency === 'due_soon')
    .sort((a, b) => order[a.urgency] - order[b.urgency] || (a.deadline < b.deadline ? -1 : a.deadline > b.deadline ? 1 : a.request.id - b.request.id))
}

export interface RequestDetails {
  request: RightsRequest
  deadline: string
  urgency: Urgency
  actions: RequestAction[]
  contested: ContestedField[]
  oppositions: { purpose: string; since: Date }[]
}

export async function showRequest(ctx: Pick<RightsContext, 'db' | 'now'>, id: number): Promise<RequestDetails> {
  const request = await selectRequest(ctx.db, id)
  if (!request) throw new RightsError('not_found', `request ${id}: no such request`)
  const { rows } = await ctx.db.query<{ purpose: string; since: Date | string }>(
    'select purpose, since from rights_oppositions where request_id = $1 order by purpose',
    [id],
  )
  return {
    request,
    deadline: currentDeadline(request),
    urgency: urgency(request, today(ctx.now)),
    actions: await selectActions(ctx.db, id),
    contested: await listContestedFields(ctx.db, id),
    oppositions: rows.map((r) => ({ purpose: r.purpose, since: new Date(r.since) })),
  }
}

/** A request as it may be shown (CLI, API): no blind index. */
export function publicRequest(r: RightsRequest) {
  return {
    id: r.id,
    type: r.type,
    purpose: r.purpose,
    fields: r.fields,
    subject: r.subject,
    matchedBy: r.matchedBy,
    receivedOn: r.receivedOn,
    dueOn: r.dueOn,
    extendedDueOn: r.extendedDueOn,
    extensionReason: r.extensionReason,
    state: r.state,
    outcome: r.outcome,
    limitation: r.limitationId,
    openedBy: r.openedBy,
    openedAt: r.openedAt.toISOString(),
    closedBy: r.closedBy,
    closedAt: r.closedAt?.toISOString() ?? null,
  }
}
