import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkDeclarations } from '../../src/declarations/check-declarations.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { generateFixture } from '../../src/fixtures/generate-fixture.ts'
import { foyer } from '../../src/fixtures/population.ts'
import type { XmlRecordsDeclaration } from '../../src/ingestion/formats/xml-records/declaration.ts'
import { readXmlDeclared } from '../../src/ingestion/formats/xml-records/read-xml-declared.ts'
import { project } from '../../src/purposes/project.ts'
import { VRSB0801_XSD } from '../helpers/xsd.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const declarations = loadDeclarations({ flowsDir: path.join(ROOT, 'flows'), mappingsDir: path.join(ROOT, 'mappings') })
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0 && existsSync(VRSB0801_XSD)
const dir = mkdtempSync(path.join(tmpdir(), 'psl-fixtures-instruction-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('generated instruction and MSA files', () => {
  it('writes CAF and MSA instruction files that the shipped flows read whole: every application, person and consent', async () => {
    for (const flowId of ['caf-instruction', 'msa-instruction'] as const) {
      const result = await generateFixture({ flow: flowId, foyers: 60, seed: 4, outDir: dir, date: '2026-11-02' })
      if (result.flow !== flowId) throw new Error('unexpected result')
      expect(result.fileName).toMatch(flowId === 'caf-instruction' ? /^CAF093\.IRSACG\.20261102\.xml$/ : /^MSA093\.MSAINS\.20261102\.xml$/)
      expect(result.fileName).toMatch(new RegExp(declarations.flows.get(flowId)!.source!.pattern))
      const format = declarations.flows.get(flowId)!.format as XmlRecordsDeclaration
      const records = []
      for await (const batch of readXmlDeclared(result.path, format, { kind: 'daily', fileLabel: result.fileName })) records.push(...batch)
      expect(records).toHaveLength(60)
      expect(records.every((r) => r.ok)).toBe(true)
      const ok = records.flatMap((r) => (r.ok ? [r.value] : []))
      expect(ok.reduce((n, r) => n + (r.members?.length ?? 0), 0)).toBe(result.report.persons)
      const consents = ok.map((r) => r.values['dossier.accordTelephone'])
      expect(consents).toEqual(result.report.contacts.map((c) => c?.telephone))
      expect(new Set(consents)).toEqual(new Set(['A', 'R', 'I', undefined]))
      // Same dossiers as the beneficiary files of the seed; the MSA's NUMDEMRSA on 10 characters.
      const organisme = flowId === 'caf-instruction' ? 'CAF' : 'MSA'
      expect(ok.map((r) => r.values['dossier.numdemrsa'])).toEqual(
        ok.map((_, i) => (organisme === 'MSA' ? foyer(4, i, { organisme }).numdemrsa.slice(1) : foyer(4, i, { organisme }).numdemrsa)),
      )
      // The Art. 9 blocks are in the file, and no declared path reads them.
      expect(readFileSync(result.path, 'latin1')).toContain('<DIFSOC>')
      expect(JSON.stringify(format)).not.toMatch(/DIFSOC|DIFDISP/)
    }
  })

  it.skipIf(!hasXmllint)('writes MSA beneficiary files with MSA names and identifiers that validate against vrsb0801.xsd', async () => {
    for (const type of ['M', 'I'] as const) {
      const result = await generateFixture({ flow: 'msa-beneficiaires', foyers: 80, seed: 4, outDir: dir, date: '2026-11-03', type })
      expect(result.fileName).toBe(`MSA093.MSABE${type}.20261103.xml`)
      expect(result.fileName).toMatch(new RegExp(declarations.flows.get('msa-beneficiaires')!.source!.pattern))
      const xml = readFileSync(result.path, 'latin1')
      expect([...xml.matchAll(/<NUMDEMRSA>([^<]+)</g)].every((m) => m[1]!.length === 10)).toBe(true)
      expect([...xml.matchAll(/<NIR>([^<]+)</g)].every((m) => /^\d{15}$/.test(m[1]!) || /^[12]\d{2}(0[1-9]|1[0-2]|[2-9]\d)2[AB]\d{8}$/.test(m[1]!))).toBe(true)
      expect(xml).toMatch(/<MATRICULE>\d+<\/MATRICULE>/)
      const check = spawnSync('xmllint', ['--noout', '--schema', VRSB0801_XSD, result.path], { encoding: 'utf8' })
      expect(check.status, check.stderr.slice(0, 500)).toBe(0)
    }
  })
})

describe('consent-conditioned projection', () => {
  const purpose = {
    fields: [
      { field: 'dossier.accordTelephone', as: 'accord', transform: 'keep' as const },
      { field: 'dossier.telephone', as: 'telephone', transform: 'keep' as const, consent: { field: 'dossier.accordTelephone', given: 'A' } },
    ],
  }
  it('lets the phone out only when the consent field holds the declared value', () => {
    expect(project({ 'dossier.telephone': '0199000001', 'dossier.accordTelephone': 'A' }, purpose)).toEqual({ accord: 'A', telephone: '0199000001' })
    for (const refused of ['R', 'I', 'a', '', null, undefined, true]) {
      expect(project({ 'dossier.telephone': '0199000001', 'dossier.accordTelephone': refused }, purpose)).toMatchObject({ telephone: null })
    }
    expect(project({ 'dossier.telephone': '0199000001' }, purpose)).toEqual({ accord: null, telephone: null })
  })

  it('is refused by the declaration check when the purpose does not declare the consent field', () => {
    const shipped = declarations.purposes.get('accompagnement-rsa')!
    const broken = { ...shipped, fields: shipped.fields.filter((f) => f.field !== 'dossier.accordEmail') }
    const problems = checkDeclarations({ purposes: new Map([[broken.id, broken]]) })
    expect(problems.map((p) => [p.kind, p.key])).toContainEqual(['consent-field-undeclared', expect.stringContaining('(dossier.email).consent.field')])
    expect(checkDeclarations({ purposes: new Map([[shipped.id, shipped]]) }).filter((p) => p.kind === 'consent-field-undeclared')).toEqual([])
    // Declared but omitted is not read either: the field would always leave as null.
    const omitted = { ...shipped, fields: shipped.fields.map((f) => (f.field === 'dossier.accordEmail' ? { ...f, transform: 'omit' as const } : f)) }
    expect(checkDeclarations({ purposes: new Map([[omitted.id, omitted]]) }).map((p) => [p.kind, p.key])).toContainEqual(['consent-field-undeclared', expect.stringContaining('(dossier.email).consent.field')])
  })
})
