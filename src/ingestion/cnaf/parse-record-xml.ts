import { XMLParser } from 'fast-xml-parser'
import { checkWellFormed, type CheckOptions, type SkipCollector, type TreeSink, type WellFormednessFault } from './check-well-formed.ts'

/**
 * One XML element (a CNAF record, the header or the trailer) → a plain tree: elements become objects keyed by
 * child name, text-only elements become trimmed strings (predefined entities and character references decoded,
 * CDATA taken literally, line ends normalised, empty → undefined), elements that may repeat (`repeatable`) are
 * always arrays, and an element that appears more than once where it may not becomes an array too (so
 * validation can say `repeated`). Attributes, comments and processing instructions are ignored. The blocks named
 * in `skipped` are checked for well-formedness but left out of the tree: nothing is taken from them.
 *
 * Two parsers give the same tree (a test checks it on every fixture and on generated files):
 *
 * - `scan` (default): the tree is built during the well-formedness scan (check-well-formed.ts), which visits
 *   every tag anyway. Measured ~4× faster than the fast-xml-parser path below, and ~8× fast-xml-parser with its
 *   default options (bench/parse-cnaf.bench.ts), which is what lets one thread parse a flow file well above the
 *   15 MB/s end-to-end target without worker threads and their memory.
 * - `fast-xml-parser`: the scan checks well-formedness (fast-xml-parser alone is lenient) and reports the
 *   skipped blocks, which are cut out; CDATA sections become escaped text; fast-xml-parser then parses the rest
 *   with entities off (nothing is ever expanded; predefined entities and character references are decoded
 *   here), no attributes, no value parsing (codes like `01` stay strings) and `preserveOrder` (its ordered output
 *   skips the library's own tree compaction, ~30 % faster; a small conversion produces the object shape).
 *   It is the reference the scan is tested against, and the parser the issue names.
 */
export type XmlTree = { [name: string]: XmlValue }
export type XmlValue = string | undefined | XmlTree | XmlValue[]

type OrderedNode = { [name: string]: OrderedNode[] | string }

const parser = new XMLParser({
  preserveOrder: true,
  jPath: false,
  ignoreAttributes: true,
  parseTagValue: false,
  processEntities: false,
  trimValues: true,
  ignorePiTags: true,
  ignoreDeclaration: true,
  commentPropName: false,
  cdataPropName: false,
  strictReservedNames: false,
})

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }
const REFERENCE = /&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/g

/** Decodes the predefined entities and character references of a (well-formed) text value. */
export function decodeXmlText(value: string): string {
  if (value.indexOf('&') === -1) return value
  return value.replace(REFERENCE, (_, ref: string) => {
    if (ref.charCodeAt(0) !== 0x23) return PREDEFINED[ref] ?? ''
    return String.fromCodePoint(ref.charCodeAt(1) === 0x78 ? parseInt(ref.slice(2), 16) : Number(ref.slice(1)))
  })
}

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;')
}

/** The text with the collected ranges removed and CDATA sections turned into escaped text. */
function reduce(text: string, collector: SkipCollector): string {
  const { ranges, cdata } = collector
  if (ranges.length === 0 && cdata.length === 0) return text
  let out = ''
  let pos = 0
  let r = 0
  let c = 0
  while (r < ranges.length || c < cdata.length) {
    const takeCdata = c < cdata.length && (r >= ranges.length || (cdata[c] as number) < (ranges[r] as number))
    const start = takeCdata ? (cdata[c] as number) : (ranges[r] as number)
    const end = takeCdata ? (cdata[c + 1] as number) : (ranges[r + 1] as number)
    out += text.slice(pos, start)
    if (takeCdata) {
      out += escapeText(text.slice(start + 9, end - 3))
      c += 2
    } else {
      r += 2
    }
    pos = end
  }
  return out + text.slice(pos)
}

function leafText(children: OrderedNode[]): string | undefined {
  let text = ''
  for (const child of children) {
    const t = child['#text']
    if (typeof t === 'string') text += t
  }
  if (text === '') return undefined
  if (text.indexOf('&') !== -1) text = decodeXmlText(text).trim()
  return text === '' ? undefined : text
}

function toTree(children: OrderedNode[], repeatable: ReadonlySet<string>): XmlTree {
  const tree: XmlTree = {}
  for (const child of children) {
    for (const name in child) {
      if (name === '#text' || name === ':@' || name === '__proto__') continue
      const grand = child[name] as OrderedNode[]
      let hasElement = false
      for (const g of grand) {
        for (const k in g) {
          if (k !== '#text' && k !== ':@') {
            hasElement = true
            break
          }
        }
        if (hasElement) break
      }
      const value = hasElement ? toTree(grand, repeatable) : leafText(grand)
      const existing = tree[name]
      if (existing === undefined && !(name in tree)) tree[name] = repeatable.has(name) ? [value] : value
      else if (Array.isArray(existing)) existing.push(value)
      else tree[name] = [existing, value]
    }
  }
  return tree
}

export type RecordParser = 'scan' | 'fast-xml-parser'

export interface RecordXmlOptions {
  /** Elements that may repeat: always arrays in the tree. */
  repeatable: ReadonlySet<string>
  /** Elements checked for well-formedness but not parsed (nothing is taken from them). */
  skipped: ReadonlySet<string>
  /** Default `scan`. */
  parser?: RecordParser
  /** Bounds (attributes, depth, text) and the names messages may quote: see checkWellFormed. */
  check?: CheckOptions
  /** A skipped element to count (`Anomalie`): the result's `counted`. */
  countSkipped?: string
}

