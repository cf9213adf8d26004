import path from 'node:path'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { loadRetentionPolicies } from '../../src/retention/load-policies.ts'

const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

/** The flows and retention policies of `flowsDir` (default: the shipped ones), without the purposes: what a retention run needs when no minimisation of the active base is wanted. */
export function flowDeclarations(flowsDir = path.join(REPO_ROOT, 'flows')) {
  return { flows: loadFlows(flowsDir), retentionPolicies: loadRetentionPolicies(flowsDir) }
}
