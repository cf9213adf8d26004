import type { Queryable } from '../db/db.ts'
import type { Flow } from '../flows/flow.ts'
import { DeclarationError, loadFlows } from '../flows/load-flows.ts'
import { CANONICAL_FIELDS, KEY_FIELD_IDS } from '../model/fields.ts'
import { loadRetentionPolicies } from '../retention/load-policies.ts'
import type { RetentionPolicy } from '../retention/policy.ts'
import { checkStatistics } from '../statistics/declaration.ts'
import { loadApiFlows } from '../exchange/france-travail-api/api-flow.ts'
import { checkApiFlows } from '../exchange/france-travail-api/check-api-flows.ts'
import { checkDeclarations, formatProblem } from './check-declarations.ts'
import { readPurposes } from './load-purposes.ts'
import { canonicalSchemaColumns, countStoredValues } from './queries.ts'
import { storedFieldIds } from './stored-fields.ts'

export interface ConfigurationCheck {
  /** Every problem, one line each: `file: key: message (known: ...)`. */
  problems: string[]
  counts: { purposes: number; flows: number; retentionPolicies: number; storedFields: number; catalogueFields: number; keyFields: number }
  /** Catalogue fields no purpose declares: received, never stored. */
  neverStored: string[]
  databaseChecked: boolean
}

/**
 * What `passerelle check` does: loads the flows, the retention policies and the purposes, cross-checks them
 * (src/purposes/check-declarations.ts, and the statistics sections with src/statistics/declaration.ts), and, given a database, compares its schema and its stored values with the declarations.
 */
export async function checkConfiguration(options: { flowsDir: string; mappingsDir: string; db?: Queryable }): Promise<ConfigurationCheck> {
  const problems: string[] = []
  const flows = collect(problems, () => loadFlows(options.flowsDir))
  const policies = collect<Map<string, RetentionPolicy>>(problems, () => loadRetentionPolicies(options.flowsDir))
  const reading = readPurposes(options.mappingsDir)
  problems.push(...reading.problems)

  let schemaColumns: Map<string, Set<string>> | undefined
  let storedValueCounts: Map<string, number> | undefined
  if (options.db) {
    schemaColumns = await canonicalSchemaColumns(options.db)
    storedValueCounts = await countStoredValues(options.db, undefined, schemaColumns)
  }
  const found = checkDeclarations({
    purposes: reading.purposes,
    purposeFiles: reading.files,
    flows: flows as ReadonlyMap<string, Flow> | undefined,
    retentionPolicies: policies,
    schemaColumns,
    storedValueCounts,
  })
  problems.push(...found.map(formatProblem))
  // A statistical purpose's `statistics:` section is validated by the statistics feature.
  for (const purpose of reading.purposes.values()) {
    const file = reading.files.get(purpose.id) ?? `mappings/${purpose.id}.yaml`
    problems.push(...checkStatistics(purpose).map((p) => `${file}: ${p}`))
  }

  // France Travail partner-API flows (source.type francetravail-api): their schema, purpose and retention.
  const apiFlows = collect(problems, () => loadApiFlows(options.flowsDir))
  if (apiFlows) problems.push(...checkApiFlows(apiFlows, reading.purposes, policies ? new Set(policies.keys()) : undefined))

  let stored: ReadonlySet<string> = new Set(KEY_FIELD_IDS)
  try {
    stored = storedFieldIds(reading.purposes)
  } catch {
    // Unknown fields are already reported by checkDeclarations.
  }
  return {
    problems,
    counts: {
      purposes: reading.purposes.size,
      flows: (flows?.size ?? 0) + (apiFlows?.size ?? 0),
      retentionPolicies: policies?.size ?? 0,
      storedFields: CANONICAL_FIELDS.filter((f) => stored.has(f.id)).length,
      catalogueFields: CANONICAL_FIELDS.length,
      keyFields: KEY_FIELD_IDS.length,
    },
    neverStored: CANONICAL_FIELDS.filter((f) => !stored.has(f.id)).map((f) => f.id),
    databaseChecked: options.db !== undefined,
  }
}

function collect<T>(problems: string[], load: () => T): T | undefined {
  try {
    return load()
  } catch (error) {
    if (error instanceof DeclarationError) {
      problems.push(...error.problems)
      return undefined
    }
    throw error
  }
}
