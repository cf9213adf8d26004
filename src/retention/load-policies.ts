import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { DeclarationError } from '../flows/load-flows.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { addDuration } from './duration.ts'
import { ANCHORS_BY_SCOPE, RetentionPolicySchema, toRetentionPolicy, type PolicyScope, type RetentionPolicy } from './policy.ts'

/** The gateway's own data: each of these scopes needs exactly one policy. */
export const SYSTEM_SCOPES: readonly PolicyScope[] = ['audit-log', 'rejections', 'staging-files', 'extract-files', 'api-tokens']

/**
 * Loads and validates every `<flowsDir>/retention/<id>.yaml` (the file name is the policy id). Throws a
 * `DeclarationError` listing every problem, each naming the file and the field.
 */
export function loadRetentionPolicies(flowsDir: string): Map<string, RetentionPolicy> {
  const dir = path.join(flowsDir, 'retention')
  const where = (file: string) => path.join(path.basename(flowsDir), 'retention', file)
  if (!existsSync(dir)) {
    throw new DeclarationError([`${path.join(path.basename(flowsDir), 'retention')}/: no retention policy folder (expected flows/retention/<policy-id>.yaml)`])
  }
  const problems: string[] = []
  const policies = new Map<string, RetentionPolicy>()
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort()
  for (const file of files) {
    const id = file.replace(/\.ya?ml$/, '')
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id)) {
      problems.push(`${where(file)}: the file name is the policy id and must be kebab-case (got "${id}")`)
      continue
    }
    if (policies.has(id)) {
      problems.push(`${where(file)}: policy id "${id}" is declared twice (.yaml and .yml)`)
      continue
    }
    let raw: unknown
    try {
      raw = parseYaml(readFileSync(path.join(dir, file), 'utf8'))
    } catch (error) {
      problems.push(`${where(file)}: not valid YAML: ${(error as Error).message}`)
      continue
    }
    const parsed = RetentionPolicySchema.safeParse(raw)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${where(file)}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
      continue
    }
    const policy = toRetentionPolicy(id, parsed.data)
    problems.push(...checkPolicy(policy).map((p) => `${where(file)}: ${p}`))
    policies.set(id, policy)
  }
  for (const scope of SYSTEM_SCOPES) {
    const ids = [...policies.values()].filter((p) => p.appliesTo === scope).map((p) => p.id)
    if (ids.length === 0) problems.push(`${path.basename(flowsDir)}/retention/: no policy with applies_to: ${scope} (the gateway's own data needs one)`)
    if (ids.length > 1) problems.push(`${path.basename(flowsDir)}/retention/: several policies apply to ${scope} (${ids.join(', ')}): keep one`)
  }
  if (problems.length > 0) throw new DeclarationError(problems)
  return policies
}

/** The rules a single policy must follow beyond its schema (pure). */
export function checkPolicy(policy: RetentionPolicy): string[] {
  const problems: string[] = []
  const allowed = ANCHORS_BY_SCOPE[policy.appliesTo]
  const phases = [['active', policy.active] as const, ...(policy.archive ? [['archive', policy.archive] as const] : [])]
  for (const [name, phase] of phases) {
    if (!allowed.includes(phase.anchor)) {
      problems.push(`phases.${name}.anchor: "${phase.anchor}" does not apply to ${policy.appliesTo} (use ${allowed.join(' or ')})`)
    }
  }
  if (policy.archive) {
    if (policy.appliesTo !== 'flow-data' && policy.appliesTo !== 'purpose') {
      problems.push(`phases.archive: ${policy.appliesTo} has no archive phase (remove it: the data is destroyed at the end of the active phase)`)
    }
    for (const [i, fieldId] of policy.archive.keeps.entries()) {
      if (!FIELDS_BY_ID.has(fieldId)) {
        const prefix = fieldId.split('.')[0]
        const near = [...FIELDS_BY_ID.keys()].filter((k) => k.startsWith(`${prefix}.`))
        problems.push(
          `phases.archive.keeps[${i}]: unknown canonical field "${fieldId}"` +
            (near.length ? ` (known ${prefix}.* fields: ${near.join(', ')})` : ' (see src/model/fields.ts)'),
        )
      }
    }
    if (policy.archive.anchor === policy.active.anchor) {
      // Same clock: the archive must end no earlier than the active phase (checked on a reference day).
      const ref = '2000-01-31'
      if (addDuration(ref, policy.archive.duration) < addDuration(ref, policy.active.duration)) {
        problems.push(
          `phases.archive.duration: ${policy.archive.durationText} ends before the active phase (${policy.active.durationText}) on the same anchor; ` +
            'both durations count from the anchor, so the archive duration must be the longer one',
        )
      }
    }
  }
  return problems
}

/**
 * Cross-checks the declarations that name policies (pure): every flow's `retention` names a `flow-data` policy,
 * every purpose's `retention` names a `flow-data` or `purpose` policy. Returns problems (empty when all is well).
 */
export function checkRetentionReferences(
  policies: ReadonlyMap<string, RetentionPolicy>,
  flows: Iterable<{ id: string; retention: string }>,
  purposes: Iterable<{ id: string; retention: string }> = [],
): string[] {
  const problems: string[] = []
  const known = (scopes: PolicyScope[]) =>
    [...policies.values()].filter((p) => scopes.includes(p.appliesTo)).map((p) => p.id).sort().join(', ') || '(none)'
  for (const flow of flows) {
    const policy = policies.get(flow.retention)
    if (!policy) problems.push(`flows/${flow.id}.yaml: retention: unknown policy "${flow.retention}" (known flow-data policies: ${known(['flow-data'])}; add flows/retention/${flow.retention}.yaml)`)
    else if (policy.appliesTo !== 'flow-data') problems.push(`flows/${flow.id}.yaml: retention: policy "${flow.retention}" applies to ${policy.appliesTo}, not flow-data`)
  }
  for (const purpose of purposes) {
    const policy = policies.get(purpose.retention)
    if (!policy) problems.push(`mappings/${purpose.id}.yaml: retention: unknown policy "${purpose.retention}" (known: ${known(['flow-data', 'purpose'])}; add flows/retention/${purpose.retention}.yaml)`)
    else if (policy.appliesTo !== 'flow-data' && policy.appliesTo !== 'purpose') {
      problems.push(`mappings/${purpose.id}.yaml: retention: policy "${purpose.retention}" applies to ${policy.appliesTo}, not to a purpose's data`)
    }
  }
  return problems
}
