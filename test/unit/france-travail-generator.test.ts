import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { franceTravailPersonsOf } from '../../src/fixtures/france-travail/france-travail-records.ts'
import { writeFranceTravailFile, type WriteFranceTravailOptions } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { adultsOf, foyer } from '../../src/fixtures/population.ts'
import type { ParsedRecord } from '../../src/ingestion/records/parsed-record.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import { detectFranceTravailKind, readFranceTravailFile, shippedCsvFormat, type FranceTravailFileKind, type FranceTravailRow } from '../helpers/declared-flows.ts'

const work = mkdtempSync(path.join(tmpdir(), 'ft-generator-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const format = shippedCsvFormat('france-travail')

const KINDS: FranceTravailFileKind[] = ['inscriptions', 'cessations', 'radiations', 'stock']
const SEED = 'ft-unit'
const DATE = '2026-11-15'

async function bytesOf(options: WriteFranceTravailOptions): Promise<Buffer> {
  const sink = new PassThrough()
  const chunks: Buffer[] = []
  sink.on('data', (chunk: Buffer) => chunks.push(chunk))
  await writeFranceTravailFile(options, sink)
  return Buffer.concat(chunks)
}

async function readBack(file: string, kind: FranceTravailFileKind): Promise<ParsedRecord<FranceTravailRow>[]> {
  const records: ParsedRecord<FranceTravailRow>[] = []
  const options = { kind, encoding: format.encoding, delimiter: format.delimiter, header: format.header, fileLabel: path.basename(file) }
  for await (const batch of readFranceTravailFile(file, options)) records.push(...batch)
  return records
}

/** The registered adults of foyers 0..n-1, straight from the population (what the CNAF files describe too). */
function expectedPersons(count: number): Array<{ nir13: string; dtnai: string; identifiantpe: string }> {
  const persons = []
  for (let i = 0; i < count; i++) {
    for (const person of adultsOf(foyer(SEED, i))) {
      if (person.franceTravail === undefined || person.nir13 === undefined) continue
      persons.push({ nir13: person.nir13, dtnai: person.dtnai, identifiantpe: person.franceTravail.identifiantpe })
    }
  }
  return persons
}

describe('writeFranceTravailFile', () => {
  it('is deterministic: same options, same bytes; another seed, another file', async () => {
    const options: WriteFranceTravailOptions = { kind: 'cessations', seed: SEED, foyers: 40, date: DATE }
    const first = await bytesOf(options)
    expect(first.length).toBeGreaterThan(500)
    expect((await bytesOf(options)).equals(first)).toBe(true)
    expect((await bytesOf({ ...options, seed: 'another' })).equals(first)).toBe(false)
  })

  it.each(KINDS.flatMap((kind) => (['extended', 'legacy'] as const).map((layout) => [kind, layout] as const)))(
    'round trip of a %s file (%s layout): every record valid, the same people as the population',
    async (kind, layout) => {
      const report = await writeFranceTravailFile({ kind, seed: SEED, foyers: 120, date: DATE, layout }, work)
      expect(report.path).toBe(path.join(work, report.fileName))
      const records = await readBack(report.path as string, kind)
      expect(records).toHaveLength(report.rows)
      const rows = records.map((r) => {
        if (!r.ok) throw new Error(`record ${r.recordIndex} rejected: ${JSON.stringify(r.issues)}`)
        return r.value
      })
      expect(rows.map((r) => ({ nir13: r.nir13, dtnai: r.dtnai, identifiantpe: r.identifiantpe }))).toEqual(expectedPersons(120))
      expect(rows.map((r) => r.line)).toEqual(rows.map((_, i) => i + 2))
      const etat = kind === 'cessations' ? 'cessation' : kind === 'radiations' ? 'radiation' : 'inscription'
      expect(new Set(rows.map((r) => r.etat))).toEqual(new Set([etat]))
      for (const row of rows) {
        if (kind === 'cessations' || kind === 'radiations') expect(row.motif).toBeTruthy()
        else expect(row.motif).toBeUndefined()
        if (kind !== 'stock') expect(row.date >= '2026-10-19' && row.date <= DATE).toBe(true)
        expect(row.ale === undefined).toBe(layout === 'legacy')
      }
    },
  )

  it('writes windows-1252 bytes: accents on one byte, the typographic apostrophe as 0x92', async () => {
    const bytes = await bytesOf({ kind: 'radiations', seed: SEED, foyers: 200, date: DATE, quoting: 'minimal' })
    expect(bytes.includes(Buffer.from('é', 'latin1'))).toBe(true)
    expect(bytes.includes(0x92)).toBe(true)
    expect(bytes.includes(Buffer.from('é', 'utf8'))).toBe(false)
    expect(bytes.subarray(0, 100).toString('latin1')).toMatch(/^nir;identifiantpe;nom;prenom;dtnai;date;code;motif;nir2;codeinsee;localite;adresse;ale\r\n/)
  })

  it('quotes some fields, and every field when asked', async () => {
    const some = (await bytesOf({ kind: 'stock', seed: SEED, foyers: 60, date: DATE })).toString('latin1').split('\r\n').slice(1, -1)
    const quoted = some.filter((line) => line.includes('"'))
    expect(quoted.length).toBeGreaterThan(0)
    expect(quoted.length).toBeLessThan(some.length)
    const all = (await bytesOf({ kind: 'stock', seed: SEED, foyers: 5, date: DATE, quoting: 'all', lineEnding: '\n' })).toString('latin1')
    for (const line of all.split('\n').slice(1, -1)) expect(line).toMatch(/^"[^"]+";"/)
  })

  it('takes foyers as a count, a range or a list of indices', async () => {
    const byCount = (await bytesOf({ kind: 'stock', seed: SEED, foyers: 30, date: DATE, header: false })).toString('latin1')
    const byRange = (await bytesOf({ kind: 'stock', seed: SEED, foyers: { from: 10, count: 20 }, date: DATE, header: false })).toString('latin1')
    const byList = (await bytesOf({ kind: 'stock', seed: SEED, foyers: [29, 3], date: DATE, header: false })).toString('latin1')
    const lines = (text: string) => text.split('\r\n').filter(Boolean)
    // Record-level quoting draws depend on the position in the file: compare the unquoted values.
    const values = (text: string) => lines(text).map((line) => line.replace(/"/g, ''))
    expect(values(byCount).slice(-values(byRange).length)).toEqual(values(byRange))
    const persons = (i: number) => franceTravailPersonsOf(foyer(SEED, i)).map((p) => p.nir13)
    expect(values(byList).map((line) => line.slice(0, 13))).toEqual([...persons(29), ...persons(3)])
  })

  it('gives realistic names the shipped flow tells the kind of', async () => {
    for (const kind of KINDS) {
      const report = await writeFranceTravailFile({ kind, seed: SEED, foyers: 10, date: DATE, departement: '34' }, work)
      expect(detectFranceTravailKind(report.fileName, format.kinds ?? [])).toBe(kind)
      expect(report.fileName).toMatch(kind === 'stock' ? /^Liste_BeneficiairesRSA_Inscrits_15_11_2026_1_\d+\.csv$/ : /^RSA_[A-Z]+_202611_DPT34\.csv$/)
    }
    expect(readdirSync(work).filter((name) => name.endsWith('.part'))).toEqual([])
  })

  it('injects each defect on the records it reports, and the reader finds exactly those', async () => {
    const report = await writeFranceTravailFile(
      {
        kind: 'inscriptions',
        seed: SEED,
        foyers: 200,
        date: DATE,
        defects: { badNirKey: { every: 9 }, nirMismatch: { every: 11 }, badDate: { every: 13 }, wrongColumnCount: { every: 17 } },
      },
      path.join(work, 'defects.csv'),
    )
    const expected = new Map<number, string>()
    const rules = { badNirKey: 'nir_key', nirMismatch: 'nir_mismatch', badDate: 'date_calendar', wrongColumnCount: 'column_count' } as const
    for (const [defect, rule] of Object.entries(rules) as [keyof typeof rules, string][]) {
      const hits = report.defects[defect] ?? []
      expect(hits.length).toBeGreaterThan(2)
      for (const hit of hits) expected.set(hit.recordIndex, rule)
    }
    const records = await readBack(path.join(work, 'defects.csv'), 'inscriptions')
    const found = new Map(records.filter((r) => !r.ok).map((r) => [r.recordIndex, r.issues.map((i) => i.rule).join(',')]))
    expect(found).toEqual(expected)
    expect(records.filter((r) => r.ok)).toHaveLength(report.rows - expected.size)
  })

  it('writes a truncated file the reader rejects whole at the reported line', async () => {
    const target = path.join(work, 'truncated.csv')
    const report = await writeFranceTravailFile({ kind: 'stock', seed: SEED, foyers: 50, date: DATE, defects: { truncated: true } }, target)
    expect(report.defects.truncated).toEqual({ recordIndex: report.rows - 1, line: report.rows + 1 })
    expect(readFileSync(target).subarray(-2).toString('latin1')).not.toBe('\r\n')
    const error = await readBack(target, 'stock').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(FileRejection)
    expect(error).toMatchObject({ code: 'truncated', where: { line: report.rows + 1 } })
  })
})
