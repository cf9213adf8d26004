/**
 * The start of an XML document: byte order mark and XML declaration (`<?xml version="1.0" encoding="..."?>`),
 * read from the raw bytes before anything is decoded, since the declaration says how to decode the rest.
 */
export type XmlPrologStart =
  | {
      ok: true
      /** The declared encoding label as written (undefined: no declaration, or one without `encoding`). */
      encodingLabel: string | undefined
      /** A UTF-8 byte order mark was present (the document must then be UTF-8). */
      utf8Bom: boolean
      /** Byte offset just after the BOM and the declaration (0 when neither is present). */
      end: number
    }
  | { ok: false; rule: 'utf16_or_ucs4' | 'malformed_declaration' | 'unterminated_declaration' | 'need_more_bytes' }

/** XMLDecl of the XML 1.0 grammar, over the declaration's ASCII bytes. */
const XML_DECL =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.\d+"|'1\.\d+')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"([A-Za-z][A-Za-z0-9._-]*)"|'([A-Za-z][A-Za-z0-9._-]*)'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/

/** The longest declaration we wait for; a real one is under 100 bytes. */
const MAX_DECLARATION_BYTES = 1024

/**
 * Reads the BOM and XML declaration from the first bytes of a document. With fewer bytes than needed to decide
 * (and `final` false) it answers `need_more_bytes`.
 */
export function readXmlPrologStart(head: Uint8Array, final: boolean): XmlPrologStart {
  const b0 = head[0]
  const b1 = head[1]
  // BOMs of UTF-16, and `<` (or `<?`) in UTF-16/UCS-4 without a BOM.
  if ((b0 === 0xfe && b1 === 0xff) || (b0 === 0xff && b1 === 0xfe) || (b0 === 0x00 && (b1 === 0x3c || b1 === 0x00)) || (b0 === 0x3c && b1 === 0x00)) {
    return { ok: false, rule: 'utf16_or_ucs4' }
  }
  const utf8Bom = b0 === 0xef && b1 === 0xbb && head[2] === 0xbf
  const start = utf8Bom ? 3 : 0
  const window = Buffer.from(head.buffer, head.byteOffset + start, Math.min(head.byteLength - start, MAX_DECLARATION_BYTES)).toString('latin1')
  if (!/^<\?xml[ \t\r\n]/.test(window)) {
    if (window.length < 6 && !final && '<?xml '.startsWith(window)) return { ok: false, rule: 'need_more_bytes' }
    return { ok: true, encodingLabel: undefined, utf8Bom, end: start }
  }
  const match = XML_DECL.exec(window)
  if (!match) {
    const unterminated = window.indexOf('?>') === -1 && window.indexOf('<', 1) === -1 && window.length < MAX_DECLARATION_BYTES
    if (unterminated) return { ok: false, rule: final ? 'unterminated_declaration' : 'need_more_bytes' }
    return { ok: false, rule: 'malformed_declaration' }
  }
  return { ok: true, encodingLabel: match[1] ?? match[2], utf8Bom, end: start + match[0].length }
}
