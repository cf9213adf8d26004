import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CnafFoyer } from '../../src/ingestion/cnaf/foyer.ts'
import type { ParsedRecord } from '../../src/ingestion/records/parsed-record.ts'
import { readCnafFile, type CnafEvent, type ReadCnafFileOptions } from '../../src/ingestion/cnaf/read-cnaf-file.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'

const FIXTURES = fileURLToPath(new URL('../../fixtures/cnaf/', import.meta.url))
const RICH = path.join(FIXTURES, 'rsabem-rich.cp1252.xml')
const MINIMAL = path.join(FIXTURES, 'rsabei-minimal.utf8.xml')
const COMMENTS = path.join(FIXTURES, 'comments-cdata.iso-8859-15.xml')
const BILLION_LAUGHS = path.join(FIXTURES, 'billion-laughs.xml')

const OPTIONS: ReadCnafFileOptions = { fallbackEncoding: 'windows-1252', organismes: ['CAF', 'MSA'], fileLabel: 'RSABEM.test.xml' }

let dir: string
let counter = 0
/** The rich fixture as a byte string (one char per byte, so cp1252 bytes survive edits). */
let rich: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'passerelle-cnaf-reader-'))
  rich = (await readFile(RICH)).toString('latin1')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function writeVariant(content: string | Buffer): Promise<string> {
  const file = path.join(dir, `variant-${counter++}.xml`)
  await writeFile(file, typeof content === 'string' ? Buffer.from(content, 'latin1') : content)
  return file
}

/** The rich fixture with `from` replaced by `to` (exactly once). */
function richWith(from: string, to: string): string {
  const at = rich.indexOf(from)
  if (at === -1 || rich.indexOf(from, at + 1) !== -1) throw new Error(`test setup: "${from}" must occur exactly once in the fixture`)
  return rich.slice(0, at) + to + rich.slice(at + from.length)
}

async function readAll(file: string, options: Partial<ReadCnafFileOptions> = {}): Promise<CnafEvent[]> {
  const events: CnafEvent[] = []
  for await (const event of readCnafFile(file, { ...OPTIONS, ...options })) events.push(event)
  return events
}

function recordsOf(events: CnafEvent[]): ParsedRecord<CnafFoyer>[] {
  return events.flatMap((e) => (e.type === 'records' ? e.records : []))
}

function foyers(events: CnafEvent[]): CnafFoyer[] {
  return recordsOf(events).map((r) => {
    if (!r.ok) throw new Error(`record ${r.recordIndex} rejected: ${JSON.stringify(r.issues)}`)
    return r.value
  })
}

async function rejectionOf(file: string, options: Partial<ReadCnafFileOptions> = {}): Promise<FileRejection> {
  try {
    await readAll(file, options)
  } catch (error) {
    if (error instanceof FileRejection) return error
    throw error
  }
  throw new Error('expected the file to be rejected')
}

