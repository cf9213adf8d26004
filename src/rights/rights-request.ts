import type { Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import type { Purpose } from '../purposes/purpose.ts'

/**
 * A data-subject request (GDPR art. 15 to 21) as Passerelle records it: its type, the person's blind indexes and
 * audit pseudonym (never a clear identity), its legal deadline, its state and outcome.
 */
export const REQUEST_TYPES = ['access', 'rectification', 'limitation', 'opposition', 'erasure'] as const
export type RequestType = (typeof REQUEST_TYPES)[number]

export const OUTCOMES = ['granted', 'partially_granted', 'refused', 'no_data', 'withdrawn'] as const
export type Outcome = (typeof OUTCOMES)[number]

export type MatchedBy = 'nir_and_birth_date' | 'nir' | 'none'

export interface RightsRequest {
  id: number
  type: RequestType
  purpose: string | null
  /** Rectification: contested canonical field ids. */
  fields: string[]
  /** Keyed blind indexes of the person (null after a full erasure). Never printed. */
  matchKey: string | null
  nirIndex: string | null
  /** The person's audit pseudonym (auditSubject). */
  subject: string
  matchedBy: MatchedBy
  receivedOn: string
  dueOn: string
  extendedDueOn: string | null
  extensionReason: string | null
  state: 'open' | 'closed'
  outcome: Outcome | null
  limitationId: number | null
  openedBy: string
  openedAt: Date
  closedBy: string | null
  closedAt: Date | null
}

export interface RequestAction {
  id: number
  occurredAt: Date
  actor: string
  action: string
  details: Record<string, unknown>
}

/** What every step of a request needs: the database, the keys, the purposes, the clock, who acts. */
export interface RightsContext {
  db: Db
  keys: Keys
  purposes: ReadonlyMap<string, Purpose>
  now: Date
  /** Who acts: `cli:<user>`, or the DPO's e-mail through the API. */
  actor: string
  /** The actor's organisation (SIRET) when known (API). */
  organisation?: string | null
  /** The API request id, when the step comes through the API. */
  requestId?: string | null
}

/**
 * An error the DPO can fix (unknown request, wrong state, invalid NIR...): its message names the request and the
 * rule, never a personal value. `code` maps it to an HTTP status in the API.
 */
export class RightsError extends Error {
  constructor(
    readonly code: 'not_found' | 'invalid' | 'conflict',
    message: string,
  ) {
    super(message)
    this.name = 'RightsError'
  }
}

export function isRequestType(value: string): value is RequestType {
  return (REQUEST_TYPES as readonly string[]).includes(value)
}

export function isOutcome(value: string): value is Outcome {
  return (OUTCOMES as readonly string[]).includes(value)
}
