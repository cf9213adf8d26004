import { existsSync } from 'node:fs'
import path from 'node:path'
import { DeclarationError } from '../declarations/declaration-error.ts'
import { readYamlDir, type YamlDirReading } from '../declarations/read-yaml-dir.ts'
import { FIELDS_BY_ID } from '../model/fields.ts'
import { addDuration } from './duration.ts'
import { ANCHORS_BY_SCOPE, RetentionPolicySchema, toRetentionPolicy, type PolicyScope, type RetentionPolicy } from './policy.ts'

/** The gateway's own data: each of these scopes needs exactly one policy. */
export const SYSTEM_SCOPES: readonly PolicyScope[] = ['audit-log', 'rejections', 'staging-files', 'extract-files', 'api-tokens', 'matching-queue']

/**
 * Reads every `<flowsDir>/retention/<id>.yaml` (the file name is the policy id), listing every problem, each naming
 * the file and the field; each system scope needs exactly one policy.
 */
export function readRetentionPolicies(flowsDir: string): YamlDirReading<RetentionPolicy> {
  const label = `${path.basename(flowsDir)}/retention`
  const dir = path.join(flowsDir, 'retention')
  if (!existsSync(dir)) {
    return { entries: new Map(), files: new Map(), problems: [`${label}/: no retention policy folder (expected flows/retention/<policy-id>.yaml)`] }
  }
  const reading = readYamlDir(dir, RetentionPolicySchema, { kind: 'policy', label })
  const problems = [...reading.problems]
  const policies = new Map<string, RetentionPolicy>()
  for (const [id, declared] of reading.entries) {
    const policy = toRetentionPolicy(id, declared)
    problems.push(...checkPolicy(policy).map((p) => `${reading.files.get(id)}: ${p}`))
    policies.set(id, policy)
  }
  for (const scope of SYSTEM_SCOPES) {
    const ids = [...policies.values()].filter((p) => p.appliesTo === scope).map((p) => p.id)
    if (ids.length === 0) problems.push(`${label}/: no policy with applies_to: ${scope} (the gateway's own data needs one)`)
    if (ids.length > 1) problems.push(`${label}/: several policies apply to ${scope} (${ids.join(', ')}): keep one`)
  }
  return { entries: policies, files: reading.files, problems }
}

/** readRetentionPolicies, throwing a DeclarationError when anything is wrong (entry points use loadDeclarations). */
export function loadRetentionPolicies(flowsDir: string): Map<string, RetentionPolicy> {
  const { entries, problems } = readRetentionPolicies(flowsDir)
  if (problems.length > 0) throw new DeclarationError(problems)
  return entries
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