describe('readCnafFile: a valid monthly stock (windows-1252)', () => {
  it('yields the header, the records in file order, then the trailer', async () => {
    const events = await readAll(RICH)
    expect(events.map((e) => e.type)).toEqual(['header', 'records', 'trailer'])
    expect(events[0]).toEqual({
      type: 'header',
      line: 5,
      header: {
        applieme: 'CRI',
        numversionapplieme: '6200',
        typeflux: 'M',
        natflux: 'D',
        dtcreaflux: '2024-03-05',
        heucreaflux: '01:18:36.0000',
        dtref: '2024-02-29',
      },
    })
    expect(events[2]).toEqual({ type: 'trailer', trailer: { nbtotdosrsatransm: 3, nbtotdosrsatransmano: 0 } })
    const values = foyers(events)
    expect(values.map((f) => [f.recordIndex, f.line, f.numdemrsa])).toEqual([
      [0, 14, '01024041042'],
      [1, 324, '01024041043'],
      [2, 441, '01024041044'],
    ])
  })

  it('keeps windows-1252 accented letters, including those of bytes 0x80-0x9F (Œ, ’)', async () => {
    const [first, , third] = foyers(await readAll(RICH))
    expect(first?.personnes.map((p) => [p.nom, p.nomnai, p.prenom])).toEqual([
      ['LEFÈVRE', 'MARÉCHAL', 'HÉLOÏSE'],
      ['CŒURDEROY', 'N’DIAYE', 'JÉRÔME'],
      ['CŒURDEROY', 'CŒURDEROY', 'ZOÉ'],
      ['CŒURDEROY', 'CŒURDEROY', 'LÉO'],
    ])
    expect(third?.adresse?.horsFrance).toBe('RUE DE L’ÉTÉ 4 / 1000 BRUXELLES / BELGIQUE')
  })

  it('decodes é è ç œ € ’ written as single windows-1252 bytes', async () => {
    const bytes = Buffer.from(richWith('<NOM>LEFÈVRE</NOM>', '<NOM>X</NOM>'), 'latin1')
    const at = bytes.indexOf('<NOM>X</NOM>') + 5
    const edited = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xe9, 0xe8, 0xe7, 0x9c, 0x80, 0x92]), bytes.subarray(at + 1)])
    const [first] = foyers(await readAll(await writeVariant(edited)))
    expect(first?.personnes[0]?.nom).toBe('éèçœ€’')
  })

  it('maps optional elements when present and leaves them undefined when absent', async () => {
    const [first] = foyers(await readAll(RICH))
    const [dem, cjt, child, child2] = first?.personnes ?? []
    expect(dem).toMatchObject({
      qual: 'MME',
      prenom2: 'FRANÇOISE',
      rgnai: '1',
      typedtnai: 'N',
      nir13: '2820251108030',
      sexe: '2',
      toprespdos: true,
      rolepers: 'DEM',
      topchapers: false,
      toppersdrodevorsa: true,
      toppersentdrodevorsa: false,
      idassedic: '1253359X',
      mtpersressmenrsa: '270.17',
      act: 'CHO',
    })
    // Corsican NIR given on 15 characters with its key.
    expect(cjt).toMatchObject({ nir13: '185032A004123', rolepers: 'CJT', toppersdrodevorsa: false, toppersentdrodevorsa: undefined, act: 'SAL' })
    // A child with no NIR, no QUAL, no MontantCalculDroitRSAPersonne is accepted.
    expect(child).toMatchObject({ nir13: undefined, qual: undefined, toppersdrodevorsa: undefined, idassedic: undefined, act: undefined })
    expect(child?.typedtnai).toBe('J')
    expect(child2?.prenom3).toBe('FRANÇOIS')
    expect(first?.refus).toBeUndefined()
    expect(first?.finDroit).toBeUndefined()
  })

  it('takes the current address (RGADR 01), trims padded values and drops empty ones', async () => {
    const [first, second] = foyers(await readAll(RICH))
    expect(first?.adresse).toEqual({
      pays: 'FRA',
      numvoie: '12',
      libtypevoie: 'RUE',
      nomvoie: 'DES ÉCOLES',
      complideadr: undefined,
      compladr: undefined,
      lieudist: 'LE CHÂTELARD',
      codepos: '42000',
      numcom: '42218',
      nomcom: 'SAINT-ÉTIENNE',
      horsFrance: undefined,
    })
    expect(second?.adresse).toMatchObject({ numvoie: undefined, nomvoie: undefined, lieudist: 'LES GRANDS PRÉS' })
  })

  it('normalises amounts and counters and reads the dossier state blocks', async () => {
    const [first, second, third] = foyers(await readAll(RICH))
    expect(first).toMatchObject({ mttotdrorsa: '612.34', nbenfautcha: 0, etatdosrsa: '2', sitfam: 'VIM', topfoydrodevorsa: true, fonorg: 'CAF', matricule: '205599000000000' })
    // One Personne and one Adresse (not repeated) work as well as several.
    expect(second?.personnes).toHaveLength(1)
    expect(second).toMatchObject({
      etatdosrsa: '4',
      topsansdomfixe: true,
      oridemrsa: 'RMI',
      mttotdrorsa: undefined,
      nbenfautcha: undefined,
      suspensionDroit: { motif: 'DL', date: '2023-10-01' },
      // The latest of three SuspensionVersement, not the last written.
      suspensionVersement: { motif: '70', date: '2024-02-01' },
    })
    expect(third).toMatchObject({ etatdosrsa: '6', finDroit: { motif: 'MUT', date: '2024-01-31' }, mttotdrorsa: '0.00', nbenfautcha: 1 })
    expect(third?.personnes[0]?.typedtnai).toBe('O')
  })

  it('hands records out in batches of batchSize, in file order', async () => {
    const events = await readAll(RICH, { batchSize: 2 })
    expect(events.map((e) => (e.type === 'records' ? e.records.length : e.type))).toEqual(['header', 2, 1, 'trailer'])
  })

  it('gives the same result when records are parsed in worker threads', async () => {
    const inline = await readAll(RICH, { workers: 0, batchSize: 1 })
    const pooled = await readAll(RICH, { workers: 2, batchSize: 1 })
    expect(pooled).toEqual(inline)
  })
})

