import type { Config } from '../config/config.ts'
import { loadPurposes } from '../purposes/load-purposes.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { storedFieldIds } from '../purposes/stored-fields.ts'
import type { Flow } from './flow.ts'
import { loadFlows } from './load-flows.ts'

/** The declarations every entry point needs, loaded once: flows, purposes, and what ingestion may store. */
export interface Declarations {
  flows: Map<string, Flow>
  purposes: Map<string, Purpose>
  /** Canonical field ids stored: the union of the purposes' fields and the key fields. */
  stored: ReadonlySet<string>
}

export function loadDeclarations(config: Pick<Config, 'flowsDir' | 'mappingsDir'>): Declarations {
  const flows = loadFlows(config.flowsDir)
  const purposes = loadPurposes(config.mappingsDir)
  return { flows, purposes, stored: storedFieldIds(purposes) }
}

export function requireFlow(declarations: Pick<Declarations, 'flows'>, id: string): Flow {
  const flow = declarations.flows.get(id)
  if (!flow) throw new Error(`unknown flow "${id}" (known: ${[...declarations.flows.keys()].join(', ')})`)
  return flow
}
