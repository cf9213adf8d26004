import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { CnafFileCutter, type CutPiece } from '../../src/ingestion/cnaf/cut-cnaf-file.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/cnaf/${name}`, import.meta.url)))

type Summary = { kind: CutPiece['kind']; line?: number; text?: string; records?: number }

/** Feeds `bytes` in chunks of `size` and summarises the pieces (text as latin1, so it round-trips bytes). */
function cut(bytes: Uint8Array, size: number, options: { maxElementBytes?: number } = {}): Summary[] {
  const cutter = new CnafFileCutter({ fileLabel: 'test.xml', ...options })
  const out: Summary[] = []
  const drain = () => {
    for (let piece = cutter.next(); piece !== undefined; piece = cutter.next()) {
      if (piece.kind === 'end') out.push({ kind: 'end', records: piece.records })
      else out.push({ kind: piece.kind, line: piece.line, text: Buffer.from(piece.bytes).toString('latin1') })
    }
  }
  for (let i = 0; i < bytes.length; i += size) {
    cutter.push(bytes.subarray(i, i + size))
    drain()
  }
  cutter.end()
  drain()
  return out
}

function rejection(bytes: Uint8Array, size = 64): FileRejection {
  try {
    cut(bytes, size)
  } catch (error) {
    if (error instanceof FileRejection) return error
    throw error
  }
  throw new Error('expected a rejection')
}

describe('CnafFileCutter', () => {
  it('cuts a file into prolog, header, records, trailer and end', () => {
    const pieces = cut(fixture('rsabem-rich.cp1252.xml'), 1 << 20)
    expect(pieces.map((p) => p.kind)).toEqual(['prolog', 'header', 'record', 'record', 'record', 'trailer', 'end'])
    expect(pieces.map((p) => p.line)).toEqual([1, 5, 14, 324, 441, 555, undefined])
    expect(pieces[2]?.text?.startsWith('<InfosFoyerRSA>')).toBe(true)
    expect(pieces[2]?.text?.endsWith('</InfosFoyerRSA>')).toBe(true)
    expect(pieces.at(-1)).toEqual({ kind: 'end', records: 3 })
  })

  it.each([1, 2, 3, 7, 13, 64, 4096])('gives the same pieces whatever the chunk size (%i bytes)', (size) => {
    for (const name of ['rsabem-rich.cp1252.xml', 'comments-cdata.iso-8859-15.xml', 'rsabei-minimal.utf8.xml']) {
      const bytes = fixture(name)
      expect(cut(bytes, size)).toEqual(cut(bytes, bytes.length))
    }
  })

  it('reports comments and processing instructions between elements, skips those inside records', () => {
    const pieces = cut(fixture('comments-cdata.iso-8859-15.xml'), 5)
    expect(pieces.map((p) => p.kind)).toEqual(['prolog', 'header', 'misc', 'record', 'trailer', 'misc', 'end'])
    expect(pieces[2]?.text).toContain('</InfosFoyerRSA>')
    const record = pieces[3]?.text ?? ''
    expect(record.match(/<\/InfosFoyerRSA\s*>/g)).toHaveLength(4)
    expect(record.endsWith('</InfosFoyerRSA  >')).toBe(true)
  })

  it('rejects an element larger than the limit, keeping memory bounded', () => {
    const bytes = fixture('rsabem-rich.cp1252.xml')
    expect(() => cut(bytes, 256, { maxElementBytes: 2048 })).toThrow(/element larger than 2048 bytes/)
  })

  it('rejects a truncated file wherever it is cut', () => {
    const bytes = fixture('rsabem-rich.cp1252.xml')
    const end = bytes.lastIndexOf('</Racine>')
    for (let at = 200; at < end; at += 97) {
      expect(rejection(bytes.subarray(0, at)).code).toBe('truncated')
    }
  })

  it('rejects a DOCTYPE in the prolog', () => {
    const r = rejection(Buffer.from('<?xml version="1.0"?>\n<!DOCTYPE Racine [<!ENTITY a "b">]>\n<Racine/>'))
    expect(r.code).toBe('doctype_refused')
    expect(r.where.line).toBe(2)
  })
})
