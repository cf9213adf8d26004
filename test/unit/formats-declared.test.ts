import fc from 'fast-check'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import { CsvRecordsDeclarationSchema } from '../../src/ingestion/formats/csv-records/declaration.ts'
import { readCsvDeclared } from '../../src/ingestion/formats/csv-records/read-csv-declared.ts'
import { compileFieldCheck, Broken, type FieldRules } from '../../src/ingestion/formats/declared/field-values.ts'
import { XmlRecordsDeclarationSchema } from '../../src/ingestion/formats/xml-records/declaration.ts'
import { readXmlDeclared, type ReadXmlDeclaredOptions } from '../../src/ingestion/formats/xml-records/read-xml-declared.ts'
import { DEFAULT_READER_LIMITS } from '../../src/ingestion/reader-limits.ts'
import type { ParsedRecord } from '../../src/ingestion/records/parsed-record.ts'
import type { DeclaredRecord } from '../../src/ingestion/formats/declared/declared-record.ts'
import { nirKey } from '../../src/ingestion/validation/nir.ts'

const work = mkdtempSync(path.join(tmpdir(), 'formats-declared-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
let n = 0
const file = (content: string | Buffer, ext: string) => {
  const target = path.join(work, `f${n++}.${ext}`)
  writeFileSync(target, content)
  return target
}

const base: Omit<FieldRules, 'name' | 'type'> = {
  required: false,
  normalise: [],
  formats: ['DD/MM/YYYY'],
  booleans: { true: ['O', 'OUI'], false: ['N', 'NON'] },
  nullLiteral: 'NULL',
}
const check = (rules: Partial<FieldRules> & Pick<FieldRules, 'name' | 'type'>) => {
  const f = compileFieldCheck({ ...base, ...rules })
  return (raw: string | undefined) => {
    const v = f(raw)
    return v instanceof Broken ? `rule:${v.rule}` : v
  }
}

describe('declared field values', () => {
  it('reads dates and datetimes with their patterns, and names the rule a bad one breaks', () => {
    const date = check({ name: 'd', type: 'date', formats: ['DD/MM/YYYY', 'YYYY-MM-DD'] })
    expect(date('29/02/2024')).toBe('2024-02-29')
    expect(date(' 2024-02-29 ')).toBe('2024-02-29')
    expect(date('29/02/2023')).toBe('rule:date_calendar')
    expect(date('2020')).toBe('rule:date_format')
    expect(date('')).toBeUndefined()
    const dt = check({ name: 'dt', type: 'datetime', formats: ['YYYY-MM-DD HH:mm:ss.S'] })
    expect(dt('2020-02-13 00:00:00.0')).toBe('2020-02-13T00:00:00')
    expect(dt('2020-02-13 14:30:59.123')).toBe('2020-02-13T14:30:59')
    expect(dt('2020-02-13 24:00:00.0')).toBe('rule:date_calendar')
    expect(dt('2020-02-13')).toBe('rule:date_format')
    expect(dt('NULL')).toBeUndefined()
  })

  it('reads booleans, numbers, codes, patterns and lengths, and the null literal as no value', () => {
    const b = check({ name: 'b', type: 'boolean', required: true })
    expect([b('O'), b('oui'), b('N'), b('NON'), b('peut-être'), b('NULL'), b('  ')]).toEqual([true, true, false, false, 'rule:boolean_value', 'rule:required', 'rule:required'])
    expect([check({ name: 'i', type: 'integer' })('042'), check({ name: 'i', type: 'integer' })('4.2')]).toEqual([42, 'rule:integer_format'])
    expect([check({ name: 'm', type: 'decimal' })('1675,50'), check({ name: 'm', type: 'decimal' })('1 675')]).toEqual(['1675.50', 'rule:decimal_format'])
    const mode = check({ name: 'mode', type: 'code', codes: ['GUIDE', 'RENFORCE', 'SUIVI'], normalise: ['uppercase'] })
    expect([mode('guide'), mode('AUTRE')]).toEqual(['GUIDE', 'rule:mode_code'])
    const rome = check({ name: 'rome', type: 'text', pattern: '^[A-N][0-9]{4}$', max_length: 5 })
    expect([rome('K2111'), rome('K211'), rome('K21111')]).toEqual(['K2111', 'rule:rome_format', 'rule:too_long'])
    const nir13 = '1800175123456'
    const nir = check({ name: 'nir', type: 'nir' })
    expect([nir(nir13 + nirKey(nir13)), nir(`${nir13}00`), nir('12')]).toEqual([nir13, 'rule:nir_key', 'rule:nir_format'])
    expect(check({ name: 's', type: 'siret' })('732 829 320 00074')).toBe('73282932000074')
    expect(check({ name: 'e', type: 'email' })('Ref@Example.org')).toBe('ref@example.org')
  })
})

const CSV = (extra = '') => `
type: csv-records
encoding: utf-8
delimiter: '|'
quote: false
header: false
null_literal: NULL
values: { franceTravail.etat: inscription }
fields:
  - { name: nir, position: 1, field: personne.nir, type: nir, required: true }
  - { name: naissance, position: 2, field: personne.dateNaissance, type: date, format: 'YYYYMMDD', required: true }
  - { name: agence, position: 4, field: franceTravail.agence }
  - { name: brsa, position: 5, type: boolean }
target: registrations
${extra}`

async function readAll<T>(batches: AsyncIterable<ParsedRecord<T>[]>): Promise<ParsedRecord<T>[]> {
  const out: ParsedRecord<T>[] = []
  for await (const b of batches) out.push(...b)
  return out
}

async function rejection(p: Promise<unknown>): Promise<FileRejection> {
  try {
    await p
  } catch (error) {
    if (error instanceof FileRejection) return error
    throw error
  }
  throw new Error('expected a rejection')
}

describe('csv-records', () => {
  it('reads a header-less file by positions, without quoting, with its null literal, skipping undeclared columns', async () => {
    const nir13 = '2850693055123'
    const d = CsvRecordsDeclarationSchema.parse(parseYaml(CSV()))
    const records = await readAll(readCsvDeclared(file(`${nir13}|19850603|"ignored|93012|O\n${nir13}|19850631|x|NULL|N\n`, 'csv'), d, { kind: 'records', fileLabel: 't.csv' }))
    expect(records).toEqual([
      { ok: true, value: { recordIndex: 0, line: 1, values: { 'franceTravail.etat': 'inscription', 'personne.nir': nir13, 'personne.dateNaissance': '1985-06-03', 'franceTravail.agence': '93012' } } },
      { ok: false, recordIndex: 1, line: 2, key: undefined, issues: [{ field: 'naissance', rule: 'date_calendar' }] },
    ])
  })

  it('refuses declarations that cannot work, naming the path', () => {
    const bad = CsvRecordsDeclarationSchema.safeParse(parseYaml(CSV().replace('position: 4, ', '').replace("format: 'YYYYMMDD'", "format: 'DDMM'")))
    expect(bad.success).toBe(false)
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    expect(messages).toContainEqual(expect.stringMatching(/^fields\.1\.format: a date pattern needs YYYY, MM and DD/))
    expect(messages).toContainEqual(expect.stringMatching(/^fields\.2\.position: a file without header nor layouts/))
  })
})

const XML = `
type: xml-records
encoding: iso-8859-1
root: fichier
record: dossier
header: { element: entete, equals: { fichier: PECG } }
trailer: { element: fin, count: nb-dossiers }
values: { franceTravail.etat: inscription }
fields:
  - { name: nir, path: individu/nir, field: personne.nir, type: nir, required: true }
  - { name: naissance, path: individu/naissance, field: personne.dateNaissance, type: date, format: YYYY-MM-DD, required: true }
  - { name: motif, path: inscription/motif, field: franceTravail.motif, max_length: 40 }
  - { name: categorie, path: inscription/categorie, field: franceTravail.code, codes: ['1', '2'] }
target: registrations
`
const xmlDeclaration = XmlRecordsDeclarationSchema.parse(parseYaml(XML))
const NIRS = ['1800175123456', '2850693055123', '1920499350011']
const dossier = (i: number, motif = 'Reprise d&apos;activité &amp; <![CDATA[formation]]>') =>
  `<dossier>\n<!-- dossier ${i} -->\n<individu><nir>${NIRS[i % 3]}</nir><naissance>19${80 + (i % 19)}-0${(i % 9) + 1}-1${i % 9}</naissance></individu>\n<inscription><motif>${motif}</motif><categorie>${(i % 2) + 1}</categorie></inscription></dossier>\n`
const xmlFile = (dossiers: string[], count = dossiers.length, encoding = 'ISO-8859-1') =>
  `<?xml version="1.0" encoding="${encoding}"?>\n<!-- export -->\n<fichier>\n<entete><fichier>PECG</fichier></entete>\n${dossiers.join('  ')}<fin><nb-dossiers>${count}</nb-dossiers></fin>\n</fichier>\n`

const readXml = (target: string, options: Partial<ReadXmlDeclaredOptions> = {}, declaration = xmlDeclaration) =>
  readAll(readXmlDeclared(target, declaration, { kind: 'records', fileLabel: 'f.xml', ...options }))

describe('xml-records', () => {
  it('reads records with comments, entities, CDATA and Latin-1 text, at their lines', async () => {
    const records = await readXml(file(Buffer.from(xmlFile([dossier(0), dossier(1)]), 'latin1'), 'xml'))
    expect(records.map((r) => (r.ok ? [r.value.recordIndex, r.value.line, r.value.values['franceTravail.motif'], r.value.values['franceTravail.code']] : r))).toEqual([
      [0, 5, "Reprise d'activité & formation", '1'],
      [1, 9, "Reprise d'activité & formation", '2'],
    ])
  })

  it('gives the same records whatever the read size (records cut anywhere between reads)', async () => {
    const dossiers = Array.from({ length: 12 }, (_, i) => dossier(i, i % 4 === 0 ? 'x'.repeat(41) : 'Motif é'))
    const target = file(Buffer.from(xmlFile(dossiers, 12, 'UTF-8'), 'utf8'), 'xml')
    const reference = JSON.stringify(await readXml(target))
    expect(JSON.parse(reference)).toHaveLength(12)
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 97 }), async (readBytes) => {
        expect(JSON.stringify(await readXml(target, { readBytes, batchSize: 5 }))).toBe(reference)
      }),
      { numRuns: 25 },
    )
  })

  it('rejects a file whose trailer count, header value, root or end do not hold, naming no value', async () => {
    const two = [dossier(0), dossier(1)]
    const cases: [string, string][] = [
      [xmlFile(two, 3), 'count_mismatch'],
      [xmlFile(two).replace('<fichier>PECG</fichier>', '<fichier>AUTRE</fichier>'), 'bad_header'],
      [xmlFile(two).replace('<entete><fichier>PECG</fichier></entete>', ''), 'bad_header'],
      [xmlFile(two).replace(/fichier>\n$/, 'fichier-autre>\n').replace('\n<fichier>\n', '\n<fichier-autre>\n'), 'wrong_schema'],
      [xmlFile(two).slice(0, 200), 'truncated'],
      [xmlFile(two).replace(/<fin>[\s\S]*$/, ''), 'truncated'],
      [xmlFile(two).replace('<categorie>1</categorie>', '<categorie>1</categori>'), 'not_well_formed'],
      ['', 'empty_file'],
    ]
    for (const [content, code] of cases) {
      const error = await rejection(readXml(file(Buffer.from(content, 'latin1'), 'xml')))
      expect(error.code, content.slice(0, 80)).toBe(code)
      for (const value of NIRS) expect(error.message).not.toContain(value)
      expect(error.message).not.toContain('Reprise')
    }
  })

  it('refuses text or another element after the last record, beside the trailer and the root end tag (wrong_schema, its line, no value)', async () => {
    const two = [dossier(0), dossier(1)]
    const cases: [string, number][] = [
      [xmlFile(two).replace('<fin>', `${NIRS[2]}\n<fin>`), 13],
      [xmlFile(two).replace('<fin>', `<individu><nir>${NIRS[2]}</nir></individu>\n<fin>`), 13],
      [xmlFile(two).replace('</fin>', `</fin>\n<autre>${NIRS[2]}</autre>`), 14],
      [xmlFile(two).replace('</fin>', '</fin><fin><nb-dossiers>2</nb-dossiers></fin>'), 13],
      [xmlFile(two).replace(/<\/fichier>\n$/, `</fichier>\n${NIRS[2]}\n`), 15],
      [xmlFile(two).replace(/<\/fichier>\n$/, `</fichier>\n</fichier>\n`), 15],
      [xmlFile(two).replace(/<fin>[\s\S]*<\/fin>\n/, '</fichier>\n<fin><nb-dossiers>2</nb-dossiers></fin>\n'), 14],
    ]
    for (const [content, line] of cases) {
      const error = await rejection(readXml(file(Buffer.from(content, 'latin1'), 'xml')))
      expect([error.code, error.where], content.slice(-120)).toEqual(['wrong_schema', { line }])
      expect(error.message).toMatch(/other than the <fin> trailer and the root end tag after the last <dossier>/)
      for (const value of NIRS) expect(error.message).not.toContain(value)
    }
    const quiet = xmlFile(two).replace('<fin>', '<!-- fin du lot -->\n<?pi x?>\n<fin>').replace(/<\/fichier>\n$/, '</fichier>\n<!-- après -->\n')
    expect((await readXml(file(Buffer.from(quiet, 'latin1'), 'xml'))).map((r) => r.ok)).toEqual([true, true])
  })

  it('bounds what it holds: a record larger than the limit is rejected whole', async () => {
    const big = dossier(0, 'y'.repeat(DEFAULT_READER_LIMITS.maxRecordBytes + 10))
    const error = await rejection(readXml(file(xmlFile([dossier(1), big]), 'xml'), { limits: { ...DEFAULT_READER_LIMITS, maxTextChars: 4 * DEFAULT_READER_LIMITS.maxRecordBytes } }))
    expect(error.code).toBe('record_too_large')
  })

  it('reports a record broken by its rules as a rejected record, and goes on', async () => {
    const records: ParsedRecord<DeclaredRecord>[] = await readXml(file(xmlFile([dossier(0, 'z'.repeat(41)), dossier(1).replace(NIRS[1]!, `${NIRS[1]}99`)]), 'xml'))
    expect(records.map((r) => (r.ok ? 'ok' : r.issues))).toEqual([[{ field: 'motif', rule: 'too_long' }], [{ field: 'nir', rule: 'nir_key' }]])
  })
})

