import type { Flow } from '../flows/flow.ts'
import { CANONICAL_FIELDS, type CanonicalField, type FieldCategory } from '../model/fields.ts'
import { closeMatches } from '../purposes/close-matches.ts'
import { exposedName, type Purpose } from '../purposes/purpose.ts'
import { BOOKKEEPING_COLUMNS, CANONICAL_TABLES, type CanonicalTable } from '../purposes/stored-fields.ts'
import { transformIncompatibility } from '../purposes/transform-compatibility.ts'

/** Catalogue categories that are special categories of data (GDPR Art. 9): declaring one needs an Art. 9(2) condition. */
export const ARTICLE9_CATEGORIES: readonly FieldCategory[] = ['sante']

export type ProblemKind =
  | 'unknown-field'
  | 'duplicate-field'
  | 'duplicate-exposed-name'
  | 'missing-legal-basis'
  | 'missing-recipients'
  | 'missing-retention'
  | 'unknown-retention-policy'
  | 'unknown-source-flow'
  | 'id-clash'
  | 'field-outside-source-flows'
  | 'unused-source-flow'
  | 'article9-missing'
  | 'article9-without-field'
  | 'article9-unknown-category'
  | 'consent-field-undeclared'
  | 'transform-incompatible'
  | 'transform-length-unused'
  | 'schema-missing-column'
  | 'schema-column-not-in-catalogue'
  | 'stored-undeclared'

export interface DeclarationProblem {
  kind: ProblemKind
  /** The declaration file (`mappings/orientation.yaml`), or `src/model/fields.ts` / `database` for schema problems. */
  file: string
  /** Key path inside it (`fields[3] (personne.nom).transform`). */
  key: string
  /** What is wrong and what is known. Never a personal value: declarations hold none. */
  message: string
}

export interface DeclarationsToCheck {
  purposes: ReadonlyMap<string, Purpose>
  /** Purpose id → file named in messages (default `mappings/<id>.yaml`). */
  purposeFiles?: ReadonlyMap<string, string>
  /** The flows; undefined when they could not be loaded (the checks needing them are then skipped). */
  flows?: ReadonlyMap<string, Pick<Flow, 'id' | 'retention'>>
  /** Ids of the partner-API flows (flows/*.yaml with source.type francetravail-api): purposes may name them as source flows too. */
  apiFlowIds?: ReadonlySet<string>
  /**
   * The known retention policies (src/retention/load-policies.ts), by name, with what each applies to; a set of
   * names when scopes are unknown. Undefined: retention names are not checked.
   */
  retentionPolicies?: ReadonlyMap<string, { appliesTo: string }> | ReadonlySet<string>
  /** Columns of the canonical tables in the database; undefined: the schema is not checked. */
  schemaColumns?: ReadonlyMap<string, ReadonlySet<string>>
  /**
   * Catalogue field id → how many rows of the database hold a value for it (src/purposes/queries.ts);
   * undefined: the stored data is not checked.
   */
  storedValueCounts?: ReadonlyMap<string, number>
  /** The field catalogue (default: src/model/fields.ts). */
  catalogue?: readonly CanonicalField[]
}

/**
 * Cross-checks the declarations: every problem, never the first one only. Pure: what it needs from disk or the
 * database comes in as arguments.
 */
