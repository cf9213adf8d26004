import { DEFAULT_READER_LIMITS, type ReaderLimits } from '../reader-limits.ts'
import { VRSB0801_ELEMENT_NAMES } from './schema-element-names.ts'

/**
 * XML 1.0 well-formedness of a piece of a document, checked by one forward scan (indexOf jumps, no allocation per
 * character). fast-xml-parser is lenient (it accepts unclosed or mismatched tags in places, undeclared entities,
 * `--` in comments...), so every piece of a flow file goes through this check before it is parsed or skipped.
 *
 * What is checked: start/end tags balance and match; names are XML Names; attributes are `name="value"` or
 * `name='value'`, unique per element, with no `<` in values; `&` only starts a predefined entity (`&lt;` `&gt;`
 * `&amp;` `&quot;` `&apos;`) or a character reference to a legal character (there is no DTD, so no other entity
 * is declared); comments have no `--` inside; CDATA sections and processing instructions are closed; `]]>` does
 * not appear in text; no character outside the XML Char production (C0 controls, U+FFFE, U+FFFF); no text outside
 * the element; an XML declaration is not repeated. Any markup declaration (`<!DOCTYPE`, `<!ENTITY`...) is refused
 * outright: no entity is ever expanded.
 *
 * Limits (a file rejection each, with its own rule): attributes per element, nesting depth, length of a text
 * run (comments and CDATA sections inside it included). Messages quote an element name only when the schema knows
 * it (`knownNames`, the VRSB0801 element names by default) and never an attribute name: a lost `>` runs a value
 * into a name (`<NOMNAIFOFANA`), and that must not reach a message.
 *
 * Time is linear in the text: every search either moves the position forward or is cached until the position
 * passes the hit (the next `&`, `]]>`, and `<` within a start tag); attribute names are checked for duplicates
 * with a Set.
 *
 * The scan can also report where given elements start and end (`skip`), so the caller can cut blocks that map
 * to nothing out of the text before the parser sees it: they have been checked here, they are not parsed. And it
 * can hand the elements and text it meets (outside skipped blocks) to a `TreeSink`, which builds the record's
 * tree in the same pass (parse-record-xml.ts).
 */
export interface WellFormednessFault {
  rule: 'not_well_formed' | 'doctype_refused' | 'too_many_attributes' | 'too_deep' | 'text_too_long'
  /** What is wrong, naming elements but never quoting text or attribute values. */
  reason: string
  /** UTF-16 offset in the checked text. */
  offset: number
}

export interface SkipCollector {
  /** Element names whose whole extent (outermost occurrence) is reported. */
  names: ReadonlySet<string>
  /** Output: [start, end) offset pairs, in document order, non-overlapping. Cleared by the caller. */
  ranges: number[]
  /** Output: [start, end) pairs of CDATA sections outside skipped ranges (their text is literal). */
  cdata: number[]
}

/** Receives the structure met by the scan, outside skipped elements, in document order. */
export interface TreeSink {
  open(name: string): void
  /** Character data text[start, end), entity references not yet decoded. */
  text(start: number, end: number): void
  /** The literal content text[start, end) of a CDATA section. */
  cdata(start: number, end: number): void
  close(): void
}

export interface CheckOptions {
  /** Element names a message may quote (others are "an unknown element"). Default: the VRSB0801 schema's. */
  knownNames?: ReadonlySet<string>
  limits?: Partial<Pick<ReaderLimits, 'maxAttributes' | 'maxDepth' | 'maxTextChars'>>
}

/** `element`: optional misc, exactly one element, optional misc. `misc`: only whitespace, comments and PIs. */
export type CheckMode = 'element' | 'misc'

const LT = 0x3c
const GT = 0x3e
const SLASH = 0x2f
const BANG = 0x21
const QUESTION = 0x3f
const EQUALS = 0x3d
const DQUOTE = 0x22
const SQUOTE = 0x27

const ILLEGAL_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const HAS_SURROGATE = /[\uD800-\uDFFF]/
const MARKUP_DECLARATION = /^<!(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/
// NameStartChar / NameChar of XML 1.0 (5th edition), for the non-ASCII case; surrogate pairs stand for #x10000-#xEFFFF.
const NON_ASCII_NAME_START = /[\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDBFF\uDC00-\uDFFF]/
const NON_ASCII_NAME_CHAR = /[\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C\u200D\u203F\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDBFF\uDC00-\uDFFF]/

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d
}