describe('readCnafFile: other encodings and XML forms', () => {
  it('reads a UTF-8 daily file with only the required elements, entities and character references', async () => {
    const events = await readAll(MINIMAL, { organismes: ['MSA'] })
    const [foyer] = foyers(events)
    expect(events[0]).toMatchObject({ type: 'header', header: { typeflux: 'I', applieme: 'AGO', heucreaflux: '02:00:00' } })
    expect(foyer).toMatchObject({ fonorg: 'MSA', numdemrsa: '69000000123', etatdosrsa: '0', adresse: { pays: 'FRA', nomvoie: undefined } })
    expect(foyer?.personnes.map((p) => [p.nom, p.prenom, p.nir13, p.toprespdos, p.topchapers])).toEqual([
      ['GRÉGOIRE & FILS', 'JÉRÉMIE', '1990133063007', true, false],
      ['GRÉGOIRE', 'NOÉ', undefined, false, true],
    ])
  })

  it('is not fooled by </InfosFoyerRSA> in comments, CDATA or processing instructions (ISO-8859-15)', async () => {
    const events = await readAll(COMMENTS)
    const [foyer] = foyers(events)
    expect(recordsOf(events)).toHaveLength(1)
    expect(foyer?.personnes[0]?.nom).toBe('BŒUF')
    expect(foyer?.personnes[0]?.nomnai).toBe('BŒUF')
    expect(foyer?.adresse?.compladr).toBe('LOT 4 </InfosFoyerRSA> €')
    expect(foyer?.adresse?.nomvoie).toBe("DE L'ŒUVRE")
    expect(foyer?.refus).toEqual({ motif: 'F02', date: '2018-09-12' })
  })

  it('uses the flow encoding when the XML declaration names none', async () => {
    const file = await writeVariant(richWith('<?xml version="1.0" encoding="windows-1252"?>', ''))
    const [first] = foyers(await readAll(file, { fallbackEncoding: 'windows-1252' }))
    expect(first?.personnes[1]?.nom).toBe('CŒURDEROY')
    // Read as UTF-8 instead, the windows-1252 bytes are not valid text: the file is rejected, not mangled.
    expect((await rejectionOf(file, { fallbackEncoding: 'utf-8' })).code).toBe('not_well_formed')
  })

  it('reads a file with no record', async () => {
    const start = rich.indexOf('\t<InfosFoyerRSA>')
    const end = rich.indexOf('\t<TransmissionFlux>')
    const content = rich.slice(0, start) + rich.slice(end).replace('<NBTOTDOSRSATRANSM>00000003', '<NBTOTDOSRSATRANSM>00000000')
    const events = await readAll(await writeVariant(content))
    expect(events.map((e) => e.type)).toEqual(['header', 'trailer'])
  })

  it('reads a record written as an empty element as a rejected record, and counts it', async () => {
    const content = richWith('<NBTOTDOSRSATRANSM>00000003</NBTOTDOSRSATRANSM>', '<NBTOTDOSRSATRANSM>00000004</NBTOTDOSRSATRANSM>').replace(
      '\t<TransmissionFlux>',
      '\t<InfosFoyerRSA/>\n\t<TransmissionFlux>',
    )
    const records = recordsOf(await readAll(await writeVariant(content)))
    expect(records).toHaveLength(4)
    const line = content.slice(0, content.indexOf('<InfosFoyerRSA/>')).split('\n').length
    expect(records[3]).toEqual({ ok: false, recordIndex: 3, line, key: undefined, issues: [{ field: 'InfosFoyerRSA', rule: 'required' }] })
  })
})

