import { readFileSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { writeCnafFile, type CnafFileOptions } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { REPEATABLE_ELEMENTS, SKIPPED_ELEMENTS } from '../../src/ingestion/cnaf/foyer-schema.ts'
import { parseRecordXml, type RecordParser } from '../../src/ingestion/cnaf/parse-record-xml.ts'
import { createDecoder, type SupportedEncoding } from '../../src/ingestion/decode/text-encoding.ts'

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/cnaf/${name}`, import.meta.url)))

function records(bytes: Buffer, encoding: SupportedEncoding): string[] {
  const text = createDecoder(encoding)(bytes)
  const out: string[] = []
  const pattern = /<InfosFoyerRSA[\s>][\s\S]*?<\/InfosFoyerRSA\s*>(?![^<]*-->)/g
  for (const m of text.matchAll(pattern)) out.push(m[0])
  return out
}

async function generated(options: CnafFileOptions): Promise<Buffer> {
  const sink = new PassThrough()
  const parts: Buffer[] = []
  sink.on('data', (part: Buffer) => parts.push(part))
  await writeCnafFile(sink, options)
  return Buffer.concat(parts)
}

const parse = (text: string, parser: RecordParser) => parseRecordXml(text, { repeatable: REPEATABLE_ELEMENTS, skipped: SKIPPED_ELEMENTS, parser })

describe('parseRecordXml: the scan builds the same tree as fast-xml-parser', () => {
  it.each([
    ['rsabem-rich.cp1252.xml', 'windows-1252'],
    ['rsabei-minimal.utf8.xml', 'utf-8'],
  ] as const)('on every record of %s', (name, encoding) => {
    const texts = records(fixture(name), encoding)
    expect(texts.length).toBeGreaterThan(0)
    for (const text of texts) expect(parse(text, 'scan')).toEqual(parse(text, 'fast-xml-parser'))
  })

  it.each([
    ['a CAF stock', { flow: 'caf', typeflux: 'M', foyers: 400 }],
    ['an MSA stock, minimal', { flow: 'msa', typeflux: 'M', foyers: 200, minimal: true }],
    ['a CAF daily file', { flow: 'caf', typeflux: 'I', indices: [...Array(200).keys()].map((i) => i * 7) }],
    ['a CAF stock with bad NIR keys and unknown codes', { flow: 'caf', typeflux: 'M', foyers: 300, defects: { badNirKey: { every: 5 }, unknownCode: { every: 7 } } }],
  ] as const)('on every record of %s from the generator', async (_, options) => {
    const texts = records(await generated({ seed: 11, dtcreaflux: '2026-11-02', ...options } as CnafFileOptions), 'windows-1252')
    expect(texts.length).toBeGreaterThanOrEqual(200)
    for (const text of texts) expect(parse(text, 'scan')).toEqual(parse(text, 'fast-xml-parser'))
  })

  it.each([
    ['CDATA, literal and mixed with text', '<R><A>x <![CDATA[&amp; <b>]]> y</A></R>', { A: 'x &amp; <b> y' }],
    ['references decoded once', '<R><A>&amp;lt; &#38; &#x26;</A></R>', { A: '&lt; & &' }],
    ['line ends normalised, a CR reference kept', '<R><A>a\r\nb\rc&#13;d</A></R>', { A: 'a\nb\nc\rd' }],
    ['empty and whitespace-only elements', '<R><A/><B></B><C> \n\t</C></R>', { A: undefined, B: undefined, C: undefined }],
    ['repeatable elements always arrays, others only when repeated', '<R><Personne><X>1</X></Personne><Y>1</Y><Y>2</Y></R>', { Personne: [{ X: '1' }], Y: ['1', '2'] }],
    ['skipped blocks left out', '<R><Ressources><Z>1</Z></Ressources><A>1</A></R>', { A: '1' }],
    ['attributes, comments and PIs ignored', '<R a="1"><!-- c --><A b="2">1<?pi?></A></R>', { A: '1' }],
  ])('handles %s', (_, text, tree) => {
    for (const parser of ['scan', 'fast-xml-parser'] as const) expect(parse(text, parser)).toEqual({ ok: true, root: 'R', tree })
  })

  it('reports the same fault either way', () => {
    for (const parser of ['scan', 'fast-xml-parser'] as const) {
      expect(parse('<Personne><NIR>1</NOMNAI></Personne>', parser)).toEqual({
        ok: false,
        fault: { rule: 'not_well_formed', reason: 'end tag does not match start tag <NIR>', offset: 16 },
      })
      expect(parse('<R><A>1</B></R>', parser)).toEqual({
        ok: false,
        fault: { rule: 'not_well_formed', reason: 'end tag does not match start tag an unknown element', offset: 7 },
      })
    }
  })
})