function isNameStart(text: string, i: number): boolean {
  const c = text.charCodeAt(i)
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a
  return NON_ASCII_NAME_START.test(text[i] as string)
}

function isNameChar(c: number, text: string, i: number): boolean {
  if (c < 0x80) {
    return (
      (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a || c === 0x2d || c === 0x2e
    )
  }
  return NON_ASCII_NAME_CHAR.test(text[i] as string)
}

/** End offset of the XML Name starting at `i` (i itself when there is none). */
function nameEnd(text: string, i: number, end: number): number {
  if (i >= end || !isNameStart(text, i)) return i
  let j = i + 1
  while (j < end && isNameChar(text.charCodeAt(j), text, j)) j++
  return j
}

function skipWhitespace(text: string, i: number, end: number): number {
  while (i < end && isWhitespace(text.charCodeAt(i))) i++
  return i
}

function isLegalCodePoint(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
}

/** End offset (after `;`) of the reference starting at `amp`, or -1 when it is not a legal reference. */
function referenceEnd(text: string, amp: number, end: number): number {
  // A reference is at most 12 characters long: look no further (a search to the end per `&` would be quadratic).
  let semi = -1
  for (let i = amp + 1; i < end && i <= amp + 12; i++) {
    if (text.charCodeAt(i) === 0x3b) {
      semi = i
      break
    }
  }
  if (semi === -1) return -1
  const body = text.slice(amp + 1, semi)
  switch (body) {
    case 'lt':
    case 'gt':
    case 'amp':
    case 'quot':
    case 'apos':
      return semi + 1
  }
  let cp: number
  if (/^#[0-9]{1,7}$/.test(body)) cp = Number(body.slice(1))
  else if (/^#x[0-9A-Fa-f]{1,6}$/.test(body)) cp = parseInt(body.slice(2), 16)
  else return -1
  return isLegalCodePoint(cp) ? semi + 1 : -1
}

/**
 * Checks every `&` in text[from, to), `from` being the first one. Returns the offset of the first bad one, or -1.
 * Callers find the first `&` with a cached search, so that a text or value without any costs nothing here.
 */
function checkReferences(text: string, from: number, to: number): number {
  let amp = from
  while (amp !== -1 && amp < to) {
    const after = referenceEnd(text, amp, to)
    if (after === -1) return amp
    amp = text.indexOf('&', after)
  }
  return -1
}

function fault(reason: string, offset: number, rule: WellFormednessFault['rule'] = 'not_well_formed'): WellFormednessFault {
  return { rule, reason, offset }
}

/**
 * Checks that `text` is well-formed in the given mode. Returns the first fault, or undefined.
 * With `skip`, fills `skip.ranges` with the extents of the named elements (outermost occurrences only).
 * With `sink`, reports elements and text outside them (the sink may have seen part of a text that then fails).
 */
export function checkWellFormed(
  text: string,
  mode: CheckMode,
  skip?: SkipCollector,
  sink?: TreeSink,
  options: CheckOptions = {},
): WellFormednessFault | undefined {
  const end = text.length
  const known = options.knownNames ?? VRSB0801_ELEMENT_NAMES
  const maxAttributes = options.limits?.maxAttributes ?? DEFAULT_READER_LIMITS.maxAttributes
  const maxDepth = options.limits?.maxDepth ?? DEFAULT_READER_LIMITS.maxDepth
  const maxText = options.limits?.maxTextChars ?? DEFAULT_READER_LIMITS.maxTextChars
  const label = (name: string) => (known.has(name) ? `<${name}>` : 'an unknown element')
  const illegal = ILLEGAL_CHAR.exec(text)
  if (illegal) return fault('character not allowed in XML', illegal.index)
  if (HAS_SURROGATE.test(text)) {
    const lone = LONE_SURROGATE.exec(text)
    if (lone) return fault('character not allowed in XML', lone.index)
  }

  const stack: string[] = []
  let rootSeen = false
  let rootClosed = false
  // Skipped block being read: its depth (stack length once its start tag is pushed) and start offset.
  let skipDepth = -1
  let skipStart = 0
  let nextAmp = text.indexOf('&')
  let nextCdataEnd = text.indexOf(']]>')
  // Next `<` at or after a start tag's attributes (cached: a tag holds none, so one search serves all its values).
  let nextLt = text.indexOf('<')
  // Characters of the current text run (reset at every tag; comments, PIs and CDATA sections do not end a run).
  let runChars = 0
  const attributeNames = new Set<string>()
  let pos = 0

  while (pos < end) {
    const lt = text.indexOf('<', pos)
    const textEnd = lt === -1 ? end : lt
    // Character data in [pos, textEnd).
    if (textEnd > pos) {
      runChars += textEnd - pos
      if (runChars > maxText && stack.length > 0) return fault(`text longer than ${maxText} characters in ${label(stack[stack.length - 1] as string)}`, pos, 'text_too_long')
      if (sink && skipDepth === -1 && stack.length > 0) sink.text(pos, textEnd)
      if (stack.length === 0) {
        const nonBlank = skipWhitespace(text, pos, textEnd)
        if (nonBlank < textEnd) return fault(rootSeen ? 'text after the root element' : 'text before the root element', nonBlank)
      } else {
        if (nextAmp !== -1 && nextAmp < pos) nextAmp = text.indexOf('&', pos)
        if (nextAmp !== -1 && nextAmp < textEnd) {
          const bad = checkReferences(text, nextAmp, textEnd)
          if (bad !== -1) return fault('"&" does not start a predefined entity or character reference', bad)
          nextAmp = text.indexOf('&', textEnd)
        }
        if (nextCdataEnd !== -1 && nextCdataEnd < pos) nextCdataEnd = text.indexOf(']]>', pos)
        if (nextCdataEnd !== -1 && nextCdataEnd + 3 <= textEnd) return fault('"]]>" in text', nextCdataEnd)
      }
    }
    if (lt === -1) break

    const c = text.charCodeAt(lt + 1)
    if (c === SLASH) {
      // End tag.
      const open = stack.pop()
      if (open === undefined) return fault('end tag with no matching start tag', lt)
      if (!text.startsWith(open, lt + 2)) return fault(`end tag does not match start tag ${label(open)}`, lt)
      const after = skipWhitespace(text, lt + 2 + open.length, end)
      if (text.charCodeAt(after) !== GT) return fault(`end tag does not match start tag ${label(open)}`, lt)
      pos = after + 1
      runChars = 0
      if (stack.length === 0) rootClosed = true
      if (skip && stack.length + 1 === skipDepth) {
        skip.ranges.push(skipStart, pos)
        skipDepth = -1
      } else if (sink && skipDepth === -1) {
        sink.close()
      }
    } else if (c === BANG) {
      if (text.startsWith('<!--', lt)) {
        const close = text.indexOf('-->', lt + 4)
        if (close === -1) return fault('comment not closed', lt)
        const dashes = text.indexOf('--', lt + 4)
        if (dashes < close) return fault('"--" inside a comment', dashes)
        pos = close + 3
      } else if (text.startsWith('<![CDATA[', lt)) {
        if (stack.length === 0) return fault('CDATA section outside the root element', lt)
        const close = text.indexOf(']]>', lt + 9)
        if (close === -1) return fault('CDATA section not closed', lt)
        runChars += close - lt - 9
        if (runChars > maxText) return fault(`text longer than ${maxText} characters in ${label(stack[stack.length - 1] as string)}`, lt, 'text_too_long')
        pos = close + 3
        if (skip && skipDepth === -1) skip.cdata.push(lt, pos)
        if (sink && skipDepth === -1) sink.cdata(lt + 9, close)
      } else if (MARKUP_DECLARATION.test(text.slice(lt, lt + 10))) {
        return fault('DOCTYPE or markup declaration (entities are never expanded)', lt, 'doctype_refused')
      } else {
        return fault('"<!" does not start a comment or a CDATA section', lt)
      }
    } else if (c === QUESTION) {
      const targetEnd = nameEnd(text, lt + 2, end)
      if (targetEnd === lt + 2) return fault('processing instruction without a target', lt)
      if (targetEnd - lt - 2 === 3 && text.slice(lt + 2, targetEnd).toLowerCase() === 'xml') {
        return fault('XML declaration not at the start of the document', lt)
      }
      const close = text.indexOf('?>', targetEnd)
      if (close === -1) return fault('processing instruction not closed', lt)
      if (close !== targetEnd && !isWhitespace(text.charCodeAt(targetEnd))) return fault('processing instruction target not followed by a space', lt)
      pos = close + 2
    } else {
      // Start tag or empty-element tag.
      if (mode === 'misc') return fault('element where only comments and processing instructions may appear', lt)
      const nameStop = nameEnd(text, lt + 1, end)
      if (nameStop === lt + 1) return fault('"<" does not start a tag', lt)
      if (rootClosed) return fault('second element after the root element', lt)
      const name = text.slice(lt + 1, nameStop)
      const tag = label(name)
      let p = nameStop
      let attributes = 0
      attributeNames.clear()
      let selfClosing = false
      runChars = 0
      for (;;) {
        const before = p
        p = skipWhitespace(text, p, end)
        const ch = text.charCodeAt(p)
        if (ch === GT) {
          p++
          break
        }
        if (ch === SLASH) {
          if (text.charCodeAt(p + 1) !== GT) return fault(`malformed tag ${tag}`, p)
          p += 2
          selfClosing = true
          break
        }
        if (p >= end) return fault(`tag ${tag} not closed`, lt)
        if (p === before) return fault(`missing space before an attribute of ${tag}`, p)
        const attrStop = nameEnd(text, p, end)
        if (attrStop === p) return fault(`malformed attribute in ${tag}`, p)
        // Attribute names are never quoted: the schema declares none, so any name read here may hold a value.
        if (++attributes > maxAttributes) return fault(`more than ${maxAttributes} attributes on ${tag}`, p, 'too_many_attributes')
        const attrName = text.slice(p, attrStop)
        if (attributeNames.has(attrName)) return fault(`attribute ${attributes} of ${tag} repeats an earlier one`, p)
        attributeNames.add(attrName)
        p = skipWhitespace(text, attrStop, end)
        if (text.charCodeAt(p) !== EQUALS) return fault(`attribute ${attributes} of ${tag} has no value`, p)
        p = skipWhitespace(text, p + 1, end)
        const quote = text.charCodeAt(p)
        if (quote !== DQUOTE && quote !== SQUOTE) return fault(`attribute ${attributes} of ${tag} is not quoted`, p)
        const close = text.indexOf(quote === DQUOTE ? '"' : "'", p + 1)
        if (close === -1) return fault(`attribute ${attributes} of ${tag} is not closed`, p)
        if (nextLt !== -1 && nextLt <= p) nextLt = text.indexOf('<', p + 1)
        if (nextLt !== -1 && nextLt < close) return fault(`"<" in the value of attribute ${attributes} of ${tag}`, nextLt)
        if (nextAmp !== -1 && nextAmp <= p) nextAmp = text.indexOf('&', p + 1)
        if (nextAmp !== -1 && nextAmp < close) {
          const bad = checkReferences(text, nextAmp, close)
          if (bad !== -1) return fault('"&" does not start a predefined entity or character reference', bad)
          nextAmp = text.indexOf('&', close)
        }
        p = close + 1
      }
      rootSeen = true
      if (skip && skipDepth === -1 && skip.names.has(name)) {
        if (selfClosing) skip.ranges.push(lt, p)
        else {
          skipDepth = stack.length + 1
          skipStart = lt
        }
      } else if (sink && skipDepth === -1) {
        sink.open(name)
        if (selfClosing) sink.close()
      }
      if (selfClosing) {
        if (stack.length === 0) rootClosed = true
      } else {
        if (stack.length >= maxDepth) return fault(`elements nested deeper than ${maxDepth} levels (at ${tag})`, lt, 'too_deep')
        stack.push(name)
      }
      pos = p
    }
  }

  if (stack.length > 0) return fault(`element ${label(stack[stack.length - 1] as string)} not closed`, end)
  if (mode === 'element' && !rootSeen) return fault('no element', 0)
  return undefined
}

/** 1-based line of a UTF-16 offset in a text (for messages: which line of the record). */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1
  let i = text.indexOf('\n')
  while (i !== -1 && i < offset) {
    line++
    i = text.indexOf('\n', i + 1)
  }
  return line
}
