import { describe, expect, it } from 'vitest'
import {
  createDecoder,
  createStreamDecoder,
  decodeLatin9WithTable,
  decodeWindows1252WithTable,
  supportedEncoding,
} from '../../src/ingestion/decode/text-encoding.ts'
import { readXmlPrologStart } from '../../src/ingestion/decode/xml-declaration.ts'
import { normalizeAmount, isCalendarDate } from '../../src/ingestion/cnaf/xsd-values.ts'

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i)

describe('text decoding', () => {
  it('decodes the windows-1252 letters of 0x80-0x9F (which Node 20’s own decoder gets wrong)', () => {
    const decode = createDecoder('windows-1252')
    expect(decode(Uint8Array.from([0xe9, 0xe8, 0xe7, 0x9c, 0x8c, 0x80, 0x92, 0x85]))).toBe('éèçœŒ€’…')
    expect(createDecoder('iso-8859-1')(Uint8Array.from([0x80, 0xe9]))).toBe('€é')
  })

  it('decodes ISO-8859-15 where it differs from Latin-1', () => {
    expect(createDecoder('iso-8859-15')(Uint8Array.from([0xa4, 0xa6, 0xa8, 0xb4, 0xb8, 0xbc, 0xbd, 0xbe, 0xe9]))).toBe('€ŠšŽžŒœŸé')
  })

  it('decodes the 256 bytes the same way natively and by table', () => {
    const table = decodeWindows1252WithTable(ALL_BYTES)
    expect(table).toHaveLength(256)
    expect(createDecoder('windows-1252')(ALL_BYTES)).toBe(table)
    expect(createDecoder('iso-8859-15')(ALL_BYTES)).toBe(decodeLatin9WithTable(ALL_BYTES))
    // The five bytes windows-1252 leaves undefined keep their code point (WHATWG).
    expect([0x81, 0x8d, 0x8f, 0x90, 0x9d].map((b) => table.charCodeAt(b))).toEqual([0x81, 0x8d, 0x8f, 0x90, 0x9d])
  })

  it('throws on invalid UTF-8 instead of inventing U+FFFD', () => {
    const decode = createDecoder('utf-8')
    expect(decode(Buffer.from('Œuvre é', 'utf8'))).toBe('Œuvre é')
    expect(() => decode(Uint8Array.from([0x41, 0xe9, 0x42]))).toThrow()
  })

  it('decodes a stream cut anywhere, including inside a UTF-8 character', () => {
    const utf8 = Buffer.from('Œuvre d’été €', 'utf8')
    for (let cut = 0; cut <= utf8.length; cut++) {
      const decode = createStreamDecoder('utf-8')
      expect(decode(utf8.subarray(0, cut)) + decode(utf8.subarray(cut)) + decode(undefined)).toBe('Œuvre d’été €')
    }
    const decode = createStreamDecoder('utf-8')
    decode(Uint8Array.from([0xe2, 0x82]))
    expect(() => decode(undefined)).toThrow()
    const cp1252 = createStreamDecoder('windows-1252')
    expect(cp1252(Uint8Array.from([0x92, 0x80])) + cp1252(Uint8Array.from([0x9c])) + cp1252(undefined)).toBe('’€œ')
  })

  it('knows the usual labels, case-insensitively, and nothing else', () => {
    expect(['Windows-1252', 'CP1252', 'ISO-8859-1', 'latin1', 'ISO-8859-15', 'Latin-9', 'UTF-8', 'utf8'].map(supportedEncoding)).toEqual([
      'windows-1252',
      'windows-1252',
      'iso-8859-1',
      'iso-8859-1',
      'iso-8859-15',
      'iso-8859-15',
      'utf-8',
      'utf-8',
    ])
    expect(['UTF-16', 'KOI8-R', 'ascii', ''].map(supportedEncoding)).toEqual([undefined, undefined, undefined, undefined])
  })
})

