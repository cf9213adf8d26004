import { TextDecoder } from 'node:util'

/**
 * Text encodings the flows use, and how their bytes become strings. CNAF files declare `windows-1252` (sometimes
 * `ISO-8859-1` or `ISO-8859-15`, rarely `UTF-8`) in their XML declaration; France Travail files are Latin-1.
 *
 * - `windows-1252` and `iso-8859-1` are both decoded as windows-1252, as the WHATWG Encoding standard (and every
 *   browser) does: the two agree on every byte except 0x80–0x9F, which are C1 control characters in strict
 *   Latin-1 (never legitimate text) and `€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ` in windows-1252, which
 *   producers that declare Latin-1 do emit.
 * - `iso-8859-15` (Latin-9) differs from Latin-1 in eight positions (€ Š š Ž ž Œ œ Ÿ).
 * - `utf-8` is decoded strictly: an invalid byte sequence is an error, never a silent U+FFFD.
 *
 * Node's own TextDecoder cannot be trusted for the single-byte encodings: on Node 20 a one-shot
 * `new TextDecoder('windows-1252').decode(bytes)` returns Latin-1 (0x8C comes out as U+008C instead of Œ, 0x92 as
 * U+0092 instead of ’; `{ stream: true }` calls go through ICU and are right, but slower than the table), and a
 * small-ICU build has no ISO-8859-15 at all. Each native one-shot decoder is therefore probed once; when it gets
 * the probe wrong, the bytes are read as strict Latin-1 (native, fast) and the differing code points are mapped
 * with a table (~200 MB/s).
 */
export type SupportedEncoding = 'windows-1252' | 'iso-8859-1' | 'iso-8859-15' | 'utf-8'

export const SUPPORTED_ENCODINGS: readonly SupportedEncoding[] = ['windows-1252', 'iso-8859-1', 'iso-8859-15', 'utf-8']

const ALIASES: ReadonlyMap<string, SupportedEncoding> = new Map([
  ['windows-1252', 'windows-1252'],
  ['cp1252', 'windows-1252'],
  ['x-cp1252', 'windows-1252'],
  ['iso-8859-1', 'iso-8859-1'],
  ['iso8859-1', 'iso-8859-1'],
  ['iso_8859-1', 'iso-8859-1'],
  ['latin1', 'iso-8859-1'],
  ['latin-1', 'iso-8859-1'],
  ['l1', 'iso-8859-1'],
  ['iso-8859-15', 'iso-8859-15'],
  ['iso8859-15', 'iso-8859-15'],
  ['iso_8859-15', 'iso-8859-15'],
  ['latin-9', 'iso-8859-15'],
  ['latin9', 'iso-8859-15'],
  ['l9', 'iso-8859-15'],
  ['utf-8', 'utf-8'],
  ['utf8', 'utf-8'],
])

/** The supported encoding a label names (case-insensitive, common aliases), or undefined. */
export function supportedEncoding(label: string): SupportedEncoding | undefined {
  return ALIASES.get(label.trim().toLowerCase())
}

/** Decodes one complete byte sequence (never a part of a multi-byte character). Throws on invalid UTF-8. */
export type Decode = (bytes: Uint8Array) => string

/** windows-1252 characters of bytes 0x80–0x9F; the five undefined bytes stay U+0081, U+008D... (WHATWG). */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ'
const CP1252_PATTERN = /[\x80-\x9f]/
const CP1252_PATTERN_ALL = /[\x80-\x9f]/g
const CP1252_MAP: Readonly<Record<string, string>> = Object.fromEntries(
  [...CP1252_HIGH].map((char, i) => [String.fromCharCode(0x80 + i), char]),
)

/** ISO-8859-15 characters of the bytes where it differs from ISO-8859-1. */
const LATIN9_MAP: Readonly<Record<string, string>> = {
  '\xa4': '€',
  '\xa6': 'Š',
  '\xa8': 'š',
  '\xb4': 'Ž',
  '\xb8': 'ž',
  '\xbc': 'Œ',
  '\xbd': 'œ',
  '\xbe': 'Ÿ',
}
const LATIN9_PATTERN = /[\xa4\xa6\xa8\xb4\xb8\xbc\xbd\xbe]/g

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/** windows-1252 by table: strict Latin-1, then 0x80–0x9F mapped. */
export function decodeWindows1252WithTable(bytes: Uint8Array): string {
  const text = latin1(bytes)
  return CP1252_PATTERN.test(text) ? text.replace(CP1252_PATTERN_ALL, (c) => CP1252_MAP[c] ?? c) : text
}

/** ISO-8859-15 by table: strict Latin-1, then the eight differences. */
export function decodeLatin9WithTable(bytes: Uint8Array): string {
  return latin1(bytes).replace(LATIN9_PATTERN, (c) => LATIN9_MAP[c] ?? c)
}

/** Node's decoder for `label`, if it has one and it decodes `probe` to `expected`. */
function trustedNativeDecoder(label: string, probe: number[], expected: string): TextDecoder | undefined {
  try {
    const decoder = new TextDecoder(label, { ignoreBOM: true })
    return decoder.decode(Uint8Array.from(probe)) === expected ? decoder : undefined
  } catch {
    return undefined
  }
}

const nativeWindows1252 = trustedNativeDecoder('windows-1252', [0x80, 0x8c, 0x92, 0x9c, 0xe9], '€Œ’œé')
const nativeLatin9 = trustedNativeDecoder('iso-8859-15', [0xa4, 0xbc, 0xbd, 0xe9], '€Œœé')

/** A decoder for one supported encoding. The UTF-8 decoder throws a TypeError on invalid input. */
export function createDecoder(encoding: SupportedEncoding): Decode {
  switch (encoding) {
    case 'windows-1252':
    case 'iso-8859-1':
      return nativeWindows1252 ? (bytes) => nativeWindows1252.decode(bytes) : decodeWindows1252WithTable
    case 'iso-8859-15':
      return nativeLatin9 ? (bytes) => nativeLatin9.decode(bytes) : decodeLatin9WithTable
    case 'utf-8': {
      const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
      return (bytes) => decoder.decode(bytes)
    }
    default:
      throw new Error(`unsupported encoding "${String(encoding)}" (supported: ${SUPPORTED_ENCODINGS.join(', ')})`)
  }
}

/**
 * Decodes a byte stream chunk by chunk: `decode(chunk)` for each chunk, then `decode(undefined)` at the end.
 * Single-byte encodings need no state; UTF-8 keeps a character cut between two chunks for the next one and
 * throws a TypeError on invalid input (including a character left incomplete at the end).
 */
export function createStreamDecoder(encoding: SupportedEncoding): (chunk: Uint8Array | undefined) => string {
  if (encoding !== 'utf-8') {
    const decode = createDecoder(encoding)
    return (chunk) => (chunk === undefined ? '' : decode(chunk))
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  return (chunk) => (chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true }))
}
