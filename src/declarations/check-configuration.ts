import type { Queryable } from '../db/db.ts'
import { CANONICAL_FIELDS, KEY_FIELD_IDS } from '../model/fields.ts'
import { canonicalSchemaColumns, countStoredValues } from '../purposes/queries.ts'
import { checkDatabase, formatProblem } from './check-declarations.ts'
import { readDeclarations } from './load-declarations.ts'
import { loadApiFlows } from '../exchange/france-travail-api/api-flow.ts'
import { checkApiFlows } from '../exchange/france-travail-api/check-api-flows.ts'

export interface ConfigurationCheck {
  /** Every problem, one line each: `file: key: message (known: ...)`. */
  problems: string[]
  counts: { purposes: number; flows: number; retentionPolicies: number; storedFields: number; catalogueFields: number; keyFields: number }
  /** Catalogue fields no purpose declares: received, never stored. */
  neverStored: string[]
  databaseChecked: boolean
}

/**
 * What `passerelle check` does: the problems loadDeclarations would refuse (the same reading, so `serve` refuses
 * exactly what `check` reports), and, given a database, its schema and its stored values against the declarations.
 */
export async function checkConfiguration(options: { flowsDir: string; mappingsDir: string; db?: Queryable }): Promise<ConfigurationCheck> {
  const reading = readDeclarations(options)
  const problems = [...reading.problems]
  const purposes = reading.purposes ?? new Map()
  if (options.db) {
    const schemaColumns = await canonicalSchemaColumns(options.db)
    const storedValueCounts = await countStoredValues(options.db, undefined, schemaColumns)
    problems.push(...checkDatabase({ purposes, schemaColumns, storedValueCounts }).map(formatProblem))
  }
  // France Travail partner-API flows (source.type francetravail-api): their schema, purpose and retention.
  let apiFlows: Map<string, unknown> | undefined
  try {
    const loaded = loadApiFlows(options.flowsDir)
    apiFlows = loaded
    problems.push(...checkApiFlows(loaded, purposes, reading.retentionPolicies ? new Set(reading.retentionPolicies.keys()) : undefined))
  } catch (error) {
    problems.push(...((error as { problems?: string[] }).problems ?? [(error as Error).message]))
  }
  const stored: ReadonlySet<string> = reading.stored ?? new Set(KEY_FIELD_IDS)
  return {
    problems,
    counts: {
      purposes: purposes.size,
      flows: (reading.flows?.size ?? 0) + (apiFlows?.size ?? 0),
      retentionPolicies: reading.retentionPolicies?.size ?? 0,
      storedFields: CANONICAL_FIELDS.filter((f) => stored.has(f.id)).length,
      catalogueFields: CANONICAL_FIELDS.length,
      keyFields: KEY_FIELD_IDS.length,
    },
    neverStored: CANONICAL_FIELDS.filter((f) => !stored.has(f.id)).map((f) => f.id),
    databaseChecked: options.db !== undefined,
  }
}