describe('readCnafFile: files rejected whole', () => {
  it('refuses a DOCTYPE with entity declarations (billion laughs, XXE) without expanding anything', async () => {
    const rejection = await rejectionOf(BILLION_LAUGHS)
    expect(rejection.code).toBe('doctype_refused')
    expect(rejection.message).toBe(`file "${OPTIONS.fileLabel}": line 4: DOCTYPE or entity declaration refused (entities are never expanded)`)
  })

  it('refuses an entity declaration or DOCTYPE hidden inside a record', async () => {
    const file = await writeVariant(richWith('<NOM>BÉRANGER</NOM>', '<NOM>BÉRANGER</NOM><!DOCTYPE x [<!ENTITY a "b">]>'))
    const rejection = await rejectionOf(file)
    expect(rejection.code).toBe('doctype_refused')
    expect(rejection.where.recordIndex).toBe(1)
  })

  it.each([
    ['in the XML declaration', 20],
    ['inside the header', 300],
    ['inside the first record', 2000],
    ['inside the last record', 14000],
    ['before TransmissionFlux', 'before-trailer'],
    ['inside TransmissionFlux', 'in-trailer'],
    ['before </Racine>', 'before-root-end'],
  ] as const)('rejects a file truncated %s', async (_, where) => {
    let cut: number
    if (where === 'before-trailer') cut = rich.indexOf('\t<TransmissionFlux>')
    else if (where === 'in-trailer') cut = rich.indexOf('</NBTOTDOSRSATRANSM>')
    else if (where === 'before-root-end') cut = rich.indexOf('</Racine>')
    else cut = where
    const rejection = await rejectionOf(await writeVariant(rich.slice(0, cut)))
    expect(rejection.code).toBe('truncated')
    expect(rejection.message).toContain(OPTIONS.fileLabel)
  })

  it('names the record a truncated file ends in', async () => {
    const cut = rich.indexOf('<NOM>BÉRANGER</NOM>')
    const rejection = await rejectionOf(await writeVariant(rich.slice(0, cut)))
    expect(rejection.where).toEqual({ recordIndex: 1, line: 324 })
    expect(rejection.message).toBe(`file "${OPTIONS.fileLabel}": record 1 (line 324): file ends inside this InfosFoyerRSA (truncated)`)
  })

  it('rejects a trailer count that is not the number of InfosFoyerRSA, after handing out the records', async () => {
    const file = await writeVariant(richWith('<NBTOTDOSRSATRANSM>00000003</NBTOTDOSRSATRANSM>', '<NBTOTDOSRSATRANSM>00000004</NBTOTDOSRSATRANSM>'))
    const seen: CnafEvent['type'][] = []
    let rejection: unknown
    try {
      for await (const event of readCnafFile(file, OPTIONS)) seen.push(event.type)
    } catch (error) {
      rejection = error
    }
    expect(seen).toEqual(['header', 'records'])
    expect(rejection).toBeInstanceOf(FileRejection)
    expect((rejection as FileRejection).code).toBe('count_mismatch')
    expect((rejection as FileRejection).message).toMatch(/NBTOTDOSRSATRANSM is 4 but the file holds 3 InfosFoyerRSA/)
  })

  it.each([
    ['a mismatched end tag inside Ressources', '<MTNATRESSMEN>0000398.00</MTNATRESSMEN>', '<MTNATRESSMEN>0000398.00</MTNATRESSMENX>'],
    ['an undeclared entity inside DetailCalculDroitRSA', '<SOUSNATPF>RCDN1</SOUSNATPF>', '<SOUSNATPF>RC&nbsp;</SOUSNATPF>'],
    ['an unclosed element inside Rattachement', '<NIR>185032A004123</NIR>', '<NIR>185032A004123'],
    ['"--" inside a comment', '<!-- Hand-made', '<!-- Hand--made'],
    ['a bare "&" in a name', '<NOM>BÉRANGER</NOM>', '<NOM>BÉRANGER & CO</NOM>'],
    ['a "<" in an attribute value', 'xsi:noNamespaceSchemaLocation="vrsb0801.xsd"', 'xsi:noNamespaceSchemaLocation="a<b"'],
    ['a control character', '<NOM>BÉRANGER</NOM>', '<NOM>BÉR\u0001ANGER</NOM>'],
  ])('rejects a file that is not well-formed: %s', async (_, from, to) => {
    const rejection = await rejectionOf(await writeVariant(richWith(from, to)))
    expect(rejection.code).toBe('not_well_formed')
    expect(rejection.message).toContain(OPTIONS.fileLabel)
    expect(rejection.message).not.toContain('BÉRANGER')
  })

  it('names the record and line of a fault inside a block that maps to nothing, never its content', async () => {
    const content = richWith('<MTNATRESSMEN>0000398.00</MTNATRESSMEN>', '<MTNATRESSMEN>0000398.00</MTNATRESSMENX>')
    const line = content.slice(0, content.indexOf('</MTNATRESSMENX>')).split('\n').length
    const rejection = await rejectionOf(await writeVariant(content))
    expect(rejection.where).toEqual({ recordIndex: 0, line })
    expect(rejection.message).toBe(`file "${OPTIONS.fileLabel}": record 0 (line ${line}): not well-formed XML: end tag does not match start tag <MTNATRESSMEN>`)
  })

  it.each([
    ['plain text', Buffer.from('NIR;NOM;PRENOM\n1234567890123;DUPONT;JEAN\n')],
    ['binary data', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03])],
    ['an unclosed XML declaration', Buffer.from('<?xml version="1.0" encoding="windows-1252"\n<Racine>')],
  ])('rejects a file that is not XML at all: %s', async (_, bytes) => {
    expect((await rejectionOf(await writeVariant(bytes))).code).toBe('not_well_formed')
  })

  it('rejects a root element other than Racine', async () => {
    const file = await writeVariant(rich.replace('<Racine ', '<Root ').replace('</Racine>', '</Root>'))
    const rejection = await rejectionOf(file)
    expect(rejection.code).toBe('wrong_schema')
    expect(rejection.message).toMatch(/root element is an unknown element, not <Racine>/)
  })

  it('rejects a missing or invalid IdentificationFlux', async () => {
    const start = rich.indexOf('\t<IdentificationFlux>')
    const end = rich.indexOf('</IdentificationFlux>') + '</IdentificationFlux>'.length
    const missing = await rejectionOf(await writeVariant(rich.slice(0, start) + rich.slice(end)))
    expect(missing.code).toBe('bad_header')
    const badType = await rejectionOf(await writeVariant(richWith('<TYPEFLUX>M</TYPEFLUX>', '<TYPEFLUX>X</TYPEFLUX>')))
    expect(badType.code).toBe('bad_header')
    expect(badType.message).toBe(`file "${OPTIONS.fileLabel}": line 5: IdentificationFlux.TYPEFLUX: code_list:TYPEFLUX`)
    const badDate = await rejectionOf(await writeVariant(richWith('<DTREF>2024-02-29</DTREF>', '<DTREF>2023-02-29</DTREF>')))
    expect(badDate.message).toMatch(/IdentificationFlux\.DTREF: date$/)
  })

  it.each(['UTF-16', 'KOI8-R', 'ebcdic-cp-fr'])('rejects an unsupported declared encoding (%s)', async (encoding) => {
    const rejection = await rejectionOf(await writeVariant(richWith('encoding="windows-1252"', `encoding="${encoding}"`)))
    expect(rejection.code).toBe('unsupported_encoding')
  })

  it('rejects UTF-16 text', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<?xml version="1.0" encoding="UTF-16"?><Racine/>', 'utf16le')])
    expect((await rejectionOf(await writeVariant(utf16))).code).toBe('unsupported_encoding')
  })

  it.each([
    ['empty', ''],
    ['whitespace only', '  \n\t\n'],
  ])('rejects an empty file (%s)', async (_, content) => {
    expect((await rejectionOf(await writeVariant(content))).code).toBe('empty_file')
  })

  it.each([
    ['text', 'garbage'],
    ['a second root element', '<Racine></Racine>'],
    ['a stray end tag', '</Racine>'],
  ])('rejects content after the root element: %s', async (_, extra) => {
    expect((await rejectionOf(await writeVariant(`${rich}${extra}\n`))).code).toBe('not_well_formed')
  })

  it('accepts comments and processing instructions after the root element', async () => {
    const events = await readAll(await writeVariant(`${rich}<!-- end -->\n<?done?>\n`))
    expect(events.at(-1)?.type).toBe('trailer')
  })

  it('rejects an element Racine may not hold, and records after the trailer', async () => {
    const unexpected = await rejectionOf(await writeVariant(richWith('\t<TransmissionFlux>', '\t<Autre/>\n\t<TransmissionFlux>')))
    expect(unexpected.code).toBe('wrong_schema')
    const after = await rejectionOf(await writeVariant(richWith('</TransmissionFlux>', '</TransmissionFlux>\n<InfosFoyerRSA/>')))
    expect(after.code).toBe('wrong_schema')
  })
})

