import { spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dailySelection, generateFixture } from '../../src/fixtures/generate-fixture.ts'
import { foyer } from '../../src/fixtures/population.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'passerelle-fixtures-command-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('generateFixture', () => {
  it('writes a CNAF stock under its realistic name and leaves no partial file', async () => {
    const out = path.join(dir, 'stock')
    const result = await generateFixture({ flow: 'caf-beneficiaires', foyers: 50, seed: 3, outDir: out, date: '2026-11-01' })
    expect(result.fileName).toBe('CAF093.RSABEM.20261101.xml')
    expect(await readdir(out)).toEqual(['CAF093.RSABEM.20261101.xml'])
    expect((await readFile(result.path)).length).toBe(result.bytes)
  })

  it('draws a daily file’s foyers from the population, plus the new ones', async () => {
    const out = path.join(dir, 'daily')
    const result = await generateFixture({
      flow: 'msa-beneficiaires',
      foyers: 1000,
      seed: 3,
      outDir: out,
      date: '2026-11-02',
      type: 'I',
      changed: 15,
      added: 2,
      departement: '34',
    })
    // The MSA's own names and identifiers: MSABEI, 10-character NUMDEMRSA, every NIR with its key.
    expect(result.fileName).toBe('MSA034.MSABEI.20261102.xml')
    const indices = dailySelection(3, '2026-11-02', 1000, 15, 2)
    expect(indices).toHaveLength(17)
    expect(indices.slice(15)).toEqual([1000, 1001])
    const xml = (await readFile(result.path)).toString('latin1')
    const numdem = [...xml.matchAll(/<NUMDEMRSA>(\d+)<\/NUMDEMRSA>/g)].map((m) => m[1])
    expect(numdem).toEqual(indices.map((i) => foyer(3, i, { organisme: 'MSA', departement: '34' }).numdemrsa.slice(1)))
    expect([...xml.matchAll(/<NIR>(\d+)<\/NIR>/g)].every((m) => m[1]!.length === 15)).toBe(true)
    expect(dailySelection(3, '2026-11-03', 1000, 15, 0)).not.toEqual(indices.slice(0, 15))
  })

  it('writes a France Travail file through its generator', async () => {
    const out = path.join(dir, 'ft')
    const result = await generateFixture({ flow: 'france-travail', foyers: 200, seed: 3, outDir: out, date: '2026-11-01', kind: 'inscriptions' })
    expect(result.flow).toBe('france-travail')
    expect(await readdir(out)).toEqual([result.fileName])
    expect(result.bytes).toBeGreaterThan(0)
  })

  it('writes a monthly fichier-PE-CG stock of the same registered adults as the France Travail CSV stock', async () => {
    const out = path.join(dir, 'pecg')
    const result = await generateFixture({ flow: 'france-travail-mensuel', foyers: 200, seed: 3, outDir: out, date: '2026-11-30' })
    expect(result.fileName).toBe('PECG_202611_DPT93.xml')
    expect(await readdir(out)).toEqual([result.fileName])
    const csv = await generateFixture({ flow: 'france-travail', foyers: 200, seed: 3, outDir: path.join(dir, 'pecg-csv'), date: '2026-11-30', kind: 'stock' })
    if (result.flow !== 'france-travail-mensuel' || csv.flow !== 'france-travail') throw new Error('unexpected flows')
    expect(result.report.dossiers).toBe(csv.report.rows)
    const text = (await readFile(result.path)).toString('latin1')
    expect(text).toMatch(/^<\?xml version="1.0" encoding="ISO-8859-1"\?>\n<fichier-PE-CG>\n<entete><fichier>PECG<\/fichier><periodicite>M<\/periodicite>/)
    expect(text).toContain(`<nb-dossiers>${String(result.report.dossiers).padStart(7, '0')}</nb-dossiers>`)
    expect(text).toContain('<date-dernier-ent>2020</date-dernier-ent>')
    await expect(generateFixture({ flow: 'france-travail-mensuel', foyers: 1, seed: 3, outDir: out, date: '2026-11-30', kind: 'stock' })).rejects.toThrow(/do not apply/)
  })

  it('refuses unknown flows and defects that do not apply, saying what is allowed', async () => {
    const base = { foyers: 1, seed: 1, outDir: path.join(dir, 'refused'), date: '2026-11-01' }
    await expect(generateFixture({ ...base, flow: 'pole-emploi' as 'france-travail' })).rejects.toThrow(/unknown flow "pole-emploi".*caf-beneficiaires/)
    await expect(generateFixture({ ...base, flow: 'france-travail', defects: ['count-mismatch'] })).rejects.toThrow(/does not apply/)
    await expect(generateFixture({ ...base, flow: 'caf-beneficiaires', defects: ['bad-date'] })).rejects.toThrow(/does not apply/)
  })
})

describe('passerelle fixtures', () => {
  it('prints the path, size and counts, and never a personal value', () => {
    const out = path.join(dir, 'cli')
    const result = spawnSync(
      process.execPath,
      ['bin/passerelle.js', 'fixtures', '--flow', 'caf-beneficiaires', '--foyers', '40', '--seed', '5', '--out', out, '--date', '2026-11-01', '--defect', 'bad-nir-key', 'truncated', '--every', '10', '--json'],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    )
    expect(result.status, result.stderr.slice(0, 500)).toBe(0)
    const printed = JSON.parse(result.stdout) as { path: string; bytes: number; foyers: number; defects: { badNirKey: { recordIndex: number }[]; truncated: { atByte: number } } }
    expect(printed.path).toBe(path.join(out, 'CAF093.RSABEM.20261101.xml'))
    expect(printed.bytes).toBe(printed.defects.truncated.atByte)
    expect(printed.defects.badNirKey.length).toBeGreaterThan(0)
    const people = Array.from({ length: 40 }, (_, i) => foyer(5, i)).flatMap((f) => f.personnes)
    const personal = people.flatMap((p) => [p.nom, p.prenom, p.nir13 ?? '', p.dtnai]).filter((v) => v.length >= 4)
    expect(personal.filter((v) => result.stdout.includes(v) || result.stderr.includes(v))).toHaveLength(0)
  }, 60_000)

  it('exits non-zero with a clear message on a bad option', () => {
    const result = spawnSync(process.execPath, ['bin/passerelle.js', 'fixtures', '--flow', 'caf', '--foyers', '1', '--out', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(result.status).not.toBe(0)
    expect(result.stderr).toMatch(/unknown flow "caf"/)
  }, 60_000)
})
