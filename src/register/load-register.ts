import type { Config } from '../config/config.ts'
import { DeclarationError, loadFlows } from '../flows/load-flows.ts'
import { CANONICAL_FIELDS } from '../model/fields.ts'
import { loadPurposes } from '../purposes/load-purposes.ts'
import { storedFieldIds } from '../purposes/stored-fields.ts'
import { loadRetentionPolicies } from '../retention/load-policies.ts'
import type { RetentionPolicy } from '../retention/policy.ts'
import { buildRegister, type Register } from './build-register.ts'
import { renderRegisterHtml } from './render-html.ts'
import { renderRegisterMarkdown } from './render-markdown.ts'
import { securityMeasures } from './security-measures.ts'
import { loadApiFlows } from '../exchange/france-travail-api/api-flow.ts'
import { registerDisclosures } from '../exchange/france-travail-api/register-disclosures.ts'

export type RegisterFormat = 'md' | 'html' | 'json'

/**
 * Reads the declarations (flows, retention policies, purposes) and the running configuration, and builds the
 * register. Flows and purposes must load (their problems are thrown, as `passerelle check` prints them); missing or
 * invalid retention policies leave each named policy reported "not found" in the register.
 */
export function loadRegister(
  config: Pick<Config, 'flowsDir' | 'mappingsDir' | 'databaseUrl' | 'keys'>,
  generatedOn: string,
): { register: Register; notes: string[] } {
  const notes: string[] = []
  const flows = loadFlows(config.flowsDir)
  const purposes = loadPurposes(config.mappingsDir)
  let policies: Map<string, RetentionPolicy> | undefined
  try {
    policies = loadRetentionPolicies(config.flowsDir)
  } catch (error) {
    if (!(error instanceof DeclarationError)) throw error
    notes.push(`retention policies not loaded (${error.problems.length} problem(s), see passerelle check): periods shown as "not found"`)
  }
  const stored = storedFieldIds(purposes)
  const register = buildRegister({
    purposes,
    flows,
    retentionPolicies: policies,
    security: securityMeasures(config, flows.values(), { stored: stored.size, catalogue: CANONICAL_FIELDS.length }),
    generatedOn,
  })
  // What leaves to France Travail through the partner APIs, from the API flows' declarations.
  const disclosures = registerDisclosures(loadApiFlows(config.flowsDir).values(), purposes)
  if (disclosures.length > 0) register.disclosures = disclosures
  return { register, notes }
}

export function renderRegister(register: Register, format: RegisterFormat): string {
  switch (format) {
    case 'md':
      return renderRegisterMarkdown(register)
    case 'html':
      return renderRegisterHtml(register)
    case 'json':
      return `${JSON.stringify(register, null, 2)}\n`
  }
}
