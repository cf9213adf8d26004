import type { Config } from '../config/config.ts'
import type { Declarations } from '../declarations/load-declarations.ts'
import type { Flow } from '../flows/flow.ts'
import { CANONICAL_FIELDS } from '../model/fields.ts'
import { buildRegister, type Register } from './build-register.ts'
import { renderRegisterHtml } from './render-html.ts'
import { renderRegisterMarkdown } from './render-markdown.ts'
import { securityMeasures } from './security-measures.ts'
import { registerDisclosures } from '../exchange/france-travail-api/register-disclosures.ts'

export type RegisterFormat = 'md' | 'html' | 'json'

/** The register of the loaded declarations (loadDeclarations) and the running configuration's security measures. */
export function registerFromDeclarations(
  declarations: Pick<Declarations, 'flows' | 'apiFlows' | 'purposes' | 'retentionPolicies' | 'stored'>,
  config: Pick<Config, 'databaseUrl' | 'keys'>,
  generatedOn: string,
): Register {
  const { flows, apiFlows, purposes, retentionPolicies, stored } = declarations
  const register = buildRegister({
    purposes,
    // The partner-API flows feed catalogue fields too (France Travail's orientation): they are source flows alike.
    flows: new Map<string, Pick<Flow, 'id' | 'title' | 'producer' | 'retention' | 'description'>>([...flows, ...apiFlows]),
    retentionPolicies,
    security: securityMeasures(config, flows.values(), { stored: stored.size, catalogue: CANONICAL_FIELDS.length }),
    generatedOn,
  })
  // What leaves to France Travail through the partner APIs, from the API flows' declarations.
  const disclosures = registerDisclosures(apiFlows.values(), purposes)
  if (disclosures.length > 0) register.disclosures = disclosures
  return register
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