export function checkDeclarations(input: DeclarationsToCheck): DeclarationProblem[] {
  const catalogue = input.catalogue ?? CANONICAL_FIELDS
  const byId = new Map<string, CanonicalField>(catalogue.map((f) => [f.id, f]))
  const problems: DeclarationProblem[] = []
  const fileOf = (id: string) => input.purposeFiles?.get(id) ?? `mappings/${id}.yaml`

  for (const purpose of [...input.purposes.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const file = fileOf(purpose.id)
    const add = (kind: ProblemKind, key: string, message: string) => problems.push({ kind, file, key, message })

    // Required declarations (the YAML schema requires them too; purposes built in code are checked here).
    if (!purpose.legal_basis?.gdpr?.trim() || !purpose.legal_basis?.national?.trim()) {
      add('missing-legal-basis', 'legal_basis', 'missing: every purpose needs a GDPR Art. 6(1) letter (gdpr) and the national text (national)')
    }
    if (!purpose.recipients || purpose.recipients.length === 0) {
      add('missing-recipients', 'recipients', 'missing: every purpose names at least one recipient (role and organisation types)')
    }
    if (!purpose.retention?.trim()) {
      add('missing-retention', 'retention', `missing: every purpose names a retention policy${known(policyNames(input.retentionPolicies, PURPOSE_SCOPES))}`)
    } else if (input.retentionPolicies) {
      const problem = retentionProblem(input.retentionPolicies, purpose.retention, PURPOSE_SCOPES, "a purpose's data")
      if (problem) add('unknown-retention-policy', 'retention', problem)
    }

    // Ids must be unique across flows and purposes (logs, audit events and the register name them alike).
    if (input.flows?.has(purpose.id)) {
      add('id-clash', '(file name)', `purpose id "${purpose.id}" is also a flow id (flows/${purpose.id}.yaml): rename one of them`)
    }

    // Source flows.
    const sourceFlows = purpose.source_flows ?? []
    const isFlow = (flowId: string) => input.flows!.has(flowId) || (input.apiFlowIds?.has(flowId) ?? false)
    if (input.flows) {
      sourceFlows.forEach((flowId, i) => {
        if (!isFlow(flowId)) {
          add('unknown-source-flow', `source_flows[${i}]`, `unknown flow "${flowId}"${known(new Set([...input.flows!.keys(), ...(input.apiFlowIds ?? [])]))}`)
        }
      })
    }

    // Fields.
    const seenFields = new Map<string, number>()
    const seenNames = new Map<string, number>()
    const fedFlows = new Set<string>()
    const categories = new Set<FieldCategory>()
    purpose.fields.forEach((declared, i) => {
      const at = `fields[${i}] (${declared.field})`
      const field = byId.get(declared.field)
      if (!field) {
        const close = closeMatches(declared.field, byId.keys())
        add(
          'unknown-field',
          `${at}.field`,
          `unknown canonical field "${declared.field}" (known${close.length ? `, closest first: ${close.join(', ')}` : `: the ${byId.size} fields of src/model/fields.ts, e.g. ${[...byId.keys()].slice(0, 5).join(', ')}`})`,
        )
      }
      const previous = seenFields.get(declared.field)
      if (previous !== undefined) {
        add('duplicate-field', `${at}.field`, `field "${declared.field}" is already declared at fields[${previous}]: declare each field once`)
      } else seenFields.set(declared.field, i)
      if (declared.transform !== 'omit') {
        const name = exposedName(declared)
        const before = seenNames.get(name)
        if (before !== undefined) {
          add(
            'duplicate-exposed-name',
            `${at}.as`,
            `exposed name "${name}" is already used by fields[${before}] (${purpose.fields[before]!.field}): give one of them another \`as\``,
          )
        } else seenNames.set(name, i)
      }
      if (declared.consent !== undefined) {
        // The consent must be read with the field, so the purpose declares it too (it is then stored and projected).
        const consentField = declared.consent.field
        if (!purpose.fields.some((f) => f.field === consentField && f.transform !== 'omit') || !byId.has(consentField)) {
          add(
            'consent-field-undeclared',
            `${at}.consent.field`,
            `consent field "${consentField}" must be a catalogue field this purpose declares too, not omitted (e.g. { field: ${consentField}, as: ... }), so that it is read with "${declared.field}"`,
          )
        }
      }
      if (!field) return
      categories.add(field.category)
      const incompatibility = transformIncompatibility(declared.transform, field)
      if (incompatibility) add('transform-incompatible', `${at}.transform`, incompatibility)
      if (declared.length !== undefined && declared.transform !== 'truncate' && declared.transform !== 'age-band') {
        add('transform-length-unused', `${at}.length`, `length is only read by "truncate" and "age-band", not by "${declared.transform}": remove it`)
      }
      const feeding = field.sources.filter((s) => sourceFlows.includes(s))
      feeding.forEach((s) => fedFlows.add(s))
      if (feeding.length === 0) {
        add(
          'field-outside-source-flows',
          `${at}.field`,
          `${declared.field} comes from ${field.sources.join(', ')}, none of which is among source_flows (${sourceFlows.join(', ') || 'none'}): add its flow to source_flows or remove the field`,
        )
      }
      if (ARTICLE9_CATEGORIES.includes(field.category) && !(purpose.article9 ?? []).some((a) => a.category === field.category)) {
        add(
          'article9-missing',
          `${at}.field`,
          `${declared.field} is special-category data (GDPR Art. 9, category "${field.category}"): add an article9 entry { category: ${field.category}, condition: "Art. 9(2)(...) ..." } or remove the field`,
        )
      }
    })
    const allFieldsKnown = purpose.fields.every((f) => byId.has(f.field))
    sourceFlows.forEach((flowId, i) => {
      if (allFieldsKnown && !fedFlows.has(flowId) && (!input.flows || isFlow(flowId))) {
        add('unused-source-flow', `source_flows[${i}]`, `flow "${flowId}" feeds none of the declared fields: remove it or declare a field it brings`)
      }
    })
    ;(purpose.article9 ?? []).forEach((entry, i) => {
      if (!ARTICLE9_CATEGORIES.includes(entry.category as FieldCategory)) {
        add('article9-unknown-category', `article9[${i}].category`, `unknown Art. 9 category "${entry.category}" (known: ${ARTICLE9_CATEGORIES.join(', ')})`)
      } else if (!categories.has(entry.category as FieldCategory)) {
        add(
          'article9-without-field',
          `article9[${i}].category`,
          `declares Art. 9 category "${entry.category}" but no field of that category: remove the entry (the register would claim a processing that does not happen)`,
        )
      }
    })
  }

  // Flows name retention policies too.
  if (input.flows && input.retentionPolicies) {
    for (const flow of input.flows.values()) {
      const problem = retentionProblem(input.retentionPolicies, flow.retention, FLOW_SCOPES, "a flow's data")
      if (problem) problems.push({ kind: 'unknown-retention-policy', file: `flows/${flow.id}.yaml`, key: 'retention', message: problem })
    }
  }

  problems.push(...checkDatabase(input))
  return problems
}

/** The database against the declarations: its schema (when schemaColumns is given) and its stored values (storedValueCounts). */
export function checkDatabase(input: Pick<DeclarationsToCheck, 'purposes' | 'schemaColumns' | 'storedValueCounts' | 'catalogue'>): DeclarationProblem[] {
  const catalogue = input.catalogue ?? CANONICAL_FIELDS
  return [
    ...(input.schemaColumns ? checkSchema(catalogue, input.schemaColumns) : []),
    ...(input.storedValueCounts ? checkStoredValues(input.purposes, catalogue, input.storedValueCounts) : []),
  ]
}

/**
 * The database against the catalogue: every catalogue column exists, and every column of a canonical table is a
 * catalogue field or a bookkeeping column. A column outside both could be filled without any purpose declaring it.
 */
function checkSchema(catalogue: readonly CanonicalField[], schema: ReadonlyMap<string, ReadonlySet<string>>): DeclarationProblem[] {
  const problems: DeclarationProblem[] = []
  for (const field of catalogue) {
    if (!schema.get(field.table)?.has(field.column)) {
      problems.push({
        kind: 'schema-missing-column',
        file: 'src/model/fields.ts',
        key: field.id,
        message: `column ${field.table}.${field.column} does not exist in the database (known: ${[...(schema.get(field.table) ?? [])].join(', ') || `no table ${field.table}`})`,
      })
    }
  }
  for (const table of CANONICAL_TABLES) {
    const described = new Set([...BOOKKEEPING_COLUMNS[table], ...catalogue.filter((f) => f.table === table).map((f) => f.column)])
    for (const column of schema.get(table) ?? []) {
      if (!described.has(column)) {
        problems.push({
          kind: 'schema-column-not-in-catalogue',
          file: 'database',
          key: `${table}.${column}`,
          message: 'column is neither a canonical field (src/model/fields.ts) nor a bookkeeping column: describe it in the catalogue so purposes decide whether it is stored',
        })
      }
    }
  }
  return problems
}

/** A field no purpose declares (and not a key) must hold no value anywhere: minimisation, checked on the data. */
function checkStoredValues(
  purposes: ReadonlyMap<string, Purpose>,
  catalogue: readonly CanonicalField[],
  counts: ReadonlyMap<string, number>,
): DeclarationProblem[] {
  const declared = new Set<string>(catalogue.filter((f) => f.key).map((f) => f.id))
  for (const p of purposes.values()) for (const f of p.fields) declared.add(f.field)
  const problems: DeclarationProblem[] = []
  for (const field of catalogue) {
    const count = counts.get(field.id) ?? 0
    if (count > 0 && !declared.has(field.id)) {
      problems.push({
        kind: 'stored-undeclared',
        file: 'database',
        key: `${field.table}.${field.column}`,
        message: `${count} row(s) hold a value for ${field.id}, which no purpose declares and which is not a key (stored under an earlier configuration?): it must be cleared`,
      })
    }
  }
  return problems
}

export function formatProblem(problem: DeclarationProblem): string {
  return `${problem.file}: ${problem.key}: ${problem.message}`
}

const PURPOSE_SCOPES = ['flow-data', 'purpose']
const FLOW_SCOPES = ['flow-data']

type Policies = NonNullable<DeclarationsToCheck['retentionPolicies']>

function policyNames(policies: Policies | undefined, scopes: string[]): ReadonlySet<string> | undefined {
  if (!policies) return undefined
  if (!(policies instanceof Map)) return policies as ReadonlySet<string>
  return new Set([...policies].filter(([, p]) => scopes.includes(p.appliesTo)).map(([name]) => name))
}

function retentionProblem(policies: Policies, name: string, scopes: string[], what: string): string | undefined {
  if (!policies.has(name)) {
    return `unknown retention policy "${name}"${known(policyNames(policies, scopes))}: declare it in flows/retention/${name}.yaml or name a known one`
  }
  const policy = policies instanceof Map ? (policies.get(name) as { appliesTo: string }) : undefined
  if (policy && !scopes.includes(policy.appliesTo)) {
    return `retention policy "${name}" applies to ${policy.appliesTo}, not to ${what}${known(policyNames(policies, scopes))}`
  }
  return undefined
}

function known(names: ReadonlySet<string> | undefined): string {
  return names ? ` (known: ${[...names].sort().join(', ') || 'none'})` : ''
}
