import type { ReadDeclaredOptions } from '../declared/read-options.ts'
import { fileOpener } from '../../decrypt/decryption-stage.ts'
import { addAbortSignal } from 'node:stream'
import { lineOfOffset } from '../../cnaf/check-well-formed.ts'
import { parseRecordXml, type XmlTree, type XmlValue } from '../../cnaf/parse-record-xml.ts'
import { createStreamDecoder, supportedEncoding, type SupportedEncoding } from '../../decode/text-encoding.ts'
import { FileRejection } from '../../file-rejection.ts'
import { DEFAULT_READER_LIMITS } from '../../reader-limits.ts'
import type { ParsedRecord } from '../../records/parsed-record.ts'
import { RecordRules, constantsFor, type DeclaredRecord } from '../declared/declared-record.ts'
import type { XmlRecordsDeclaration } from './declaration.ts'

/**
 * Reads a file of an `xml-records` flow as batches of checked, mapped records, streaming: the decoded text is cut
 * at each record's end tag, each record is checked for well-formedness and parsed on its own (the CNAF reader's
 * record parser, src/ingestion/cnaf/parse-record-xml.ts), its fields read at their paths and checked
 * (RecordRules). Memory holds one record and one read chunk; what precedes the first record (the prolog, the
 * root start tag, the header) and what follows the last (the trailer, the root end tag) are each bounded by
 * `limits.maxRecordBytes` too.
 *
 * A file that cannot be trusted throws a FileRejection, possibly after some batches: a root or header that is not
 * the declared one, a header or trailer value other than declared, a record count other than the header's or
 * trailer's, a record that is not well-formed, a file that ends inside a record or without its trailer or root end
 * tag, text or another element after the last record beside the trailer and the root end tag. Messages name elements the flow declares and lines, never a text of the file.
 */
export interface ReadXmlDeclaredOptions extends ReadDeclaredOptions {
  /** Bytes per read (default 256 KiB). */
  readBytes?: number
  /** This deployment's code that a declared `recipient` must carry (resolved from its variable: recipientCode). */
  recipient?: string
}

const NO_NAMES: ReadonlySet<string> = new Set()
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const XML_DECLARATION = /^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/

function countNewlines(text: string, from = 0, to = text.length): number {
  let n = 0
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++
  return n
}

/**
 * Where `tail` (what follows the last record) holds something other than whitespace, comments, processing
 * instructions, one `trailer` element and one root end tag (`</root>`, or any name when the root is not declared)
 * before them, in that order; undefined when it holds nothing else. Records are children of the root: text or
 * another element after them is not part of the flow's shape, whatever it says.
 */
function strayAfterRecords(tail: string, trailer: string | undefined, root: string | undefined): number | undefined {
  let k = 0
  let trailerSeen = false
  let rootClosed = false
  for (;;) {
    while (k < tail.length && (tail.charCodeAt(k) === 32 || tail.charCodeAt(k) === 10 || tail.charCodeAt(k) === 13 || tail.charCodeAt(k) === 9)) k++
    if (k >= tail.length) return undefined
    if (tail.startsWith('<!--', k)) {
      const end = tail.indexOf('-->', k + 4)
      if (end === -1) return k
      k = end + 3
    } else if (tail.startsWith('<?', k)) {
      const end = tail.indexOf('?>', k + 2)
      if (end === -1) return k
      k = end + 2
    } else if (!rootClosed && !trailerSeen && trailer !== undefined && tail.startsWith(`<${trailer}`, k) && /[\s/>]/.test(tail.charAt(k + trailer.length + 1))) {
      const gt = tail.indexOf('>', k)
      if (gt === -1) return k
      const end = tail.charCodeAt(gt - 1) === 47 ? gt + 1 : tail.indexOf(`</${trailer}>`, gt)
      if (end === -1) return k
      k = end === gt + 1 ? end : end + trailer.length + 3
      trailerSeen = true
    } else if (!rootClosed && tail.startsWith('</', k)) {
      const end = /^<\/([A-Za-z_][A-Za-z0-9_.:-]*)\s*>/.exec(tail.slice(k, k + 300))
      if (!end || (root !== undefined && end[1] !== root)) return k
      k += end[0].length
      rootClosed = true
    } else return k
  }
}

