import type { Principal } from '../auth/principal.ts'
import { DEFAULT_API_OPTIONS } from '../config/config.ts'
import type { Queryable } from '../db/db.ts'
import type { CanonicalField } from '../model/fields.ts'
import { findPersonForCaller, type PersonRow, type PortfolioCaller } from './portfolio-queries.ts'
import { decideAccess, portfolioRelation, type AccessDecision } from './portfolio.ts'

/**
 * Whether a principal may see one person now, under the principal's purpose: the portfolio rules (portfolio.ts)
 * and the processing exclusions (exclusions.ts) applied to what the database holds. The partner API and the web
 * console ask this, and nothing else.
 */
export type PersonDecision = AccessDecision | { granted: false; reason: 'unknown_id' }

/** The principal as the portfolio queries name the caller. */
export function callerOf(principal: Principal): PortfolioCaller {
  return { relation: portfolioRelation(principal.user.role), userId: principal.user.id, organisationId: principal.organisation.id, purposeId: principal.purpose.id }
}

/**
 * The person with this public id, with the fields `fields` (those the purpose reads), and the decision. Undefined
 * when no person of the active base has this id.
 */
export async function decideForPerson(
  db: Queryable,
  input: { principal: Principal; publicId: string; fields: readonly CanonicalField[]; now: Date; graceDays?: number },
): Promise<{ row: PersonRow; decision: AccessDecision } | undefined> {
  const { principal, now } = input
  const row = await findPersonForCaller(db, { publicId: input.publicId, caller: callerOf(principal), fields: input.fields, now })
  if (!row) return undefined
  const decision = decideAccess({
    role: principal.user.role,
    assignments: row.assignments,
    exclusion: row.exclusion,
    now,
    graceDays: input.graceDays ?? DEFAULT_API_OPTIONS.graceDays,
  })
  return { row, decision }
}

/** The decision alone: `canSee(db, principal, publicId, now).granted`. Reads no personal field. */
export async function canSee(db: Queryable, principal: Principal, publicId: string, now: Date, graceDays = DEFAULT_API_OPTIONS.graceDays): Promise<PersonDecision> {
  const found = await decideForPerson(db, { principal, publicId, fields: [], now, graceDays })
  return found ? found.decision : { granted: false, reason: 'unknown_id' }
}
