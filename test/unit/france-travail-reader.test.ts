import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ParsedRecord } from '../../src/ingestion/records/parsed-record.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import { readFranceTravailFile, type FranceTravailRow, type ReadFranceTravailOptions } from '../helpers/declared-flows.ts'

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/france-travail')
const work = mkdtempSync(path.join(tmpdir(), 'ft-reader-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

// Synthetic NIRs (valid format) used by the hand-made fixtures.
const A = '2690575056123'
const B = '178022A004012'
const C = '1851293055007'
const D = '2991013001042'

const defaults: Omit<ReadFranceTravailOptions, 'kind' | 'fileLabel'> = { encoding: 'iso-8859-1', delimiter: ';', header: true }

async function readAll(file: string, options: Partial<ReadFranceTravailOptions> & { kind: ReadFranceTravailOptions['kind'] }) {
  const records: ParsedRecord<FranceTravailRow>[] = []
  const batches: number[] = []
  for await (const batch of readFranceTravailFile(file, { ...defaults, fileLabel: path.basename(file), ...options })) {
    batches.push(batch.length)
    records.push(...batch)
  }
  return { records, batches }
}

function valid(records: ParsedRecord<FranceTravailRow>[]): FranceTravailRow[] {
  return records.map((r) => {
    if (!r.ok) throw new Error(`record ${r.recordIndex} rejected: ${JSON.stringify(r.issues)}`)
    return r.value
  })
}

/** Writes bytes (a string is written as windows-1252 for its Latin-1 range) to a temporary file. */
function file(name: string, content: string | Buffer): string {
  const target = path.join(work, name)
  writeFileSync(target, typeof content === 'string' ? Buffer.from(content, 'latin1') : content)
  return target
}

async function rejection(promise: Promise<unknown>): Promise<FileRejection> {
  try {
    await promise
  } catch (error) {
    if (error instanceof FileRejection) return error
    throw error
  }
  throw new Error('expected the file to be rejected')
}

describe('readFranceTravailFile: layouts and format quirks', () => {
  it('reads the legacy layout with quoted fields, trailing separators and CRLF', async () => {
    const { records } = await readAll(path.join(FIXTURES, 'RSA_INSCRIPTION_201002_DPT34.csv'), { kind: 'inscriptions' })
    expect(valid(records)).toEqual([
      { recordIndex: 0, line: 2, nir13: A, identifiantpe: '0123456A001', dtnai: '1969-05-05', etat: 'inscription', date: '2010-02-01', code: '1', motif: undefined, codeinsee: undefined, localite: undefined, adresse: undefined, ale: undefined },
      { recordIndex: 1, line: 3, nir13: B, identifiantpe: '0234567B002', dtnai: '1978-02-14', etat: 'inscription', date: '2010-02-03', code: '2', motif: undefined, codeinsee: undefined, localite: undefined, adresse: undefined, ale: undefined },
      { recordIndex: 2, line: 4, nir13: C, identifiantpe: '0345678C003', dtnai: '1988-02-29', etat: 'inscription', date: '2010-02-15', code: 'A', motif: undefined, codeinsee: undefined, localite: undefined, adresse: undefined, ale: undefined },
    ])
  })

  it('reads the extended layout (from Nov 2011) and keeps windows-1252 accents and a quoted separator', async () => {
    const { records } = await readAll(path.join(FIXTURES, 'RSA_CESSATION_202611_DPT93.csv'), { kind: 'cessations' })
    const rows = valid(records)
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({
      nir13: A,
      etat: 'cessation',
      date: '2026-11-02',
      code: 'CE',
      motif: 'Reprise d’emploi; déclarée',
      codeinsee: '93066',
      localite: 'Saint-Denis',
      adresse: "12, rue de l'Église",
      ale: '93012',
    })
    expect(rows[1]).toMatchObject({ nir13: D, etat: 'cessation', codeinsee: '2A004', localite: 'Ajaccio', adresse: undefined, ale: undefined })
  })

  it('hands on no name: France Travail’s copy of the identity is read and checked, not kept', async () => {
    const { records } = await readAll(path.join(FIXTURES, 'RSA_CESSATION_202611_DPT93.csv'), { kind: 'cessations' })
    for (const row of valid(records)) {
      expect(Object.keys(row)).not.toContain('nom')
      expect(Object.keys(row)).not.toContain('prenom')
      expect(JSON.stringify(row)).not.toMatch(/LEF|Hélène|UVRARD|Béatrice/)
    }
  })

  it('reads UTF-8 with a BOM, whether the flow declares utf-8 or Latin-1', async () => {
    const fixture = path.join(FIXTURES, 'RSA_RADIATION_202611_DPT93_utf8.csv')
    for (const encoding of ['utf-8', 'iso-8859-1']) {
      const { records } = await readAll(fixture, { kind: 'radiations', encoding })
      expect(valid(records)).toEqual([
        expect.objectContaining({ nir13: C, etat: 'radiation', code: 'RA', motif: "Défaut d'actualisation", line: 2 }),
      ])
    }
  })

  it('reads a header-less stock, telling the layout from the column count; a 15-character NIR gives its 13', async () => {
    const fixture = path.join(FIXTURES, 'Liste_BeneficiairesRSA_Inscrits_16_12_2010_1_840.csv')
    const { records } = await readAll(fixture, { kind: 'stock', header: false })
    const rows = valid(records)
    expect(rows.map((r) => [r.line, r.nir13, r.etat, r.codeinsee])).toEqual([
      [1, A, 'inscription', '34172'],
      [2, B, 'inscription', '2A004'],
    ])
    expect(rows[0]?.adresse).toBe('3 place de la Comédie')
    expect(rows[1]?.adresse).toBe('Résidence "Les Pins"')
  })

  it('skips blank lines and counts physical lines through a quoted line break', async () => {
    const text = [
      'nir;identifiantpe;nom;prenom;dtnai;date;code;motif;nir2',
      '',
      `${A};0123456A001;X;Y;05/05/1969;01/02/2010;R1;"first line`,
      `second line";${A}`,
      ';;;;;;;;',
      `${C};0345678C003;X;Y;29/02/1988;15/02/2010;R2;;${C}`,
    ].join('\n')
    const { records } = await readAll(file('multiline.csv', text + '\n'), { kind: 'radiations' })
    expect(valid(records).map((r) => [r.recordIndex, r.line, r.motif])).toEqual([
      [0, 3, 'first line\nsecond line'],
      [1, 6, undefined],
    ])
  })

  it('hands records out in batches of the requested size', async () => {
    const lines = ['nir;identifiantpe;nom;prenom;dtnai;date;code;nir2']
    for (let i = 0; i < 5; i++) lines.push(`${A};0123456A00${i};X;Y;05/05/1969;01/02/2010;1;${A}`)
    const { records, batches } = await readAll(file('batches.csv', lines.join('\n') + '\n'), { kind: 'inscriptions', batchSize: 2 })
    expect(batches).toEqual([2, 2, 1])
    expect(records.map((r) => (r.ok ? r.value.recordIndex : r.recordIndex))).toEqual([0, 1, 2, 3, 4])
  })

  it('stops when the signal is aborted', async () => {
    const lines = ['nir;identifiantpe;nom;prenom;dtnai;date;code;nir2']
    for (let i = 0; i < 10; i++) lines.push(`${A};0123456A00${i};X;Y;05/05/1969;01/02/2010;1;${A}`)
    const controller = new AbortController()
    const target = file('abort.csv', lines.join('\n') + '\n')
    const seen: number[] = []
    const run = async () => {
      for await (const batch of readFranceTravailFile(target, { ...defaults, kind: 'inscriptions', fileLabel: 'abort.csv', batchSize: 2, signal: controller.signal })) {
        seen.push(batch.length)
        controller.abort()
      }
    }
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' })
    expect(seen).toEqual([2])
  })
})

describe('readFranceTravailFile: per-record rules', () => {
  it('rejects each broken rule with its field and rule, and goes on with the file', async () => {
    const { records } = await readAll(path.join(FIXTURES, 'invalid-records_inscriptions.csv'), { kind: 'inscriptions' })
    expect(records[0]?.ok).toBe(true)
    const issues = records.slice(1).map((r) => (r.ok ? 'ok' : { line: r.line, key: r.key, issues: r.issues }))
    expect(issues).toEqual([
      { line: 3, key: undefined, issues: [{ field: 'nir', rule: 'nir_format' }] },
      { line: 4, key: undefined, issues: [{ field: 'nir', rule: 'nir_key' }] },
      { line: 5, key: undefined, issues: [{ field: 'nir2', rule: 'nir_mismatch' }] },
      { line: 6, key: undefined, issues: [{ field: 'identifiantpe', rule: 'identifiantpe_format' }] },
      { line: 7, key: undefined, issues: [{ field: 'nom', rule: 'required' }] },
      { line: 8, key: undefined, issues: [{ field: 'dtnai', rule: 'date_format' }] },
      { line: 9, key: undefined, issues: [{ field: 'date', rule: 'date_calendar' }] },
      { line: 10, key: undefined, issues: [{ field: 'code', rule: 'required' }] },
      { line: 11, key: undefined, issues: [{ field: 'code', rule: 'too_long' }] },
      { line: 12, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] },
      { line: 13, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] },
    ])
  })

  it('never carries a rejected value', async () => {
    const { records } = await readAll(path.join(FIXTURES, 'invalid-records_inscriptions.csv'), { kind: 'inscriptions' })
    const rejected = JSON.stringify(records.filter((r) => !r.ok))
    for (const value of [A.slice(0, 8), B.slice(0, 8), '0123456A001', '012345AA001', 'LEF', 'Hélène', '05/05/1969', '1969', '2010', '123']) {
      expect(rejected).not.toContain(value)
    }
  })

  it('checks motif, ale and codeinsee lengths and formats', async () => {
    const header = 'nir;identifiantpe;nom;prenom;dtnai;date;code;motif;nir2;codeinsee;localite;adresse;ale'
    const row = (motif: string, codeinsee: string, ale: string) => `${A};0123456A001;X;Y;05/05/1969;01/02/2010;R1;${motif};${A};${codeinsee};L;AD;${ale}`
    const text = [header, row('m'.repeat(250), '93066', '93012'), row('m'.repeat(251), '93066', '93012'), row('m', '9306', '93012'), row('m', '93066', '930120')].join('\n')
    const { records } = await readAll(file('lengths.csv', text + '\n'), { kind: 'cessations' })
    expect(records.map((r) => (r.ok ? 'ok' : r.issues))).toEqual([
      'ok',
      [{ field: 'motif', rule: 'too_long' }],
      [{ field: 'codeinsee', rule: 'codeinsee_format' }],
      [{ field: 'ale', rule: 'too_long' }],
    ])
  })

  it('takes the layout from the header: a legacy row in an extended file has the wrong column count', async () => {
    const text = [
      'nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale',
      `${A};0123456A001;X;Y;05/05/1969;01/02/2010;1;${A}`,
      `${A};0123456A001;X;Y;05/05/1969;01/02/2010;1;${A};93066;L;AD;93012;;;`,
    ].join('\n')
    const { records } = await readAll(file('mixed.csv', text + '\n'), { kind: 'stock' })
    expect(records.map((r) => (r.ok ? 'ok' : r.issues))).toEqual([[{ field: 'record', rule: 'column_count' }], 'ok'])
  })
})

