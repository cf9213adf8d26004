import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DeclarationError } from '../../src/declarations/declaration-error.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { checkDeclarations, formatProblem } from '../../src/declarations/check-declarations.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { loadRetentionPolicies } from '../../src/retention/load-policies.ts'

const FLOWS = path.resolve('flows')
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A copy of the shipped flows/ with one policy file written over. */
function flowsWith(files: Record<string, string | null>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-retention-'))
  dirs.push(dir)
  cpSync(FLOWS, path.join(dir, 'flows'), { recursive: true })
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, 'flows', 'retention', name)
    if (text === null) rmSync(file)
    else writeFileSync(file, text)
  }
  return path.join(dir, 'flows')
}

function problemsOf(flowsDir: string): string[] {
  try {
    loadRetentionPolicies(flowsDir)
    return []
  } catch (error) {
    if (error instanceof DeclarationError) return error.problems
    throw error
  }
}

const valid = (phases: string, appliesTo = 'flow-data') => `title: T
applies_to: ${appliesTo}
source: { text: 'Art. X', justification: 'because' }
phases:
${phases}
`

describe('retention policies', () => {
  it('loads every shipped policy, and every shipped flow names a flow-data policy', () => {
    const policies = loadRetentionPolicies(FLOWS)
    expect([...policies.keys()].sort()).toEqual(['api-tokens', 'audit-log', 'extract-files', 'france-travail', 'france-travail-api', 'matching-queue', 'rejections', 'rsa-beneficiaires', 'staging-files'])
    expect(policies.get('france-travail')).toMatchObject({
      appliesTo: 'flow-data',
      active: { durationText: 'P5M', anchor: 'transmission' },
      archive: { durationText: 'P6Y', anchor: 'transmission' },
    })
    expect(policies.get('france-travail')!.sources[0]!.text).toContain('R. 262-106')
    for (const p of policies.values()) for (const s of p.sources) expect(s.justification.length).toBeGreaterThan(20)
    const flows = loadFlows(FLOWS)
    expect(checkDeclarations({ purposes: new Map(), flows, retentionPolicies: policies })).toEqual([])
  })

  it('names the file and the field of an unknown archived field, with the known ones', () => {
    const dir = flowsWith({
      'x.yaml': valid(`  active: { duration: P1Y, anchor: transmission }
  archive: { duration: P2Y, anchor: transmission, purpose: p, keeps: [dossier.etatDroit, dossier.nope] }`),
    })
    const problems = problemsOf(dir)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^flows\/retention\/x\.yaml: phases\.archive\.keeps\[1\]: unknown canonical field "dossier\.nope" \(known dossier\.\* fields: dossier\.numdemrsa/)
  })

  it('refuses a malformed duration, an anchor that does not fit the data, and an archive ending before the active phase', () => {
    const dir = flowsWith({
      'a.yaml': valid('  active: { duration: 5 months, anchor: transmission }'),
      'b.yaml': valid('  active: { duration: P1Y, anchor: end_of_right }', 'audit-log'),
      'c.yaml': valid(`  active: { duration: P36M, anchor: end_of_right }
  archive: { duration: P2Y, anchor: end_of_right, purpose: p }`),
      'audit-log.yaml': null,
    })
    const problems = problemsOf(dir).join('\n')
    expect(problems).toContain('flows/retention/a.yaml: phases.active.duration: must be an ISO-8601 duration')
    expect(problems).toContain('flows/retention/b.yaml: phases.active.anchor: "end_of_right" does not apply to audit-log (use event)')
    expect(problems).toContain('flows/retention/c.yaml: phases.archive.duration: P2Y ends before the active phase (P36M)')
    expect(problems).not.toContain('no policy with applies_to: audit-log')
  })

  it('requires exactly one policy for each kind of gateway data', () => {
    expect(problemsOf(flowsWith({ 'rejections.yaml': null }))).toEqual([
      'flows/retention/: no policy with applies_to: rejections (the gateway\'s own data needs one)',
    ])
  })

  it('refuses unknown keys, a bad file name and invalid YAML', () => {
    const dir = flowsWith({
      'Bad_Name.yaml': valid('  active: { duration: P1Y, anchor: transmission }'),
      'd.yaml': valid('  active: { duration: P1Y, anchor: transmission }') + 'extra: 1\n',
      'e.yaml': 'title: [unclosed',
    })
    const problems = problemsOf(dir).join('\n')
    expect(problems).toContain('flows/retention/Bad_Name.yaml: (file name): the file name is the policy id and must be kebab-case')
    expect(problems).toMatch(/flows\/retention\/d\.yaml: \(root\): Unrecognized key.*extra/)
    expect(problems).toContain('flows/retention/e.yaml: (yaml): not valid YAML')
  })

  it('names flows and purposes that refer to an unknown policy or to one of the wrong kind', () => {
    const policies = loadRetentionPolicies(FLOWS)
    const flows = new Map([
      ['caf-beneficiaires', { id: 'caf-beneficiaires', retention: 'rsa' }],
      ['france-travail', { id: 'france-travail', retention: 'audit-log' }],
    ])
    const orientation = loadPurposes(path.resolve(import.meta.dirname, '../../mappings')).get('orientation')!
    const purposes = new Map([['orientation', { ...orientation, retention: 'accompagnement-rsa' }]])
    const problems = checkDeclarations({ purposes, retentionPolicies: policies, flows })
      .filter((p) => p.kind === 'unknown-retention-policy')
      .map(formatProblem)
    expect(problems).toEqual([
      'mappings/orientation.yaml: retention: unknown retention policy "accompagnement-rsa" (known: france-travail, france-travail-api, rsa-beneficiaires): declare it in flows/retention/accompagnement-rsa.yaml or name a known one',
      'flows/caf-beneficiaires.yaml: retention: unknown retention policy "rsa" (known: france-travail, france-travail-api, rsa-beneficiaires): declare it in flows/retention/rsa.yaml or name a known one',
      'flows/france-travail.yaml: retention: retention policy "audit-log" applies to audit-log, not to a flow\'s data (known: france-travail, france-travail-api, rsa-beneficiaires)',
    ])
  })
})
