import { FileRejection, type FileRejectionCode } from '../file-rejection.ts'
import { DEFAULT_READER_LIMITS } from '../reader-limits.ts'
import { elementLabel } from './schema-element-names.ts'

/**
 * Cuts the bytes of a VRSB0801 file into its parts, as they stream in, without decoding them: the prolog (XML
 * declaration, comments, the `<Racine>` start tag), the header (`IdentificationFlux`), each record
 * (`InfosFoyerRSA`), the trailer (`TransmissionFlux`), and any comment or processing instruction between them.
 * The markup is ASCII in every encoding a flow may use (windows-1252, ISO-8859-1/15, UTF-8), so byte searches are
 * safe; the parts are then decoded and checked for well-formedness by the caller.
 *
 * The end of an element is found by searching for its end tag, skipping comments, CDATA sections and processing
 * instructions (none of which may hide a `</InfosFoyerRSA>`). The structure of the root is checked here: the
 * root is `Racine`; its children are IdentificationFlux, InfosFoyerRSA*, TransmissionFlux in that order; after
 * `</Racine>` only comments and processing instructions may follow. A file that ends early is `truncated`.
 *
 * Memory is bounded: the cutter holds at most one incomplete element plus one input chunk (in a buffer at most
 * twice that), and an element, a tag or a gap larger than `maxElementBytes` rejects the file (record_too_large).
 * Time is linear: searches resume where they stopped when more bytes come (end tags, start tags), and the end-tag
 * candidate is searched again only once a comment or CDATA section has been skipped past it.
 */
export type CutPiece =
  /** From the first byte to the end of the `<Racine ...>` start tag. */
  | { kind: 'prolog'; bytes: Uint8Array; line: number }
  /** Comments or processing instructions between or after elements (whitespace-only gaps are not reported). */
  | { kind: 'misc'; bytes: Uint8Array; line: number }
  | { kind: 'header'; bytes: Uint8Array; line: number }
  | { kind: 'record'; bytes: Uint8Array; line: number; recordIndex: number }
  | { kind: 'trailer'; bytes: Uint8Array; line: number }
  /** `</Racine>` was read and nothing but comments and whitespace followed it. */
  | { kind: 'end'; records: number }

const LT = 0x3c
const GT = 0x3e
const SLASH = 0x2f
const BANG = 0x21
const QUESTION = 0x3f
const NEWLINE = 0x0a
const DQUOTE = 0x22
const SQUOTE = 0x27

function isWhitespaceByte(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d
}

function isNameByte(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x3a || b === 0x2d || b === 0x2e || b >= 0x80
  )
}

const NEED_MORE = -2
const UNKNOWN = -3

type State = 'prolog' | 'children' | 'epilog' | 'done'

/** The longest special opener searched for (`<![CDATA[`). */
const MAX_OPENER = 9

export interface CutterOptions {
  fileLabel: string
  /** Largest element (record, header, trailer) or gap accepted, in bytes (rule record_too_large). */
  maxElementBytes?: number
}

/** Bytes kept ahead in the buffer at least when it grows (one read is 1 MiB). */
const MIN_STORE_BYTES = 2 * 1024 * 1024

export class CnafFileCutter {
  private readonly fileLabel: string
  private readonly maxElementBytes: number
  private buf: Buffer = Buffer.alloc(0)
  /**
   * The memory `buf` is a view of, and where `buf` starts in it. Bytes are appended after `buf` when they fit, and
   * the pending bytes are copied to a store twice as large when they do not: each byte is copied O(1) times on
   * average, however long an element (a fresh Buffer.concat per read would copy a long element once per read).
   * Memory behind `buf` is never written again, so pieces handed out stay valid.
   */
  private store: Buffer = Buffer.alloc(0)
  private storeOffset = 0
  /** Resumable scan of a start tag split across reads: where to continue and the quote open there. */
  private tagResume = -1
  private tagQuote = 0
  /** Everything before `pos` has been handed out. */
  private pos = 0
  /** Line of the byte at `pos`. */
  private line = 1
  private ended = false
  private state: State = 'prolog'
  private headerSeen = false
  private trailerSeen = false
  private records = 0
  /** Resumable search inside the current element: where to continue looking for its end tag. */
  private scanFrom = -1
  /** Cached positions of the next comment, CDATA section and PI openers in `buf` (-1: none left). */
  private readonly specials: [number, number, number] = [UNKNOWN, UNKNOWN, UNKNOWN]

