import { Transform } from 'node:stream'
import { TextDecoder } from 'node:util'
import { FileRejection } from '../file-rejection.ts'
import { DEFAULT_READER_LIMITS } from '../reader-limits.ts'

/**
 * Bytes → text for the France Travail CSV files, chunk by chunk (bounded memory).
 *
 * - The flow declares the encoding (iso-8859-1, windows-1252, iso-8859-15 or utf-8). Per the WHATWG Encoding
 *   standard `iso-8859-1` decodes as windows-1252, which is what "Latin-1" files from Windows systems really are.
 * - A UTF-8 byte-order mark wins over the declaration (a BOM is never Latin-1 text) and is dropped.
 * - UTF-8 is decoded strictly: bytes that are not UTF-8 reject the file (`unsupported_encoding`).
 * - Control characters other than tab, CR and LF (NUL, ...) mean the file is not text: rejected `not_well_formed`.
 * - A physical line longer than `maxLineChars` rejects the file (`line_too_long`) before any parser buffers it: a
 *   single 500 MB line would otherwise grow one string until the process fails.
 */
export interface DecodeTextOptions {
  encoding: string
  fileLabel: string
  /** Longest physical line accepted, in characters (the flow's limits.max_line_chars). */
  maxLineChars?: number
}

const UTF8_BOM = [0xef, 0xbb, 0xbf]
// C0 controls but tab, LF and CR; DEL.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/

/** The decoding stream, which also tells whether the text it passed on ended with a line break. */
export type TextDecoderStream = Transform & { readonly endsWithNewline: boolean }

export function createTextDecoderStream(options: DecodeTextOptions): TextDecoderStream {
  const { fileLabel } = options
  let decoder: TextDecoder | undefined
  let utf8 = false
  let head: Buffer = Buffer.alloc(0)
  let linesBefore = 0
  let sawText = false
  let endsWithNewline = false
  const maxLine = options.maxLineChars ?? DEFAULT_READER_LIMITS.maxLineChars
  /** Characters of the current line so far (since the last LF), and whether the last one was a CR. */
  let lineChars = 0
  let endsWithCr = false

  /**
   * Checks the length of every line the text ends or continues (before `linesBefore` counts its newlines). A line's
   * length leaves out its CR LF or LF; a line still open may hold one character more (a CR whose LF is to come).
   */
  const checkLines = (text: string) => {
    let from = 0
    let line = linesBefore + 1
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', from)) {
      const cr = at > 0 ? text.charCodeAt(at - 1) === 13 : endsWithCr
      if (lineChars + (at - from) - (cr ? 1 : 0) > maxLine) throw tooLong(line)
      lineChars = 0
      from = at + 1
      line++
    }
    lineChars += text.length - from
    endsWithCr = text.length > 0 && text.charCodeAt(text.length - 1) === 13
    if (lineChars > maxLine + 1) throw tooLong(line)
  }
  const tooLong = (line: number) =>
    new FileRejection('line_too_long', `file "${fileLabel}": line ${line}: longer than ${maxLine} characters (the flow's limits.max_line_chars) (rule line_too_long)`, { line })

  const rejectControl = (text: string, index: number) => {
    const line = linesBefore + countNewlines(text, index) + 1
    return new FileRejection('not_well_formed', `file "${fileLabel}": line ${line}: binary content, not a text CSV file (rule not_well_formed)`, { line })
  }

  const open = (bytes: Buffer): Buffer => {
    const hasBom = bytes.length >= 3 && UTF8_BOM.every((b, i) => bytes[i] === b)
    utf8 = hasBom || /^utf-?8$/i.test(options.encoding)
    try {
      decoder = new TextDecoder(utf8 ? 'utf-8' : options.encoding, { fatal: utf8 })
    } catch {
      throw new FileRejection('unsupported_encoding', `file "${fileLabel}": encoding "${options.encoding}" is not supported (rule unsupported_encoding)`)
    }
    return bytes
  }

  const decode = (bytes: Buffer | undefined, flush: boolean): string => {
    try {
      return flush ? (decoder as TextDecoder).decode() : (decoder as TextDecoder).decode(bytes, { stream: true })
    } catch {
      const line = linesBefore + 1
      throw new FileRejection('unsupported_encoding', `file "${fileLabel}": near line ${line}: bytes that are not ${utf8 ? 'UTF-8' : options.encoding} (rule unsupported_encoding)`, { line })
    }
  }

  const emit = (stream: Transform, text: string) => {
    if (text.length === 0) return
    const found = CONTROL.exec(text)
    if (found) throw rejectControl(text, found.index)
    checkLines(text)
    if (!sawText && text.trim() !== '') sawText = true
    linesBefore += countNewlines(text, text.length)
    endsWithNewline = endsWithLineBreak(text, endsWithNewline)
    stream.push(text)
  }

  const stream = new Transform({
    readableObjectMode: false,
    decodeStrings: true,
    transform(chunk: Buffer, _enc, done) {
      try {
        if (!decoder) {
          // Wait for 3 bytes to tell whether a BOM starts the file.
          head = head.length === 0 ? chunk : Buffer.concat([head, chunk])
          if (head.length < 3) return done()
          chunk = open(head)
          head = Buffer.alloc(0)
        }
        emit(this, decode(chunk, false))
        done()
      } catch (error) {
        done(error as Error)
      }
    },
    flush(done) {
      try {
        if (!decoder) open(head)
        if (head.length > 0) emit(this, decode(head, false))
        emit(this, decode(undefined, true))
        if (!sawText) throw new FileRejection('empty_file', `file "${fileLabel}": the file is empty (rule empty_file)`, { line: 1 })
        done()
      } catch (error) {
        done(error as Error)
      }
    },
  })
  return Object.defineProperty(stream, 'endsWithNewline', { get: () => endsWithNewline }) as TextDecoderStream
}

function countNewlines(text: string, end: number): number {
  let count = 0
  let at = text.indexOf('\n')
  while (at !== -1 && at < end) {
    count++
    at = text.indexOf('\n', at + 1)
  }
  return count
}

/** Whether the text ends with a line break, spaces and tabs after it aside (`before` when the text is only those). */
function endsWithLineBreak(text: string, before: boolean): boolean {
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i)
    if (c === 10 || c === 13) return true
    if (c !== 32 && c !== 9) return false
  }
  return before
}
