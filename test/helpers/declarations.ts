import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { loadRetentionPolicies } from '../../src/retention/load-policies.ts'

const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

/** The flows and retention policies of `flowsDir` (default: the shipped ones), without the purposes: what a retention run needs when no minimisation of the active base is wanted. */
export function flowDeclarations(flowsDir = path.join(REPO_ROOT, 'flows')) {
  return { flows: loadFlows(flowsDir), retentionPolicies: loadRetentionPolicies(flowsDir) }
}

/**
 * A copy of the shipped flows folder without the France Travail partner-API flow, for worlds with purposes of their
 * own: that flow sends under a shipped purpose (`outbound.purpose: instruction`), which such a world does not declare.
 */
export function fileFlowsOnly(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-file-flows-'))
  cpSync(path.join(REPO_ROOT, 'flows'), dir, { recursive: true })
  rmSync(path.join(dir, 'france-travail-api.yaml'))
  return dir
}