describe('readXmlPrologStart', () => {
  const bytes = (text: string) => Buffer.from(text, 'latin1')
  it('reads the declared encoding and where the declaration ends', () => {
    expect(readXmlPrologStart(bytes('<?xml version="1.0" encoding="windows-1252"?>\n<Racine/>'), false)).toEqual({
      ok: true,
      encodingLabel: 'windows-1252',
      utf8Bom: false,
      end: 45,
    })
    expect(readXmlPrologStart(bytes("<?xml version='1.0' encoding='ISO-8859-15' standalone='yes' ?><R/>"), false)).toMatchObject({ encodingLabel: 'ISO-8859-15' })
    expect(readXmlPrologStart(bytes('<?xml version="1.0"?><R/>'), false)).toMatchObject({ ok: true, encodingLabel: undefined, end: 21 })
    expect(readXmlPrologStart(bytes('<Racine/>'), false)).toEqual({ ok: true, encodingLabel: undefined, utf8Bom: false, end: 0 })
    expect(readXmlPrologStart(Buffer.from([0xef, 0xbb, 0xbf, ...bytes('<R/>')]), false)).toEqual({ ok: true, encodingLabel: undefined, utf8Bom: true, end: 3 })
  })

  it('waits for more bytes, then tells a truncated declaration from a malformed one', () => {
    expect(readXmlPrologStart(bytes('<?xml version="1.0" enco'), false)).toEqual({ ok: false, rule: 'need_more_bytes' })
    expect(readXmlPrologStart(bytes('<?xm'), false)).toEqual({ ok: false, rule: 'need_more_bytes' })
    expect(readXmlPrologStart(bytes('<?xml version="1.0" enco'), true)).toEqual({ ok: false, rule: 'unterminated_declaration' })
    expect(readXmlPrologStart(bytes('<?xml encoding="UTF-8"?><R/>'), true)).toEqual({ ok: false, rule: 'malformed_declaration' })
    expect(readXmlPrologStart(bytes('<?xml version="1.0"\n<R/>'), false)).toEqual({ ok: false, rule: 'malformed_declaration' })
  })

  it('recognises UTF-16 and UCS-4', () => {
    expect(readXmlPrologStart(Buffer.from([0xff, 0xfe, 0x3c, 0x00]), false)).toEqual({ ok: false, rule: 'utf16_or_ucs4' })
    expect(readXmlPrologStart(Buffer.from([0x3c, 0x00, 0x3f, 0x00]), false)).toEqual({ ok: false, rule: 'utf16_or_ucs4' })
    expect(readXmlPrologStart(Buffer.from([0x00, 0x00, 0x00, 0x3c]), false)).toEqual({ ok: false, rule: 'utf16_or_ucs4' })
  })
})

describe('XSD values', () => {
  it.each([
    ['0001675.00', '1675.00'],
    ['0000000.00', '0.00'],
    ['-0000012.50', '-12.50'],
    ['-0000000.00', '0.00'],
    ['+12', '12'],
    ['12.', '12'],
    ['.5', '0.5'],
    ['9999999.99', '9999999.99'],
    ['12345678.9', '12345678.9'],
    ['000000123456789', '123456789'],
  ])('normalises the amount %s to %s', (raw, normalised) => {
    expect(normalizeAmount(raw)).toBe(normalised)
  })

  it.each(['', '.', '1.234', '1234567890', '123456789.99', 'abc', '1,50', '1e3', ' 1'])('rejects the amount "%s"', (raw) => {
    expect(normalizeAmount(raw)).toBeUndefined()
  })

  it.each([
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['2000-02-29', true],
    ['1900-02-29', false],
    ['2024-04-31', false],
    ['2024-12-31', true],
    ['2024-00-10', false],
    ['2024-01-00', false],
    ['2024-1-01', false],
    ['2024-01-01Z', false],
    ['2024-01-01+01:00', false],
    ['01/01/2024', false],
  ] as const)('knows whether %s is a calendar date', (value, valid) => {
    expect(isCalendarDate(value)).toBe(valid)
  })
})
