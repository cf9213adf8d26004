import type { Config } from '../config/config.ts'
import type { Flow } from '../flows/flow.ts'
import { readFlows } from '../flows/load-flows.ts'
import { readPurposes } from '../purposes/load-purposes.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { storedFieldIds } from '../purposes/stored-fields.ts'
import { readRetentionPolicies } from '../retention/load-policies.ts'
import type { RetentionPolicy } from '../retention/policy.ts'
import { readStatistics, type Statistics } from '../statistics/declaration.ts'
import { checkDeclarations, formatProblem } from './check-declarations.ts'
import { DeclarationError } from './declaration-error.ts'
import type { FieldId } from '../model/fields.ts'
import { readApiFlows, type FranceTravailApiFlow } from '../exchange/france-travail-api/api-flow.ts'
import { checkApiFlows } from '../exchange/france-travail-api/check-api-flows.ts'

/**
 * Every declaration, read once from flows/ (file and partner-API flows), flows/retention/ and mappings/ and cross-checked: what every entry point
 * (serve, the CLI commands, the scheduler's jobs, the register, the benchmarks) receives. Nothing reads YAML later:
 * ingestion, projection, retention and the register all decide from this one object.
 */
export interface Declarations {
  flows: Map<string, Flow>
  /** France Travail partner-API flows (`flows/<id>.yaml` with `source.type: francetravail-api`). */
  apiFlows: Map<string, FranceTravailApiFlow>
  purposes: Map<string, Purpose>
  retentionPolicies: Map<string, RetentionPolicy>
  /** Statistical purpose id → its checked `statistics:` section (disclosure rules, recipients, aggregate tables). */
  statistics: Map<string, Statistics>
  /** Canonical fields ingestion stores and retention keeps: the purposes' fields and the key fields. */
  stored: ReadonlySet<FieldId>
}

export interface DeclarationsReading extends Partial<Declarations> {
  /** Purpose id → file as messages name it (`mappings/orientation.yaml`). */
  purposeFiles: Map<string, string>
  /** Every problem, one line each: `file: key: what is wrong (known: ...)`; empty when the declarations are sound. */
  problems: string[]
}

type Folders = Pick<Config, 'flowsDir' | 'mappingsDir'>

/**
 * Reads and cross-checks every declaration, handing back what could be read and every problem found (for
 * `passerelle check`, which reports rather than refuses).
 */
export function readDeclarations(config: Folders): DeclarationsReading {
  const flows = readFlows(config.flowsDir)
  const policies = readRetentionPolicies(config.flowsDir)
  const purposes = readPurposes(config.mappingsDir)
  const apiFlows = readApiFlows(config.flowsDir)
  const problems = [...flows.problems, ...policies.problems, ...purposes.problems, ...apiFlows.problems]
  // The valid entries are cross-checked even when other files of their folder are wrong (every problem at once);
  // a folder with no valid entry at all is left out, its absence would only echo its own problem everywhere.
  problems.push(
    ...checkDeclarations({
      purposes: purposes.purposes,
      purposeFiles: purposes.files,
      flows: flows.entries.size > 0 ? flows.entries : undefined,
      apiFlowIds: new Set(apiFlows.entries.keys()),
      retentionPolicies: policies.entries.size > 0 ? policies.entries : undefined,
    }).map(formatProblem),
  )
  const soundFlows = flows.problems.length === 0 ? flows.entries : undefined
  const soundPolicies = policies.problems.length === 0 ? policies.entries : undefined
  problems.push(...checkApiFlows(apiFlows.entries, purposes.purposes, soundPolicies ? new Set(soundPolicies.keys()) : undefined))
  const soundApiFlows = apiFlows.problems.length === 0 ? apiFlows.entries : undefined
  const statistics = new Map<string, Statistics>()
  for (const purpose of purposes.purposes.values()) {
    const read = readStatistics(purpose)
    problems.push(...read.problems.map((p) => `${purposes.files.get(purpose.id) ?? `mappings/${purpose.id}.yaml`}: ${p}`))
    if (read.statistics) statistics.set(purpose.id, read.statistics)
  }
  let stored: ReadonlySet<FieldId> | undefined
  try {
    stored = storedFieldIds(purposes.purposes)
  } catch {
    // An unknown field is already among the problems (checkDeclarations).
  }
  return {
    flows: soundFlows,
    apiFlows: soundApiFlows,
    purposes: purposes.purposes,
    purposeFiles: purposes.files,
    retentionPolicies: soundPolicies,
    statistics,
    stored,
    problems,
  }
}

/**
 * The declarations, fully cross-checked, or a DeclarationError listing every problem (what `passerelle check`
 * reports): an entry point refuses to start on declarations `check` rejects.
 */
export function loadDeclarations(config: Folders): Declarations {
  const { flows, apiFlows, purposes, retentionPolicies, statistics, stored, problems } = readDeclarations(config)
  if (problems.length > 0 || !flows || !apiFlows || !purposes || !retentionPolicies || !statistics || !stored) throw new DeclarationError(problems)
  return { flows, apiFlows, purposes, retentionPolicies, statistics, stored }
}

export function requireFlow(declarations: Pick<Declarations, 'flows'>, id: string): Flow {
  const flow = declarations.flows.get(id)
  if (!flow) throw new Error(`unknown flow "${id}" (known: ${[...declarations.flows.keys()].join(', ')})`)
  return flow
}