describe('readFranceTravailFile: files rejected whole', () => {
  it('rejects binary content', async () => {
    const target = file('garbage.csv', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x4b, 0x4c]))
    const error = await rejection(readAll(target, { kind: 'inscriptions' }))
    expect(error.code).toBe('not_well_formed')
    expect(error.message).toContain('garbage.csv')
    expect(error.message).toContain('not_well_formed')
  })

  it('rejects an empty file, and a file of blank lines', async () => {
    expect((await rejection(readAll(file('empty.csv', ''), { kind: 'inscriptions' }))).code).toBe('empty_file')
    expect((await rejection(readAll(file('blank.csv', '\r\n\r\n  \n'), { kind: 'stock', header: false }))).code).toBe('empty_file')
  })

  it('accepts a header with no record (a day without movements)', async () => {
    const { records } = await readAll(file('header-only.csv', 'nir;identifiantpe;nom;prenom;dtnai;date;code;nir2\n'), { kind: 'inscriptions' })
    expect(records).toEqual([])
  })

  it('rejects a header of no known layout, naming the line', async () => {
    const cessationHeader = 'nir;identifiantpe;nom;prenom;dtnai;date;code;motif;nir2\n'
    const error = await rejection(readAll(file('RSA_INSCRIPTION_wrong.csv', cessationHeader), { kind: 'inscriptions' }))
    expect(error.code).toBe('wrong_schema')
    expect(error.where.line).toBe(1)
    expect(error.message).toContain('RSA_INSCRIPTION_wrong.csv')
  })

  it('rejects a header-less file in which no record has a known layout', async () => {
    const text = [`${A};0123456A001;X;Y;05/05/1969`, `${A};0123456A001;X;Y;05/05/1969`].join('\n')
    expect((await rejection(readAll(file('nolayout.csv', text + '\n'), { kind: 'stock', header: false }))).code).toBe('wrong_schema')
  })

  it('rejects a file ending inside a quoted field as truncated', async () => {
    const text = `nir;identifiantpe;nom;prenom;dtnai;date;code;nir2\n${A};0123456A001;"LEF`
    const error = await rejection(readAll(file('open-quote.csv', text), { kind: 'inscriptions' }))
    expect(error.code).toBe('truncated')
    expect(error.message).not.toContain('LEF')
  })

  it('rejects a file whose last line is cut short as truncated, naming its line', async () => {
    const text = [
      'nir;identifiantpe;nom;prenom;dtnai;date;code;nir2',
      `${A};0123456A001;X;Y;05/05/1969;01/02/2010;1;${A}`,
      `${C};0345678C003;X;Y;29/02/1988;15/0`,
    ].join('\n')
    const error = await rejection(readAll(file('cut.csv', text), { kind: 'inscriptions' }))
    expect(error.code).toBe('truncated')
    expect(error.where).toEqual({ recordIndex: 1, line: 3 })
  })

  it('keeps an invalid last record as a record when the file ends with a line break', async () => {
    const text = ['nir;identifiantpe;nom;prenom;dtnai;date;code;nir2', `${C};0345678C003;X;Y;29/02/1988;15/0`].join('\n')
    const { records } = await readAll(file('short-last.csv', text + '\n'), { kind: 'inscriptions' })
    expect(records.map((r) => r.ok)).toEqual([false])
  })

  it('rejects bytes that are not UTF-8 when the flow declares utf-8', async () => {
    const target = path.join(FIXTURES, 'RSA_CESSATION_202611_DPT93.csv')
    expect(readFileSync(target).includes(0xe9)).toBe(true)
    const error = await rejection(readAll(target, { kind: 'cessations', encoding: 'utf-8' }))
    expect(error.code).toBe('unsupported_encoding')
  })

  it('lets infrastructure faults through as they are', async () => {
    await expect(readAll(path.join(work, 'missing.csv'), { kind: 'stock' })).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
