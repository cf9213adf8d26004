import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { loadRetentionPolicies } from '../../src/retention/load-policies.ts'

const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

/** The flows and retention policies of `flowsDir` (default: the shipped ones), without the purposes: what a retention run needs when no minimisation of the active base is wanted. */
export function flowDeclarations(flowsDir = path.join(REPO_ROOT, 'flows')) {
  return { flows: loadFlows(flowsDir), retentionPolicies: loadRetentionPolicies(flowsDir) }
}

/**
 * The flows folder for a world with purposes of its own (`mappingsDir`): the shipped one when that world declares the
 * purpose the France Travail partner-API flow sends under (`outbound.purpose`), since shipped purposes name that flow
 * among their sources; otherwise a copy without the API flow, which such a world cannot carry.
 */
export function fileFlowsOnly(mappingsDir?: string): string {
  const shipped = path.join(REPO_ROOT, 'flows')
  if (mappingsDir !== undefined) {
    const api = parseYaml(readFileSync(path.join(shipped, 'france-travail-api.yaml'), 'utf8')) as { outbound?: { purpose?: string } }
    const purpose = api.outbound?.purpose
    if (purpose !== undefined && existsSync(path.join(mappingsDir, `${purpose}.yaml`))) return shipped
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-file-flows-'))
  cpSync(shipped, dir, { recursive: true })
  rmSync(path.join(dir, 'france-travail-api.yaml'))
  return dir
}