  constructor(options: CutterOptions) {
    this.fileLabel = options.fileLabel
    this.maxElementBytes = options.maxElementBytes ?? DEFAULT_READER_LIMITS.maxRecordBytes
  }

  /** Adds bytes. Pieces returned by `next()` before stay valid (they are views of memory that is not reused). */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('push after end')
    const restLength = this.buf.length - this.pos
    const chunkBuffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (restLength === 0) {
      this.buf = chunkBuffer
      this.store = chunkBuffer
      this.storeOffset = 0
    } else {
      const start = this.storeOffset + this.pos
      const end = this.storeOffset + this.buf.length
      if (end + chunkBuffer.length <= this.store.length) {
        chunkBuffer.copy(this.store, end)
        this.storeOffset = start
      } else {
        const grown = Buffer.allocUnsafeSlow(Math.max(MIN_STORE_BYTES, 2 * (restLength + chunkBuffer.length)))
        this.store.copy(grown, 0, start, end)
        chunkBuffer.copy(grown, restLength)
        this.store = grown
        this.storeOffset = 0
      }
      this.buf = this.store.subarray(this.storeOffset, this.storeOffset + restLength + chunkBuffer.length)
    }
    if (this.scanFrom >= 0) this.scanFrom -= this.pos
    if (this.tagResume >= 0) this.tagResume -= this.pos
    this.pos = 0
    this.specials.fill(UNKNOWN)
  }

  /** No more bytes will come. */
  end(): void {
    this.ended = true
  }

  /** Bytes read so far and not yet handed out (bounded by one element plus one chunk). */
  get pendingBytes(): number {
    return this.buf.length - this.pos
  }

  private reject(code: FileRejectionCode, message: string, line = this.line, recordIndex?: number): never {
    const where = recordIndex === undefined ? `line ${line}` : `record ${recordIndex} (line ${line})`
    throw new FileRejection(code, `file "${this.fileLabel}": ${where}: ${message}`, recordIndex === undefined ? { line } : { recordIndex, line })
  }

  private advanceTo(p: number): void {
    const buf = this.buf
    let lines = 0
    for (let i = this.pos; i < p; i++) if (buf[i] === NEWLINE) lines++
    this.line += lines
    this.pos = p
  }

  private startsWith(p: number, ascii: string): boolean | undefined {
    if (p + ascii.length > this.buf.length) {
      for (let i = 0; p + i < this.buf.length; i++) if (this.buf[p + i] !== ascii.charCodeAt(i)) return false
      return undefined
    }
    for (let i = 0; i < ascii.length; i++) if (this.buf[p + i] !== ascii.charCodeAt(i)) return false
    return true
  }

  /** End (after the terminator) of a comment / CDATA / PI starting at `p`, or NEED_MORE. */
  private specialEnd(p: number, terminator: string): number {
    const close = this.buf.indexOf(terminator, p + 2, 'latin1')
    return close === -1 ? NEED_MORE : close + terminator.length
  }

  /**
   * Skips whitespace, comments and PIs from `p`. Returns the offset of the first other byte, or NEED_MORE.
   * Throws on a markup declaration (DOCTYPE...).
   */
  private skipMisc(p: number): number {
    const buf = this.buf
    for (;;) {
      while (p < buf.length && isWhitespaceByte(buf[p] as number)) p++
      if (p >= buf.length) return NEED_MORE
      if (buf[p] !== LT) return p
      if (p + 1 >= buf.length) return NEED_MORE
      const next = buf[p + 1]
      if (next === QUESTION) {
        const e = this.specialEnd(p, '?>')
        if (e === NEED_MORE) return NEED_MORE
        p = e
      } else if (next === BANG) {
        const comment = this.startsWith(p, '<!--')
        if (comment === undefined) return NEED_MORE
        if (comment) {
          const e = this.specialEnd(p + 2, '-->')
          if (e === NEED_MORE) return NEED_MORE
          p = e
        } else {
          const decl = this.startsWith(p, '<!DOCTYPE')
          if (decl === undefined && !this.ended) return NEED_MORE
          if (decl || this.startsWith(p, '<!ENTITY')) {
            this.advanceTo(p)
            this.reject('doctype_refused', 'DOCTYPE or entity declaration refused (entities are never expanded)')
          }
          return p
        }
      } else {
        return p
      }
    }
  }

  /** Name of the tag starting at `p` (`<Name` or `</Name`), or undefined when incomplete. */
  private tagName(p: number): string | undefined {
    const buf = this.buf
    let i = p + 1
    if (buf[i] === SLASH) i++
    const start = i
    while (i < buf.length && isNameByte(buf[i] as number)) i++
    if (i >= buf.length) return undefined
    return buf.toString('latin1', start, i)
  }

  /** Offset just after the `>` of the start tag at `p` (quotes respected), and whether it is `/>`; NEED_MORE. */
  private startTagEnd(p: number): { end: number; empty: boolean } | typeof NEED_MORE {
    const buf = this.buf
    let quote = this.tagResume >= 0 ? this.tagQuote : 0
    for (let i = this.tagResume >= 0 ? this.tagResume : p + 1; i < buf.length; i++) {
      const b = buf[i] as number
      if (quote !== 0) {
        if (b === quote) quote = 0
      } else if (b === DQUOTE || b === SQUOTE) {
        quote = b
      } else if (b === GT) {
        this.tagResume = -1
        return { end: i + 1, empty: buf[i - 1] === SLASH }
      } else if (b === LT) {
        this.tagResume = -1
        this.advanceTo(p)
        this.reject('not_well_formed', 'malformed start tag')
      }
      if (i - p > this.maxElementBytes) break
    }
    this.tagResume = buf.length
    this.tagQuote = quote
    return NEED_MORE
  }

  /** First `opener` at or after `from` (cached per buffer; `from` only grows within one buffer). */
  private nextSpecial(slot: 0 | 1 | 2, opener: string, from: number): number {
    const cached = this.specials[slot] as number
    if (cached !== -1 && (cached === UNKNOWN || cached < from)) {
      const at = this.buf.indexOf(opener, from, 'latin1')
      this.specials[slot] = at
      return at
    }
    return cached
  }

  /**
   * Offset just after the end tag of the element `name` whose start tag ends at `from`, skipping comments, CDATA
   * sections and PIs; NEED_MORE when not in the buffer yet.
   */
  private elementEnd(name: string, from: number): number {
    const buf = this.buf
    const closing = `</${name}`
    let p = this.scanFrom >= 0 ? this.scanFrom : from
    // The next end-tag candidate, searched again only once the position passes it (a comment or CDATA section
    // may hide it): searching afresh after every comment would make many comments quadratic.
    let candidate = -2
    for (;;) {
      if (candidate === -2 || (candidate !== -1 && candidate < p)) candidate = buf.indexOf(closing, p, 'latin1')
      let special = this.nextSpecial(0, '<!--', p)
      let terminator = '-->'
      const cdata = this.nextSpecial(1, '<![CDATA[', p)
      if (cdata !== -1 && (special === -1 || cdata < special)) {
        special = cdata
        terminator = ']]>'
      }
      const pi = this.nextSpecial(2, '<?', p)
      if (pi !== -1 && (special === -1 || pi < special)) {
        special = pi
        terminator = '?>'
      }
      if (special !== -1 && (candidate === -1 || special < candidate)) {
        const e = buf.indexOf(terminator, special + 2, 'latin1')
        if (e === -1) {
          this.scanFrom = special
          return NEED_MORE
        }
        p = e + terminator.length
        continue
      }
      if (candidate === -1) {
        this.scanFrom = Math.max(p, buf.length - MAX_OPENER - closing.length)
        return NEED_MORE
      }
      let q = candidate + closing.length
      while (q < buf.length && isWhitespaceByte(buf[q] as number)) q++
      if (q >= buf.length) {
        this.scanFrom = candidate
        return NEED_MORE
      }
      if (buf[q] === GT) {
        this.scanFrom = -1
        return q + 1
      }
      p = candidate + 1
    }
  }

  private checkSize(start: number): void {
    if (this.buf.length - start > this.maxElementBytes) {
      this.advanceTo(start)
      this.reject('record_too_large', `element larger than ${this.maxElementBytes} bytes (the flow's limits.max_record_bytes)`)
    }
  }

  private truncated(what: string): never {
    this.reject('truncated', `file ends ${what}`)
  }

  /** The next piece, or undefined when more bytes are needed. Throws FileRejection. */
  next(): CutPiece | undefined {
    switch (this.state) {
      case 'prolog':
        return this.nextInProlog()
      case 'children':
        return this.nextChild()
      case 'epilog':
        return this.nextInEpilog()
      case 'done':
        return undefined
    }
  }

  private nextInProlog(): CutPiece | undefined {
    const buf = this.buf
    if (this.ended && buf.length - this.pos === 0 && this.pos === 0) this.reject('empty_file', 'empty file')
    let p = 0
    // A UTF-8 byte order mark; the XML declaration is a PI for this purpose.
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) p = 3
    const root = this.skipMisc(p)
    if (root === NEED_MORE) {
      if (this.ended) {
        if (buf.subarray(p).every(isWhitespaceByte)) this.reject('empty_file', 'no XML content')
        this.truncated('before the root element')
      }
      this.checkSize(0)
      return undefined
    }
    if (buf[root] !== LT) {
      this.advanceTo(root)
      this.reject('not_well_formed', 'not an XML document (text before the root element)')
    }
    const name = this.tagName(root)
    if (name === undefined) {
      if (this.ended) this.truncated('before the root element')
      this.checkSize(0)
      return undefined
    }
    if (name === '' || buf[root + 1] === SLASH) {
      this.advanceTo(root)
      this.reject('not_well_formed', 'not an XML document (no root element)')
    }
    if (name !== 'Racine') {
      this.advanceTo(root)
      this.reject('wrong_schema', `root element is ${elementLabel(name)}, not <Racine>`)
    }
    const tag = this.startTagEnd(root)
    if (tag === NEED_MORE) {
      if (this.ended) this.truncated('inside the <Racine> start tag')
      this.checkSize(0)
      return undefined
    }
    if (tag.empty) this.reject('bad_header', 'empty <Racine/>: no IdentificationFlux')
    const piece: CutPiece = { kind: 'prolog', bytes: buf.subarray(0, tag.end), line: 1 }
    this.advanceTo(tag.end)
    this.state = 'children'
    return piece
  }

  private nextChild(): CutPiece | undefined {
    const buf = this.buf
    const gapStart = this.pos
    const p = this.skipMisc(gapStart)
    if (p === NEED_MORE) {
      if (this.ended) this.truncated(this.trailerSeen ? 'before </Racine>' : 'before TransmissionFlux (truncated)')
      this.checkSize(gapStart)
      return undefined
    }
    if (p > gapStart && this.hasMarkup(gapStart, p)) {
      const piece: CutPiece = { kind: 'misc', bytes: buf.subarray(gapStart, p), line: this.line }
      this.advanceTo(p)
      return piece
    }
    this.advanceTo(p)
    if (buf[p] !== LT) this.reject('wrong_schema', 'text directly inside <Racine>')
    const name = this.tagName(p)
    if (name === undefined) {
      if (this.ended) this.truncated('inside a tag')
      this.checkSize(p)
      return undefined
    }
    if (buf[p + 1] === SLASH) {
      if (name !== 'Racine') this.reject('not_well_formed', `end tag of ${elementLabel(name)} does not match <Racine>`)
      if (!this.headerSeen) this.reject('bad_header', 'IdentificationFlux missing')
      if (!this.trailerSeen) this.truncated('without TransmissionFlux (truncated or incomplete)')
      let q = p + 2 + name.length
      while (q < buf.length && isWhitespaceByte(buf[q] as number)) q++
      if (q >= buf.length) {
        if (this.ended) this.truncated('inside </Racine>')
        return undefined
      }
      if (buf[q] !== GT) this.reject('not_well_formed', 'malformed </Racine> end tag')
      this.advanceTo(q + 1)
      this.state = 'epilog'
      return this.nextInEpilog()
    }
    if (name === '') this.reject('not_well_formed', '"<" does not start a tag')
    if (!this.headerSeen && name !== 'IdentificationFlux') this.reject('bad_header', `IdentificationFlux missing (first element is ${elementLabel(name)})`)
    if (this.trailerSeen) this.reject('wrong_schema', `${elementLabel(name)} after TransmissionFlux`)
    if (name === 'IdentificationFlux' && this.headerSeen) this.reject('wrong_schema', 'IdentificationFlux repeated')
    if (name !== 'IdentificationFlux' && name !== 'InfosFoyerRSA' && name !== 'TransmissionFlux') {
      this.reject('wrong_schema', `unexpected element ${elementLabel(name)} in <Racine>`)
    }
    const tag = this.startTagEnd(p)
    if (tag === NEED_MORE) {
      if (this.ended) this.truncated(`inside a <${name}> start tag`)
      this.checkSize(p)
      return undefined
    }
    let end = tag.end
    if (!tag.empty) {
      end = this.elementEnd(name, tag.end)
      if (end === NEED_MORE) {
        if (this.ended) {
          if (name === 'InfosFoyerRSA') this.reject('truncated', 'file ends inside this InfosFoyerRSA (truncated)', this.line, this.records)
          this.truncated(`inside <${name}> (truncated)`)
        }
        this.checkSize(p)
        return undefined
      }
    }
    const bytes = buf.subarray(p, end)
    const line = this.line
    this.advanceTo(end)
    if (name === 'IdentificationFlux') {
      this.headerSeen = true
      return { kind: 'header', bytes, line }
    }
    if (name === 'TransmissionFlux') {
      this.trailerSeen = true
      return { kind: 'trailer', bytes, line }
    }
    return { kind: 'record', bytes, line, recordIndex: this.records++ }
  }

  private nextInEpilog(): CutPiece | undefined {
    const buf = this.buf
    const gapStart = this.pos
    const p = this.skipMisc(gapStart)
    if (p === NEED_MORE) {
      if (!this.ended) return undefined
      // Everything after </Racine> has been read: whitespace, comments and PIs only.
      if (gapStart < buf.length && this.hasMarkup(gapStart, buf.length)) {
        const piece: CutPiece = { kind: 'misc', bytes: buf.subarray(gapStart, buf.length), line: this.line }
        this.advanceTo(buf.length)
        return piece
      }
      this.advanceTo(buf.length)
      this.state = 'done'
      return { kind: 'end', records: this.records }
    }
    if (p > gapStart && this.hasMarkup(gapStart, p)) {
      const piece: CutPiece = { kind: 'misc', bytes: buf.subarray(gapStart, p), line: this.line }
      this.advanceTo(p)
      return piece
    }
    this.advanceTo(p)
    this.reject('not_well_formed', 'content after the root element')
  }

  private hasMarkup(from: number, to: number): boolean {
    const buf = this.buf
    for (let i = from; i < to; i++) if (!isWhitespaceByte(buf[i] as number)) return true
    return false
  }
}
