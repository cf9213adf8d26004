import type { FranceTravailApiFlow } from '../exchange/france-travail-api/api-flow.ts'
import type { OutboundOrientation } from '../exchange/france-travail-api/operations.ts'

/** An outbox message's stored decision facts (no identity). */
export interface OrientationDecision {
  organisationType: string
  startsOn: string
}

/**
 * The orientation write's body for one decision, through the flow's outbound allow-list: the decision becomes a
 * parcours (by structure type), the origine is France Travail's own (or the declared default), the organisme CD;
 * then only the declared fields are kept. Undefined when the decision cannot be expressed or a field France
 * Travail requires is not allowed to leave (the message is then dead-lettered with that rule).
 */
export function outboundOrientation(
  decision: OrientationDecision,
  outbound: FranceTravailApiFlow['outbound'],
  franceTravailOrigine: string | null,
): { payload: OutboundOrientation } | { rule: 'no_parcours_for_structure_type' | 'required_field_not_allowed' } {
  const parcours = outbound.parcours_by_organisation_type[decision.organisationType]
  if (!parcours) return { rule: 'no_parcours_for_structure_type' }
  const full: Record<string, string> = { parcours, origine: franceTravailOrigine ?? outbound.default_origine, organisme: 'CD' }
  const allowed = new Set<string>(outbound.fields)
  if (!allowed.has('parcours') || !allowed.has('organisme') || !allowed.has('origine')) return { rule: 'required_field_not_allowed' }
  const kept = Object.fromEntries(Object.entries(full).filter(([k]) => allowed.has(k)))
  return { payload: kept as unknown as OutboundOrientation }
}
