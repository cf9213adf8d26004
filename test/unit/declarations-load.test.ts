import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DeclarationError } from '../../src/declarations/declaration-error.ts'
import { loadDeclarations, readDeclarations } from '../../src/declarations/load-declarations.ts'
import { checkConfiguration } from '../../src/declarations/check-configuration.ts'
import { DEFECTS, declarationsWith } from '../helpers/bad-declarations.ts'

const SHIPPED = { flowsDir: path.resolve(import.meta.dirname, '../../flows'), mappingsDir: path.resolve(import.meta.dirname, '../../mappings') }

function problemsOf(dirs: { flowsDir: string; mappingsDir: string }): string[] {
  try {
    loadDeclarations(dirs)
  } catch (error) {
    expect(error).toBeInstanceOf(DeclarationError)
    return (error as DeclarationError).problems
  }
  throw new Error('loadDeclarations accepted the declarations')
}

describe('loadDeclarations', () => {
  it('returns flows, purposes, retention policies, statistics sections and the stored-field set of the shipped declarations', () => {
    const d = loadDeclarations(SHIPPED)
    expect([...d.flows.keys()].sort()).toEqual(['caf-beneficiaires', 'caf-instruction', 'france-travail', 'france-travail-mensuel', 'france-travail-spie', 'france-travail-spie-actions', 'msa-beneficiaires', 'msa-instruction', 'orientations'])
    expect(d.purposes.has('orientation')).toBe(true)
    expect(d.retentionPolicies.get('rsa-beneficiaires')?.appliesTo).toBe('flow-data')
    expect(d.statistics.get('statistiques')?.recipients.length).toBeGreaterThan(0)
    expect(d.stored.has('dossier.numdemrsa')).toBe(true)
    expect(d.stored.has('personne.prenom3')).toBe(false)
    const api = d.apiFlows.get('france-travail-api')
    expect(api?.source.type).toBe('francetravail-api')
    expect(api?.outbound.purpose).toBe('instruction')
    expect(d.flows.has('france-travail-api')).toBe(false)
  })

  it('cross-checks the partner-API flows against the retention policies', () => {
    const dirs = declarationsWith([])
    const file = path.join(dirs.flowsDir, 'france-travail-api.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('retention: france-travail-api', 'retention: nowhere'))
    expect(problemsOf(dirs)).toEqual([expect.stringMatching(/^flows\/france-travail-api\.yaml: retention: unknown retention policy "nowhere"/)])
  })

  it('lists every problem at once, each naming its file and key', () => {
    const dirs = declarationsWith(DEFECTS)
    writeFileSync(path.join(dirs.flowsDir, 'broken.yaml'), 'title: [unclosed\n')
    const problems = problemsOf(dirs)
    for (const defect of DEFECTS) expect(problems, defect.name).toContainEqual(expect.stringMatching(defect.problem))
    expect(problems).toContainEqual(expect.stringMatching(/^flows\/broken\.yaml: \(yaml\): not valid YAML/))
  })

  it('refuses exactly what passerelle check reports', async () => {
    for (const defect of DEFECTS) {
      const dirs = declarationsWith([defect])
      const check = await checkConfiguration(dirs)
      expect(check.problems, defect.name).toEqual(problemsOf(dirs))
      expect(readDeclarations(dirs).problems).toEqual(check.problems)
    }
    expect((await checkConfiguration(SHIPPED)).problems).toEqual([])
  })
})