describe('invalid: warn, recipient, and what a failed record keeps', () => {
  const WARN = XML.replace(
    "  - { name: categorie, path: inscription/categorie, field: franceTravail.code, codes: ['1', '2'] }",
    "  - { name: categorie, path: inscription/categorie, field: franceTravail.code, codes: ['1', '2'], invalid: warn }\n  - { name: signature, path: ppae/date-signature, field: franceTravail.dateSignaturePpae, type: date, format: YYYY-MM-DD, invalid: warn }",
  ).replace('header: { element: entete, equals: { fichier: PECG } }', 'header: { element: entete, equals: { fichier: PECG }, recipient: { path: departement, env: PASSERELLE_DEPARTEMENT } }')
  const declaration = XmlRecordsDeclarationSchema.parse(parseYaml(WARN))
  const withPpae = (d: string, signature: string, categorie = '1') => d.replace(/<categorie>\d<\/categorie>/, `<categorie>${categorie}</categorie>`).replace('</dossier>', `<ppae><date-signature>${signature}</date-signature></ppae></dossier>`)
  const warnFile = (dossiers: string[], departement = '93') => xmlFile(dossiers).replace('<entete><fichier>PECG</fichier></entete>', `<entete><fichier>PECG</fichier><departement>${departement}</departement></entete>`)

  it('keeps a record whose optional value breaks its rule, the value empty and the warning named (never the value)', async () => {
    const records = await readXml(file(warnFile([withPpae(dossier(0), '2020'), withPpae(dossier(1), '2021-03-04', '7'), withPpae(dossier(2), '')]), 'xml'), { recipient: '93' }, declaration)
    expect(records.map((r) => (r.ok ? [r.value.values['franceTravail.dateSignaturePpae'], r.value.values['franceTravail.code'], r.warnings ?? []] : r))).toEqual([
      [undefined, '1', [{ field: 'signature', rule: 'date_format' }]],
      ['2021-03-04', undefined, [{ field: 'categorie', rule: 'categorie_code' }]],
      [undefined, '1', []],
    ])
    expect(JSON.stringify(records)).not.toContain('2020"')
  })

  it('refuses `invalid: warn` on a required field', () => {
    const bad = XmlRecordsDeclarationSchema.safeParse(parseYaml(WARN.replace('field: personne.nir, type: nir, required: true }', 'field: personne.nir, type: nir, required: true, invalid: warn }')))
    expect(bad.success).toBe(false)
    expect(bad.error!.issues.map((i) => i.message)).toContainEqual(expect.stringMatching(/is required: a value breaking its rules cannot be a warning/))
  })

  it('leaves out a record whose value declared `invalid: skip` breaks its rule: no value kept, not a rejection', async () => {
    const skip = XmlRecordsDeclarationSchema.parse(parseYaml(XML.replace("codes: ['1', '2'] }", "codes: ['1', '2'], invalid: skip }")))
    const records = await readXml(file(xmlFile([dossier(0), dossier(1).replace(/<categorie>\d<\/categorie>/, '<categorie>7</categorie>'), dossier(2)]), 'xml'), {}, skip)
    expect(records.map((r) => (r.ok ? (r.skipped ?? 'kept') : 'rejected'))).toEqual(['kept', [{ field: 'categorie', rule: 'categorie_code' }], 'kept'])
    expect(records[1]!.ok && records[1]!.value.values).toEqual({})
    expect(JSON.stringify(records[1])).not.toContain(NIRS[1]!)
  })

  it('refuses `invalid: skip` on a member field (a member cannot leave its record out)', () => {
    const flow = parseYaml(readFileSync(path.resolve('flows/caf-instruction.yaml'), 'utf8')) as { format: { members: { fields: Record<string, unknown>[] } } }
    flow.format.members.fields[0]!.invalid = 'skip'
    const bad = XmlRecordsDeclarationSchema.safeParse(flow.format)
    expect(bad.success).toBe(false)
    expect(bad.error!.issues.map((i) => i.message)).toContainEqual(expect.stringMatching(/invalid: skip leaves a whole record out/))
  })

  it('refuses a DOCTYPE or entity declaration before the records (doctype_refused, its line, no value), a commented one aside', async () => {
    const withDoctype = xmlFile([dossier(0)]).replace('<!-- export -->\n', `<!-- export -->\n<!DOCTYPE fichier [<!ENTITY nom "${NIRS[1]}">]>\n`)
    const error = await rejection(readXml(file(withDoctype, 'xml')))
    expect(error.code).toBe('doctype_refused')
    expect(error.where).toEqual({ line: 3 })
    expect(error.message).not.toContain(NIRS[1]!)
    const commented = xmlFile([dossier(0)]).replace('<!-- export -->', '<!-- export <!DOCTYPE fichier> -->')
    expect((await readXml(file(commented, 'xml'))).map((r) => r.ok)).toEqual([true])
  })

  it('rejects whole a file for another recipient (wrong_recipient), and refuses to read without the expected code', async () => {
    const other = file(warnFile([withPpae(dossier(0), '')], '94'), 'xml')
    const error = await rejection(readXml(other, { recipient: '93' }, declaration))
    expect(error.code).toBe('wrong_recipient')
    expect(error.message).toContain('departement is not "93" (PASSERELLE_DEPARTEMENT)')
    await expect(readXml(other, {}, declaration)).rejects.toThrow(/did not resolve/)
  })

  it('keeps the values a failed record read out of sight: not enumerable, never serialised', async () => {
    const broken = withPpae(dossier(0), '').replace(/<naissance>[^<]*<\/naissance>/, '<naissance>1980-02-31</naissance>')
    const [record] = await readXml(file(warnFile([broken]), 'xml'), { recipient: '93' }, declaration)
    expect(record).toMatchObject({ ok: false, issues: [{ field: 'naissance', rule: 'date_calendar' }] })
    if (record!.ok) throw new Error('expected a failed record')
    expect(record!.partial).toMatchObject({ 'personne.nir': NIRS[0] })
    expect(JSON.stringify(record)).not.toContain(NIRS[0]!)
    expect(Object.keys(record!)).not.toContain('partial')
  })
})