describe('readCnafFile: records rejected one by one', () => {
  async function onlyRejected(from: string, to: string, options: Partial<ReadCnafFileOptions> = {}) {
    const records = recordsOf(await readAll(await writeVariant(richWith(from, to)), options))
    expect(records).toHaveLength(3)
    const rejected = records.filter((r): r is Extract<ParsedRecord<CnafFoyer>, { ok: false }> => !r.ok)
    expect(rejected).toHaveLength(1)
    return rejected[0] as Extract<ParsedRecord<CnafFoyer>, { ok: false }>
  }

  it('rejects a NIR with a wrong key, keeping the dossier key and never the value', async () => {
    const rejected = await onlyRejected('<NIR>185032A00412324</NIR>', '<NIR>185032A00412399</NIR>')
    expect(rejected).toEqual({
      ok: false,
      recordIndex: 0,
      line: 14,
      key: '01024041042',
      issues: [{ field: 'Personne[2].Identification.NIR', rule: 'nir_key' }],
    })
  })

  it.each([
    ['an unknown ETATDOSRSA', '<ETATDOSRSA>4</ETATDOSRSA>', '<ETATDOSRSA>9</ETATDOSRSA>', 'PrestationRSA.SituationDossierRSA.EtatDossierRSA.ETATDOSRSA', 'code_list:ETATDOSRSA'],
    ['an unknown ROLEPERS', '<ROLEPERS>CJT</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n\t\t\t<MontantCalculDroitRSAPersonne>', '<ROLEPERS>XXX</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n\t\t\t<MontantCalculDroitRSAPersonne>', 'Personne[2].Prestations[2].ROLEPERS', 'code_list:ROLEPERS', '01024041042'],
    ['a missing SEXE', '<SEXE>1</SEXE>\n\t\t\t</Identification>\n\t\t\t<DossierCAF>\n\t\t\t\t<TOPRESPDOS>1</TOPRESPDOS>\n\t\t\t\t<DDRATDOS>2021-11-30', '</Identification>\n\t\t\t<DossierCAF>\n\t\t\t\t<TOPRESPDOS>1</TOPRESPDOS>\n\t\t\t\t<DDRATDOS>2021-11-30', 'Personne[1].Identification.SEXE', 'required'],
    ['a date that is not in the calendar', '<DTNAI>1978-06-30</DTNAI>', '<DTNAI>1978-06-31</DTNAI>', 'Personne[1].Identification.DTNAI', 'date'],
    ['a birth date with a 00 day', '<DTNAI>1978-06-30</DTNAI>', '<DTNAI>1978-06-00</DTNAI>', 'Personne[1].Identification.DTNAI', 'date'],
    ['a name longer than the XSD allows', '<NOM>BÉRANGER</NOM>', `<NOM>${'B'.repeat(29)}</NOM>`, 'Personne[1].Identification.NOM', 'max_length:28'],
    ['two RSA Prestations', '<NATPREST>PFA</NATPREST>\n\t\t\t\t<ROLEPERS>DEM</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n\t\t\t<Prestations>\n\t\t\t\t<NATPREST>RSA</NATPREST>\n\t\t\t\t<ROLEPERS>DEM</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n\t\t\t<MontantCalculDroitRSAPersonne>\n\t\t\t\t<TOPPERSDRODEVORSA>1</TOPPERSDRODEVORSA>\n\t\t\t\t<TOPPERSENTDRODEVORSA>1', '<NATPREST>RSA</NATPREST>\n\t\t\t\t<ROLEPERS>DEM</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n\t\t\t<Prestations>\n\t\t\t\t<NATPREST>RSA</NATPREST>\n\t\t\t\t<ROLEPERS>DEM</ROLEPERS>\n\t\t\t\t<TOPCHAPERS>0</TOPCHAPERS>\n\t\t\t</Prestations>\n\t\t\t<MontantCalculDroitRSAPersonne>\n\t\t\t\t<TOPPERSDRODEVORSA>1</TOPPERSDRODEVORSA>\n\t\t\t\t<TOPPERSENTDRODEVORSA>1', 'Personne[1].Prestations', 'prestations_rsa_pfa'],
    ['a boolean that is not 0/1', '<TOPSANSDOMFIXE>1</TOPSANSDOMFIXE>', '<TOPSANSDOMFIXE>O</TOPSANSDOMFIXE>', 'PrestationRSA.DetailDroitRSA.TroncCommunDroitRSA.TOPSANSDOMFIXE', 'boolean'],
    ['an amount with three decimals', '<MTPERSRESSMENRSA>0000000.00</MTPERSRESSMENRSA>', '<MTPERSRESSMENRSA>0000000.001</MTPERSRESSMENRSA>', 'Personne[1].MontantCalculDroitRSAPersonne.MTPERSRESSMENRSA', 'decimal:9,2'],
    ['a repeated single element', '<SITFAM>CEL</SITFAM>', '<SITFAM>CEL</SITFAM><SITFAM>MAR</SITFAM>', 'DonneesAdministratives.SituationFamille.SITFAM', 'repeated'],
  ])('rejects %s with the field and rule', async (_, from, to, field, rule, key = '01024041043') => {
    const rejected = await onlyRejected(from, to)
    expect(rejected.issues).toEqual([{ field, rule }])
    expect(rejected.key).toBe(key)
  })

  it('rejects a foyer of an organisme the flow does not carry', async () => {
    const records = recordsOf(await readAll(RICH, { organismes: ['MSA'] }))
    expect(records.every((r) => !r.ok && r.issues.some((i) => i.field === 'IdentificationRSA.Organisme.FONORG' && i.rule === 'organisme_not_in_flow'))).toBe(true)
  })

  it('reports every issue of a record, and never a value', async () => {
    const content = richWith('<NIR>1780675114032</NIR>', '<NIR>1780675114</NIR>').replace('<SITFAM>CEL</SITFAM>', '<SITFAM>ZZZ</SITFAM>')
    const records = recordsOf(await readAll(await writeVariant(content)))
    const rejected = records.find((r) => !r.ok)
    expect(rejected?.ok).toBe(false)
    if (rejected && !rejected.ok) {
      expect(rejected.issues).toEqual([
        { field: 'Personne[1].Identification.NIR', rule: 'nir_format' },
        { field: 'DonneesAdministratives.SituationFamille.SITFAM', rule: 'code_list:SITFAM' },
      ])
      expect(JSON.stringify(rejected)).not.toMatch(/1780675114|ZZZ|BÉRANGER|ANDRÉ/)
    }
  })
})
