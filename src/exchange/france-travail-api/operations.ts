import { z } from 'zod'
import { isCalendarDate } from '../../ingestion/cnaf/xsd-values.ts'
import { callFranceTravail, type ClientDeps } from './api-client.ts'

/**
 * The three France Travail operations the gateway uses, and the pure reading of their answers. Inputs and answers
 * hold personal values: they are passed through, never logged, never put in an error.
 */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export type LookupOutcome =
  | { outcome: 'found'; userToken: string; identifier: string | undefined; code: string; callId: string }
  | { outcome: 'several' | 'not_recognised' | 'failed'; code: string; callId: string }

/** rechercher-usager by NIR (13 characters, or 15 with the key) and birth date (YYYY-MM-DD). */
export async function lookUpPerson(deps: ClientDeps, person: { nir: string; birthDate: string }, signal?: AbortSignal): Promise<LookupOutcome> {
  const answer = await callFranceTravail(deps, 'rechercher-usager', { method: 'POST', body: { dateNaissance: person.birthDate, nir: person.nir } }, signal)
  return { ...classifyLookup(answer.status, answer.body), callId: answer.callId } as LookupOutcome
}

const LookupBody = z.object({
  codeRetour: z.string().max(40).optional(),
  codeErreur: z.string().max(40).optional(),
  jetonUsager: z.string().min(1).max(4096).optional(),
  identifiant: z.string().min(1).max(64).optional(),
})

/**
 * found: a 200 with a jetonUsager (S001); several: S003; not recognised: ID_NON_RECONNU, S002 or a 404; anything
 * else: failed, with the code or the status class (never the message, which may quote the request).
 */
export function classifyLookup(status: number, body: unknown): DistributiveOmit<LookupOutcome, 'callId'> {
  const parsed = LookupBody.safeParse(body ?? {})
  const b = parsed.success ? parsed.data : {}
  const code = safeCode(b.codeRetour ?? b.codeErreur) ?? `http_${status}`
  if (status === 200 && b.jetonUsager) return { outcome: 'found', userToken: b.jetonUsager, identifier: b.identifiant, code }
  if (code === 'S003') return { outcome: 'several', code }
  if (code === 'ID_NON_RECONNU' || code === 'S002' || status === 404) return { outcome: 'not_recognised', code }
  return { outcome: 'failed', code }
}

/**
 * A return code is kept (stored, audited, printed by `outbox list`) only when it reads as one: a capital letter then
 * capitals, digits and underscores (S001, ID_NON_RECONNU), with no run of five digits or more. The request sent a
 * NIR and a birth date: an answer echoing either in its code (1810175100001, 19810115) is kept as `http_<status>`
 * only, like a code of any other shape.
 */
export function safeCode(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Z][A-Z0-9_]{0,39}$/.test(value) && !/\d{5}/.test(value) ? value : undefined
}

/** One France Travail orientation as lectureOrientation answers it (fields WebRSA reads; others ignored). */
const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}/, 'date')
  .transform((s) => s.slice(0, 10))
  // A date that is not on the calendar (2024-02-30) is a rejection of the answer, never a failing batch.
  .refine(isCalendarDate, 'date')
export const OrientationAnswerSchema = z.object({
  parcours: z.enum(['PED', 'PSP', 'PSO']).nullish(),
  organisme: z.string().regex(/^[A-Z0-9_]{1,20}$/, 'code').nullish(),
  statut: z.string().regex(/^[A-Za-z0-9_ -]{1,40}$/, 'code').nullish(),
  etat: z.string().regex(/^[A-Za-z0-9_ -]{1,40}$/, 'code').nullish(),
  origine: z.string().regex(/^[A-Z0-9_]{1,60}$/, 'code').nullish(),
  date_entree_parcours: IsoDate.nullish(),
  date_creation: IsoDate.nullish(),
  date_modification: IsoDate.nullish(),
})

export interface OrientationRead {
  parcours: string | null
  organisme: string | null
  statut: string | null
  etat: string | null
  origine: string | null
  dateEntreeParcours: string | null
  dateModification: string | null
}

export type ReadOutcome =
  | { outcome: 'read'; orientation: OrientationRead; callId: string }
  | { outcome: 'none'; callId: string }
  | { outcome: 'rejected'; issues: { field: string; rule: string }[]; callId: string }
  | { outcome: 'failed'; code: string; callId: string }

/** lectureOrientation with the person's token; the answer validated like a file record (issues name fields, never values). */
export async function readOrientation(deps: ClientDeps, userToken: string, signal?: AbortSignal): Promise<ReadOutcome> {
  const answer = await callFranceTravail(deps, 'lecture-orientation', { method: 'GET', userToken }, signal)
  return { ...validateOrientationAnswer(answer.status, answer.body), callId: answer.callId } as ReadOutcome
}

export function validateOrientationAnswer(status: number, body: unknown): DistributiveOmit<ReadOutcome, 'callId'> {
  if (status === 204 || (status === 200 && Array.isArray(body) && body.length === 0)) return { outcome: 'none' }
  if (status !== 200) return { outcome: 'failed', code: `http_${status}` }
  if (!Array.isArray(body) || typeof body[0] !== 'object' || body[0] === null) return { outcome: 'rejected', issues: [{ field: '(root)', rule: 'not_an_array_of_objects' }] }
  const parsed = OrientationAnswerSchema.safeParse(body[0])
  if (!parsed.success) {
    return { outcome: 'rejected', issues: parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', rule: i.code === 'invalid_format' || i.code === 'custom' ? 'format' : i.code })) }
  }
  const o = parsed.data
  return {
    outcome: 'read',
    orientation: {
      parcours: o.parcours ?? null,
      organisme: o.organisme ?? null,
      statut: o.statut ?? null,
      etat: o.etat ?? null,
      origine: o.origine ?? null,
      dateEntreeParcours: o.date_entree_parcours ?? o.date_creation ?? null,
      dateModification: o.date_modification ?? null,
    },
  }
}

export type SendOutcome = { outcome: 'delivered'; callId: string; status: number } | { outcome: 'refused'; code: string; callId: string; status: number }

/** The département's orientation decision, as the orientation write takes it (organisme is always CD). */
export interface OutboundOrientation {
  parcours: 'PED' | 'PSP' | 'PSO'
  origine: string
  organisme: 'CD'
}

export async function sendOrientation(deps: ClientDeps, userToken: string, payload: OutboundOrientation, idempotencyKey: string, signal?: AbortSignal): Promise<SendOutcome> {
  const answer = await callFranceTravail(deps, 'envoi-orientation', { method: 'POST', userToken, body: payload, idempotencyKey }, signal)
  if (answer.status === 200 || answer.status === 201) return { outcome: 'delivered', callId: answer.callId, status: answer.status }
  const parsed = LookupBody.safeParse(answer.body ?? {})
  const code = (parsed.success ? safeCode(parsed.data.codeRetour ?? parsed.data.codeErreur) : undefined) ?? `http_${answer.status}`
  return { outcome: 'refused', code, callId: answer.callId, status: answer.status }
}