/** The text at `path` below `tree` (the first element of each name), or undefined. */
function valueAt(tree: XmlTree | string | undefined, path: readonly string[]): string | undefined {
  let node: XmlValue = tree
  for (const step of path) {
    if (node === undefined || typeof node === 'string') return undefined
    if (Array.isArray(node)) node = node[0]
    if (node === undefined || typeof node === 'string' || Array.isArray(node)) return undefined
    node = (node as XmlTree)[step]
  }
  if (Array.isArray(node)) node = node[0]
  return typeof node === 'string' ? node : undefined
}

export async function* readXmlDeclared(path: string, declaration: XmlRecordsDeclaration, options: ReadXmlDeclaredOptions): AsyncGenerator<ParsedRecord<DeclaredRecord>[]> {
  const { fileLabel, signal } = options
  const where = `file "${fileLabel}"`
  const limits = options.limits ?? DEFAULT_READER_LIMITS
  const batchSize = Math.max(1, options.batchSize ?? 1000)
  const rules = new RecordRules(declaration)
  const constants = constantsFor(declaration, options.kind)
  const paths = declaration.fields.map((f) => f.path.split('/'))
  const members = declaration.members
  const memberRules = members ? new RecordRules({ ...declaration, fields: members.fields, checks: [] }) : undefined
  const memberPaths = members ? members.fields.map((f) => f.path.split('/')) : []
  const knownNames = new Set<string>([declaration.record, ...(declaration.root ? [declaration.root] : []), ...paths.flat(), ...memberPaths.flat()])
  if (members) knownNames.add(members.element)
  if (declaration.header?.nature) for (const step of declaration.header.nature.path.split('/')) knownNames.add(step)
  if (declaration.header) knownNames.add(declaration.header.element)
  if (declaration.trailer) knownNames.add(declaration.trailer.element)
  const check = { knownNames, limits: { maxAttributes: limits.maxAttributes, maxDepth: limits.maxDepth, maxTextChars: limits.maxTextChars } }
  const open = `<${declaration.record}`
  const close = `</${declaration.record}>`

  const opened = (options.open ?? fileOpener(path, undefined, options.readBytes))()
  const source = opened.stream
  if (options.meter) options.meter.bytesRead = opened.bytesRead
  if (signal) addAbortSignal(signal, source)

  let decode: ((chunk: Uint8Array | undefined) => string) | undefined
  let encoding: SupportedEncoding | undefined
  let buf = ''
  let pos = 0
  /** Line of buf[pos]. */
  let line = 1
  let state: 'head' | 'records' | 'between' | 'tail' = 'head'
  let tail = ''
  let tailLine = 1
  let recordIndex = 0
  let expectedCount: number | undefined
  let batch: ParsedRecord<DeclaredRecord>[] = []
  const out: ParsedRecord<DeclaredRecord>[][] = []

  const decodeChunk = (chunk: Uint8Array | undefined): string => {
    try {
      return (decode as (c: Uint8Array | undefined) => string)(chunk)
    } catch {
      throw new FileRejection('unsupported_encoding', `${where}: near line ${line}: bytes that are not ${encoding} (rule unsupported_encoding)`, { line })
    }
  }

  const openDecoder = (first: Buffer): Buffer => {
    let bytes = first
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      encoding = 'utf-8'
      bytes = bytes.subarray(3)
    } else {
      const declared = XML_DECLARATION.exec(bytes.subarray(0, 512).toString('latin1'))
      if (declared) {
        encoding = supportedEncoding(declared[1] as string)
        if (!encoding) throw new FileRejection('unsupported_encoding', `${where}: the XML declaration names an encoding Passerelle does not read (rule unsupported_encoding)`, { line: 1 })
      } else encoding = declaration.encoding
    }
    decode = createStreamDecoder(encoding)
    return bytes
  }

  const parseElement = (text: string, at: number, what: string): XmlTree | string | undefined => {
    const xml = parseRecordXml(text, { repeatable: NO_NAMES, skipped: NO_NAMES, check })
    if (!xml.ok) {
      const faultLine = at + lineOfOffset(text, xml.fault.offset) - 1
      throw new FileRejection(xml.fault.rule, `${where}: line ${faultLine}: ${what}: not well-formed XML: ${xml.fault.reason}`, { line: faultLine })
    }
    return xml.tree
  }

  /** The envelope element (header or trailer) in `text`, parsed, or undefined when absent. */
  const envelope = (text: string, firstLine: number, element: string): XmlTree | string | undefined | null => {
    const start = text.search(new RegExp(`<${escapeRegExp(element)}[\\s/>]`))
    if (start === -1) return null
    const selfClosing = text.indexOf('>', start)
    const end = selfClosing !== -1 && text[selfClosing - 1] === '/' ? selfClosing + 1 : text.indexOf(`</${element}>`, start)
    if (end === -1) throw new FileRejection('truncated', `${where}: <${element}> is not closed (rule truncated)`, { line: firstLine + countNewlines(text, 0, start) })
    const stop = text[end - 1] === '>' && end === selfClosing + 1 ? end : end + element.length + 3
    return parseElement(text.slice(start, stop), firstLine + countNewlines(text, 0, start), `<${element}>`)
  }

  /** A header value other than declared is `bad_header`; a trailer's is `wrong_schema`. */
  const checkEnvelope = (tree: XmlTree | string | undefined, env: NonNullable<XmlRecordsDeclaration['header']>, rule: 'bad_header' | 'wrong_schema') => {
    if (env.nature) {
      // The nature first: an instruction header is not "missing DTREF", it is on the wrong flow.
      const { path: naturePath, accepts, names } = env.nature
      const value = valueAt(tree, naturePath.split('/'))?.trim()
      if (value !== undefined && !accepts.includes(value)) {
        const known = Object.prototype.hasOwnProperty.call(names, value)
        const what = known ? `${names[value]} flow (${naturePath}=${value})` : `an unknown ${naturePath}`
        const flowNature = accepts.map((a) => names[a] ?? a).join(' or ')
        throw new FileRejection(
          'wrong_flow_nature',
          `${where}: <${env.element}> ${naturePath}: ${what} on ${/^[aeiou]/.test(flowNature) ? 'an' : 'a'} ${flowNature} flow (it takes ${naturePath}=${accepts.join(' or ')}) (rule wrong_flow_nature)`,
          { line: 1 },
        )
      }
    }
    for (const [p, expected] of Object.entries(env.equals)) {
      if (valueAt(tree, p.split('/')) !== expected) {
        throw new FileRejection(rule, `${where}: <${env.element}> ${p} is not "${expected}", the value the flow expects (rule ${rule})`)
      }
    }
    if (env.recipient) {
      const expected = options.recipient
      if (expected === undefined) throw new Error(`${where}: <${env.element}> ${env.recipient.path} is checked against ${env.recipient.env}, which the caller did not resolve`)
      if (valueAt(tree, env.recipient.path.split('/'))?.trim() !== expected) {
        throw new FileRejection(
          'wrong_recipient',
          `${where}: <${env.element}> ${env.recipient.path} is not "${expected}" (${env.recipient.env}): the file is meant for another recipient (rule wrong_recipient)`,
        )
      }
    }
    if (env.count) {
      const raw = valueAt(tree, env.count.split('/'))?.trim()
      if (raw === undefined || !/^\d{1,12}$/.test(raw)) throw new FileRejection(rule, `${where}: <${env.element}> ${env.count} is not a record count (rule ${rule})`)
      expectedCount = Number(raw)
    }
  }

  const onHead = (head: string) => {
    // As the CNAF reader: no DTD, no entity declaration (nothing would expand them, and no partner sends one).
    const declared = /<!(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b/.exec(head.replace(/<!--[\s\S]*?-->/g, (c) => ' '.repeat(c.length)))
    if (declared) {
      const line = 1 + countNewlines(head.slice(0, declared.index))
      throw new FileRejection('doctype_refused', `${where}: line ${line}: a DOCTYPE or markup declaration, refused (rule doctype_refused)`, { line })
    }
    if (declaration.root) {
      const first = /<([A-Za-z_][A-Za-z0-9_.:-]*)/.exec(head.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, ''))
      if (!first || first[1] !== declaration.root) {
        throw new FileRejection('wrong_schema', `${where}: the root element is not <${declaration.root}> (rule wrong_schema)`, { line: 1 })
      }
    }
    if (declaration.header) {
      const tree = envelope(head, 1, declaration.header.element)
      if (tree === null) throw new FileRejection('bad_header', `${where}: no <${declaration.header.element}> header before the first <${declaration.record}> (rule bad_header)`, { line: 1 })
      checkEnvelope(tree, declaration.header, 'bad_header')
    }
  }

  const onRecord = (text: string, at: number) => {
    const tree = parseElement(text, at, `<${declaration.record}> ${recordIndex + 1}`)
    const raw = paths.map((p) => valueAt(tree, p))
    const built = rules.build(raw, { recordIndex, line: at }, constants)
    batch.push(members && memberRules && built.ok ? withMembers(built.value, tree, members, memberRules) : built)
    recordIndex++
    if (batch.length >= batchSize) {
      out.push(batch)
      batch = []
    }
  }

  /** The record with its members' values, or its rejection naming the first broken member fields. */
  const withMembers = (record: DeclaredRecord, tree: XmlTree | string | undefined, m: NonNullable<XmlRecordsDeclaration['members']>, memberRules: RecordRules): ParsedRecord<DeclaredRecord> => {
    const node = typeof tree === 'object' ? tree[m.element] : undefined
    const occurrences = (Array.isArray(node) ? node : node === undefined ? [] : [node]) as (XmlTree | string | undefined)[]
    const at = { recordIndex: record.recordIndex, line: record.line }
    if (occurrences.length < m.min) return { ok: false, ...at, key: undefined, issues: [{ field: m.element, rule: 'members_missing' }] }
    const values = []
    let issues: { field: string; rule: string }[] | undefined
    for (const [i, occurrence] of occurrences.entries()) {
      const built = memberRules.build(
        memberPaths.map((p) => valueAt(occurrence, p)),
        at,
        {},
      )
      if (built.ok) values.push({ ...built.value.values })
      else for (const issue of built.issues) (issues ??= []).push({ field: `${m.element}[${i}].${issue.field}`, rule: issue.rule })
    }
    if (issues) return { ok: false, ...at, key: undefined, issues }
    return { ok: true, value: { ...record, members: values } }
  }

  const tooLarge = (what: string) =>
    new FileRejection('record_too_large', `${where}: line ${line}: ${what} larger than the flow's limits.max_record_bytes (rule record_too_large)`, { line, recordIndex })

  /** Consumes what `buf` holds from `pos`; `final` when the file has ended. */
  const consume = (final: boolean) => {
    for (;;) {
      if (state === 'head') {
        const re = new RegExp(`${escapeRegExp(open)}[\\s/>]`, 'g')
        re.lastIndex = pos
        const found = re.exec(buf)
        if (!found) {
          if (buf.length - pos > limits.maxRecordBytes) throw tooLarge('what precedes the first record is')
          if (!final) return
          // No record at all: the whole text is both head and tail.
          onHead(buf.slice(pos))
          tail = buf.slice(pos)
          tailLine = line
          pos = buf.length
          state = 'tail'
          return
        }
        const head = buf.slice(pos, found.index)
        onHead(head)
        line += countNewlines(head)
        pos = found.index
        state = 'records'
      }
      if (state === 'records') {
        const gt = buf.indexOf('>', pos)
        if (gt === -1) return needMore(final)
        let end: number
        if (buf.charCodeAt(gt - 1) === 47) end = gt + 1
        else {
          const at = buf.indexOf(close, gt)
          if (at === -1) return needMore(final)
          end = at + close.length
        }
        if (end - pos > limits.maxRecordBytes) throw tooLarge(`<${declaration.record}> ${recordIndex + 1} is`)
        const text = buf.slice(pos, end)
        onRecord(text, line)
        line += countNewlines(text)
        pos = end
        state = 'between'
      }
      if (state === 'between') {
        // Whitespace and comments between records; then another record, or the tail.
        let k = pos
        for (;;) {
          while (k < buf.length && (buf.charCodeAt(k) === 32 || buf.charCodeAt(k) === 10 || buf.charCodeAt(k) === 13 || buf.charCodeAt(k) === 9)) k++
          if (!buf.startsWith('<!--', k)) break
          const c = buf.indexOf('-->', k + 4)
          if (c === -1) {
            if (!final) return
            break
          }
          k = c + 3
        }
        if (k + open.length + 1 > buf.length && !final) {
          if (buf.length - pos > limits.maxRecordBytes) throw tooLarge('what follows a record is')
          return
        }
        const next = buf.charCodeAt(k + open.length)
        if (buf.startsWith(open, k) && (next === 32 || next === 62 || next === 47 || next === 10 || next === 13 || next === 9)) {
          line += countNewlines(buf, pos, k)
          pos = k
          state = 'records'
          continue
        }
        state = 'tail'
        tailLine = line
      }
      if (state === 'tail') {
        tail += buf.slice(pos)
        pos = buf.length
        if (tail.length > limits.maxRecordBytes) throw tooLarge('what follows the last record is')
        return
      }
    }
  }

  const needMore = (final: boolean) => {
    if (buf.length - pos > limits.maxRecordBytes) throw tooLarge(`<${declaration.record}> ${recordIndex + 1} is`)
    if (final) throw new FileRejection('truncated', `${where}: line ${line}: the file ends inside <${declaration.record}> ${recordIndex + 1} (rule truncated)`, { line, recordIndex })
  }

  let sawBytes = false
  /** The first bytes, kept until the XML declaration (if any) is whole, to know the encoding. */
  let head: Buffer | undefined = Buffer.alloc(0)
  const feed = async function* (bytes: Buffer, final: boolean): AsyncGenerator<ParsedRecord<DeclaredRecord>[]> {
    const text = decodeChunk(bytes)
    buf = pos >= buf.length ? text : buf.slice(pos) + text
    pos = 0
    consume(final)
    for (const b of out) {
      yield b
      signal?.throwIfAborted()
    }
    out.length = 0
  }
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (chunk.length > 0) sawBytes = true
    let bytes = chunk
    if (head) {
      head = Buffer.concat([head, chunk])
      if (head.length < 512 && head.indexOf('?>') === -1 && !(head.length > 0 && head[0] !== 0x3c && head[0] !== 0xef)) continue
      bytes = openDecoder(head)
      head = undefined
    }
    yield* feed(bytes, false)
  }
  if (head && head.length > 0) yield* feed(openDecoder(head), false)
  signal?.throwIfAborted()
  if (!sawBytes || !decode) throw new FileRejection('empty_file', `${where}: the file is empty (rule empty_file)`, { line: 1 })
  const rest = decodeChunk(undefined)
  buf = buf.slice(pos) + rest
  pos = 0
  if (buf.trim() === '' && state === 'head') throw new FileRejection('empty_file', `${where}: the file is empty (rule empty_file)`, { line: 1 })
  consume(true)
  if (declaration.root && !new RegExp(`</${escapeRegExp(declaration.root)}\\s*>`).test(tail)) {
    throw new FileRejection('truncated', `${where}: no </${declaration.root}> end tag: the file is cut short (rule truncated)`, { line: tailLine + countNewlines(tail) })
  }
  if (declaration.trailer) {
    const tree = envelope(tail, tailLine, declaration.trailer.element)
    if (tree === null) throw new FileRejection('truncated', `${where}: no <${declaration.trailer.element}> trailer after the records: the file is cut short (rule truncated)`, { line: tailLine })
    checkEnvelope(tree, declaration.trailer, 'wrong_schema')
  }
  if (new RegExp(`${escapeRegExp(open)}[\\s/>]`).test(tail)) {
    throw new FileRejection('wrong_schema', `${where}: a <${declaration.record}> after the trailer or another element (rule wrong_schema)`, { line: tailLine })
  }
  if (recordIndex > 0) {
    const stray = strayAfterRecords(tail, declaration.trailer?.element, declaration.root)
    if (stray !== undefined) {
      throw new FileRejection(
        'wrong_schema',
        `${where}: line ${tailLine + countNewlines(tail, 0, stray)}: text or an element other than ${declaration.trailer ? `the <${declaration.trailer.element}> trailer and ` : ''}the root end tag after the last <${declaration.record}> (rule wrong_schema)`,
        { line: tailLine + countNewlines(tail, 0, stray) },
      )
    }
  }
  if (expectedCount !== undefined && expectedCount !== recordIndex) {
    throw new FileRejection('count_mismatch', `${where}: the file announces ${expectedCount} records and holds ${recordIndex} (rule count_mismatch)`)
  }
  for (const b of out) yield b
  if (batch.length > 0) yield batch
}