/** XML end-of-line handling: CR LF and lone CR read as LF (before references are decoded: `&#13;` stays CR). */
function normaliseLineEnds(raw: string): string {
  return raw.indexOf('\r') === -1 ? raw : raw.replace(/\r\n?/g, '\n')
}

/**
 * Builds the tree during the well-formedness scan: one frame per open element. A leaf's text is usually one
 * segment (`<NOM>X</NOM>`): it is kept as offsets and sliced once when the element closes; several segments or a
 * CDATA section fall back to accumulating a string. Whitespace before a container's first child is never sliced.
 */
class TreeBuilder implements TreeSink {
  private source = ''
  private readonly names: string[] = []
  /** The element's children so far, or undefined while it has none (then it is a leaf). */
  private readonly trees: Array<XmlTree | undefined> = []
  /** Offsets of the element's only text segment so far (-1: none). */
  private readonly segmentStarts: number[] = []
  private readonly segmentEnds: number[] = []
  /** The element's decoded text, once it has more than one segment or a CDATA section. */
  private readonly texts: Array<string | undefined> = []
  root: { name: string; value: XmlValue } | undefined

  constructor(private readonly repeatable: ReadonlySet<string>) {}

  reset(source: string): void {
    this.source = source
    this.names.length = 0
    this.trees.length = 0
    this.segmentStarts.length = 0
    this.segmentEnds.length = 0
    this.texts.length = 0
    this.root = undefined
  }

  open(name: string): void {
    this.names.push(name)
    this.trees.push(undefined)
    this.segmentStarts.push(-1)
    this.segmentEnds.push(-1)
    this.texts.push(undefined)
  }

  private decoded(start: number, end: number): string {
    const raw = normaliseLineEnds(this.source.slice(start, end))
    return raw.indexOf('&') === -1 ? raw : decodeXmlText(raw)
  }

  /** The text gathered so far as a string (the single segment decoded, if that is all there is). */
  private accumulated(top: number): string {
    const text = this.texts[top]
    if (text !== undefined) return text
    const start = this.segmentStarts[top] as number
    return start === -1 ? '' : this.decoded(start, this.segmentEnds[top] as number)
  }

  text(start: number, end: number): void {
    const top = this.trees.length - 1
    if (this.trees[top] !== undefined) return
    if (this.texts[top] === undefined && this.segmentStarts[top] === -1) {
      this.segmentStarts[top] = start
      this.segmentEnds[top] = end
    } else {
      this.texts[top] = this.accumulated(top) + this.decoded(start, end)
    }
  }

  cdata(start: number, end: number): void {
    const top = this.trees.length - 1
    if (this.trees[top] !== undefined) return
    this.texts[top] = this.accumulated(top) + normaliseLineEnds(this.source.slice(start, end))
  }

  close(): void {
    const top = this.trees.length - 1
    const name = this.names.pop() as string
    const tree = this.trees.pop()
    let value: XmlValue = tree
    if (tree === undefined) {
      const text = this.accumulated(top).trim()
      value = text === '' ? undefined : text
    }
    this.segmentStarts.pop()
    this.segmentEnds.pop()
    this.texts.pop()
    if (top === 0) {
      this.root = { name, value }
      return
    }
    let parent = this.trees[top - 1]
    if (parent === undefined) {
      parent = {}
      this.trees[top - 1] = parent
    }
    if (name === '__proto__') return
    const existing = parent[name]
    if (existing === undefined && !(name in parent)) parent[name] = this.repeatable.has(name) ? [value] : value
    else if (Array.isArray(existing)) existing.push(value)
    else parent[name] = [existing, value]
  }
}

export type RecordXmlResult =
  /** `counted`: with `options.countSkipped`, how many skipped elements of that name the element holds. */
  | { ok: true; root: string; tree: XmlTree | string | undefined; counted?: number }
  | { ok: false; fault: WellFormednessFault }

/** How many of the skipped elements (ranges from the scan) are `name` elements (e.g. `Anomalie` blocks). */
function countSkipped(text: string, ranges: readonly number[], name: string): number {
  let n = 0
  for (let i = 0; i < ranges.length; i += 2) {
    const start = ranges[i] as number
    if (text.startsWith(name, start + 1) && /[\s/>]/.test(text.charAt(start + 1 + name.length))) n++
  }
  return n
}

/**
 * Checks and parses one element. `tree` is the element's content: an object for an element with children, a
 * string for a text-only element, undefined for an empty one.
 */
export function parseRecordXml(text: string, options: RecordXmlOptions): RecordXmlResult {
  const collector: SkipCollector = { names: options.skipped, ranges: [], cdata: [] }
  if ((options.parser ?? 'scan') === 'scan') {
    const builder = new TreeBuilder(options.repeatable)
    builder.reset(text)
    const fault = checkWellFormed(text, 'element', collector, builder, options.check)
    if (fault) return { ok: false, fault }
    const root = builder.root as { name: string; value: XmlValue }
    const tree = root.value as XmlTree | string | undefined
    if (options.countSkipped === undefined) return { ok: true, root: root.name, tree }
    return { ok: true, root: root.name, tree, counted: countSkipped(text, collector.ranges, options.countSkipped) }
  }
  const fault = checkWellFormed(text, 'element', collector, undefined, options.check)
  if (fault) return { ok: false, fault }
  const ordered = parser.parse(reduce(text, collector)) as OrderedNode[]
  const top = toTree(ordered, options.repeatable)
  const root = Object.keys(top)[0] as string
  const tree = top[root] as XmlTree | string | undefined
  if (options.countSkipped === undefined) return { ok: true, root, tree }
  return { ok: true, root, tree, counted: countSkipped(text, collector.ranges, options.countSkipped) }
}
