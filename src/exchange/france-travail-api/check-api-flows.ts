import type { Purpose } from '../../purposes/purpose.ts'
import { ORGANISATION_TYPES } from '../../purposes/purpose.ts'
import type { FranceTravailApiFlow } from './api-flow.ts'

/** The fields rechercher-usager sends: the outbound purpose must declare them (so they are stored and registered). */
export const LOOKUP_SENDS = ['personne.nir', 'personne.dateNaissance'] as const

/** Cross-checks of the API flows against the purposes and retention policies (`passerelle check`). */
export function checkApiFlows(
  flows: ReadonlyMap<string, FranceTravailApiFlow>,
  purposes: ReadonlyMap<string, Purpose>,
  retentionPolicies: ReadonlySet<string> | undefined,
): string[] {
  const problems: string[] = []
  for (const flow of flows.values()) {
    const where = `flows/${flow.id}.yaml`
    const purpose = purposes.get(flow.outbound.purpose)
    if (!purpose) problems.push(`${where}: outbound.purpose: unknown purpose "${flow.outbound.purpose}" (known: ${[...purposes.keys()].join(', ')})`)
    else {
      for (const field of LOOKUP_SENDS) {
        if (!purpose.fields.some((f) => f.field === field && f.transform !== 'omit')) {
          problems.push(`${where}: outbound.purpose: purpose "${purpose.id}" does not declare ${field}, which rechercher-usager sends`)
        }
      }
    }
    for (const type of Object.keys(flow.outbound.parcours_by_organisation_type)) {
      if (!(ORGANISATION_TYPES as readonly string[]).includes(type)) {
        problems.push(`${where}: outbound.parcours_by_organisation_type: unknown organisation type "${type}" (known: ${ORGANISATION_TYPES.join(', ')})`)
      }
    }
    if (retentionPolicies && !retentionPolicies.has(flow.retention)) {
      problems.push(`${where}: retention: unknown retention policy "${flow.retention}" (known: ${[...retentionPolicies].join(', ')})`)
    }
    if (!/^https:\/\//.test(flow.source.token_url) || !/^https:\/\//.test(flow.source.base_url)) {
      const loopback = (u: string) => /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(u)
      if (!loopback(flow.source.token_url) || !loopback(flow.source.base_url)) problems.push(`${where}: source: token_url and base_url must be https (http only on loopback, for the simulator)`)
    }
  }
  return problems
}
