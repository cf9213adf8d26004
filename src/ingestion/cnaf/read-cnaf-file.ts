import { createReadStream } from 'node:fs'
import type { ByteMeter } from '../byte-meter.ts'
import { createDecoder, supportedEncoding, type Decode, type SupportedEncoding } from '../decode/text-encoding.ts'
import { readXmlPrologStart } from '../decode/xml-declaration.ts'
import { FileRejection } from '../file-rejection.ts'
import { checkWellFormed, lineOfOffset } from './check-well-formed.ts'
import { CnafFileCutter, type CutPiece } from './cut-cnaf-file.ts'
import { checkFluxNature, IdentificationFluxSchema, TransmissionFluxSchema, type FluxNatureExpectation } from './flux-envelope-schema.ts'
import type { CnafFoyer, CnafHeader, CnafTrailer } from './foyer.ts'
import type { ParsedRecord } from '../records/parsed-record.ts'
import { createRecordBatchParser, type BatchFault, type BatchResult, type RecordBatch, type RecordBatchParser } from './parse-record-batch.ts'
import { RecordParsePool } from './parse-pool.ts'
import { parseRecordXml, type RecordParser } from './parse-record-xml.ts'
import { fieldPath, issueRule } from './xsd-values.ts'
import { DEFAULT_READER_LIMITS, type ReaderLimits } from '../reader-limits.ts'

/**
 * Streams a CNAF VRSB0801 file (CAF or MSA beneficiary flow): the header, then the records in file order, in
 * batches, each one a validated CnafFoyer or a rejected record (field and rule, never the value), then the
 * trailer once the whole file has been read and checked.
 *
 * Anything that makes the whole file untrustworthy throws a FileRejection naming the file, the line or record
 * and the rule: not well-formed anywhere (blocks nothing is taken from included), a DOCTYPE or entity declaration,
 * a root other than Racine, a missing or invalid IdentificationFlux, a truncated file, a trailer count that is not
 * the number of InfosFoyerRSA, an unsupported encoding, an empty file, content after the root. Records are handed
 * out as they are read, so a rejection may come after some batches: the consumer loads the file in one
 * transaction and rolls back.
 *
 * Memory stays bounded whatever the file holds: 1 MiB reads, one incomplete element (at most the flow's
 * `limits.max_record_bytes`, 1 MiB by default; text, attributes and depth bounded too: src/ingestion/reader-limits.ts),
 * one batch of records, and with `workers` > 0 (records parsed in worker threads, parse-pool.ts) at most
 * `2 × workers` batches in flight.
 */
export type CnafEvent =
  | { type: 'header'; header: CnafHeader; line: number }
  | { type: 'records'; records: ParsedRecord<CnafFoyer>[] }
  | { type: 'trailer'; trailer: CnafTrailer }

export interface ReadCnafFileOptions {
  /** Encoding when the XML declaration names none (the flow's declared encoding). */
  fallbackEncoding: string
  /** FONORG values the flow may carry; a foyer of another organisme is a rejected record. */
  organismes: readonly string[]
  /**
   * NATFLUX and TYPEFLUX values the flow takes (default: NATFLUX=D, any TYPEFLUX). The header is checked against
   * them first: a file of another nature is rejected whole (`wrong_flow_nature`, `wrong_flow_type`).
   */
  expected?: FluxNatureExpectation
  /** How the file is named in rejection messages (e.g. its remote name). */
  fileLabel: string
  /** Records per `records` event (default 500). */
  batchSize?: number
  signal?: AbortSignal
  /** Told how many bytes of the file were read so far (for a progress bar driven by the file size). */
  meter?: ByteMeter
  /**
   * Worker threads parsing records (default 0: in the calling thread). With the default `scan` parser one
   * thread parses ~25-35 MB/s, and on a 2-core machine shared with PostgreSQL a worker adds CPU (results are
   * copied back to this thread), ~50 MB of memory and ~0.5 s of start-up for no end-to-end gain; it helps with
   * the `fast-xml-parser` parser or on machines with cores to spare (bench/parse-cnaf.bench.ts).
   */
  workers?: number
  /**
   * How records are parsed: `scan` (default: the tree is built by the well-formedness scan) or
   * `fast-xml-parser` (the same tree, ~4× slower; see parse-record-xml.ts).
   */
  parser?: RecordParser
  /** The flow's reader limits (default DEFAULT_READER_LIMITS); each one exceeded is a file rejection with its rule. */
  limits?: ReaderLimits
}

const READ_CHUNK_BYTES = 1024 * 1024
const DEFAULT_EXPECTATION: FluxNatureExpectation = { natflux: ['D'], typeflux: ['M', 'I', 'R'] }

/** Accumulates record bytes into one transferable buffer per batch (for the worker pool). */
class BatchBuilder {
  private bytes: Uint8Array
  private length = 0
  private ends: number[] = []
  private lines: number[] = []
  private firstIndex = 0

  constructor(private readonly initialBytes: number) {
    this.bytes = new Uint8Array(0)
  }

  get count(): number {
    return this.ends.length
  }

  add(piece: Extract<CutPiece, { kind: 'record' }>): void {
    if (this.ends.length === 0) this.firstIndex = piece.recordIndex
    const needed = this.length + piece.bytes.byteLength
    if (needed > this.bytes.byteLength) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.bytes.byteLength * 2, this.initialBytes))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
    }
    this.bytes.set(piece.bytes, this.length)
    this.length = needed
    this.ends.push(needed)
    this.lines.push(piece.line)
  }

  take(): RecordBatch {
    const batch: RecordBatch = {
      bytes: this.bytes.subarray(0, this.length),
      ends: Uint32Array.from(this.ends),
      lines: Uint32Array.from(this.lines),
      firstIndex: this.firstIndex,
    }
    this.bytes = new Uint8Array(0)
    this.length = 0
    this.ends = []
    this.lines = []
    return batch
  }
}

function rejectionFromResult(result: BatchResult): ParsedRecord<CnafFoyer>[] {
  if (!result.ok) throw rejectionOf(result.fault)
  return result.records
}

function rejectionOf(fault: BatchFault): FileRejection {
  return new FileRejection(fault.code, fault.message, { recordIndex: fault.recordIndex, line: fault.line })
}

export async function* readCnafFile(path: string, options: ReadCnafFileOptions): AsyncGenerator<CnafEvent> {
  const { fileLabel, signal } = options
  const batchSize = options.batchSize ?? 500
  const label = `file "${fileLabel}"`
  const fallback = supportedEncoding(options.fallbackEncoding)
  if (!fallback) throw new Error(`${label}: the flow's encoding "${options.fallbackEncoding}" is not supported`)
  signal?.throwIfAborted()
  const workers = options.workers ?? 0

  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES, signal })
  if (options.meter) options.meter.bytesRead = () => stream.bytesRead
  const limits = options.limits ?? DEFAULT_READER_LIMITS
  const check = { limits }
  const cutter = new CnafFileCutter({ fileLabel, maxElementBytes: limits.maxRecordBytes })
  const builder = new BatchBuilder(batchSize * 4096)
  const inFlight: Promise<BatchResult>[] = []
  /** Records parsed in this thread, not yet handed out. */
  let parsed: ParsedRecord<CnafFoyer>[] = []
  let pool: RecordParsePool | undefined
  let inline: RecordBatchParser | undefined
  let encoding: SupportedEncoding | undefined
  let decode: Decode | undefined
  let head: Buffer | undefined
  let trailer: CnafTrailer | undefined
  let trailerLine = 0

  const decodeOrReject = (bytes: Uint8Array, line: number): string => {
    try {
      return (decode as Decode)(bytes)
    } catch {
      throw new FileRejection('not_well_formed', `${label}: line ${line}: invalid ${encoding} byte sequence`, { line })
    }
  }

  const checkMisc = (text: string, line: number, what: string): void => {
    const fault = checkWellFormed(text, 'misc', undefined, undefined, check)
    if (fault) {
      const at = line + lineOfOffset(text, fault.offset) - 1
      throw new FileRejection(fault.rule, `${label}: line ${at}: ${what}: ${fault.reason}`, { line: at })
    }
  }

  /** Decides the encoding from the first bytes (BOM, XML declaration); undefined while more bytes are needed. */
  const chooseEncoding = (bytes: Buffer, final: boolean): SupportedEncoding | undefined => {
    const start = readXmlPrologStart(bytes, final)
    if (!start.ok) {
      if (start.rule === 'need_more_bytes') return undefined
      if (start.rule === 'utf16_or_ucs4') throw new FileRejection('unsupported_encoding', `${label}: UTF-16 or UCS-4 text is not supported`)
      if (start.rule === 'unterminated_declaration') throw new FileRejection('truncated', `${label}: line 1: file ends inside the XML declaration`, { line: 1 })
      throw new FileRejection('not_well_formed', `${label}: line 1: malformed XML declaration`, { line: 1 })
    }
    if (start.encodingLabel === undefined) {
      if (start.utf8Bom) return 'utf-8'
      return fallback
    }
    const declared = supportedEncoding(start.encodingLabel)
    if (!declared) throw new FileRejection('unsupported_encoding', `${label}: encoding "${start.encodingLabel}" is not supported`)
    if (start.utf8Bom && declared !== 'utf-8') {
      throw new FileRejection('unsupported_encoding', `${label}: UTF-8 byte order mark but encoding "${start.encodingLabel}" declared`)
    }
    return declared
  }

  const startParsing = (chosen: SupportedEncoding): void => {
    encoding = chosen
    decode = createDecoder(chosen)
    const settings = { encoding: chosen, organismes: [...options.organismes], fileLabel, parser: options.parser, limits: { ...limits } }
    if (workers > 0) pool = new RecordParsePool(workers, settings)
    else inline = createRecordBatchParser(settings)
  }

  const handlePrologue = (piece: Extract<CutPiece, { kind: 'prolog' }>): void => {
    const declarationEnd = readXmlPrologStart(piece.bytes, true)
    const text = decodeOrReject(piece.bytes.subarray(declarationEnd.ok ? declarationEnd.end : 0), 1)
    const rootStart = text.lastIndexOf('<')
    checkMisc(text.slice(0, rootStart), 1, 'before the root element')
    const fault = checkWellFormed(`${text.slice(rootStart)}</Racine>`, 'element', undefined, undefined, check)
    if (fault) {
      const line = lineOfOffset(text, rootStart)
      throw new FileRejection(fault.rule, `${label}: line ${line}: <Racine> start tag: ${fault.reason}`, { line })
    }
  }

  const handleHeader = (piece: Extract<CutPiece, { kind: 'header' }>): CnafEvent => {
    const text = decodeOrReject(piece.bytes, piece.line)
    const xml = parseRecordXml(text, { repeatable: new Set(), skipped: new Set(), check })
    if (!xml.ok) {
      const line = piece.line + lineOfOffset(text, xml.fault.offset) - 1
      throw new FileRejection(xml.fault.rule, `${label}: line ${line}: IdentificationFlux: not well-formed XML: ${xml.fault.reason}`, { line })
    }
    const nature = checkFluxNature(xml.tree, options.expected ?? DEFAULT_EXPECTATION)
    if (nature) throw new FileRejection(nature.code, `${label}: line ${piece.line}: ${nature.message}`, { line: piece.line })
    const parsed = IdentificationFluxSchema.safeParse(xml.tree)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue ? `${fieldPath(issue.path) || 'IdentificationFlux'}: ${issueRule(issue)}` : 'invalid'
      throw new FileRejection('bad_header', `${label}: line ${piece.line}: IdentificationFlux.${where}`, { line: piece.line })
    }
    return { type: 'header', header: parsed.data, line: piece.line }
  }

  const handleTrailer = (piece: Extract<CutPiece, { kind: 'trailer' }>): CnafTrailer => {
    const text = decodeOrReject(piece.bytes, piece.line)
    const xml = parseRecordXml(text, { repeatable: new Set(), skipped: new Set(), check })
    if (!xml.ok) {
      const line = piece.line + lineOfOffset(text, xml.fault.offset) - 1
      throw new FileRejection(xml.fault.rule, `${label}: line ${line}: TransmissionFlux: not well-formed XML: ${xml.fault.reason}`, { line })
    }
    const parsed = TransmissionFluxSchema.safeParse(xml.tree)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue ? `${fieldPath(issue.path) || 'TransmissionFlux'}: ${issueRule(issue)}` : 'invalid'
      throw new FileRejection('wrong_schema', `${label}: line ${piece.line}: TransmissionFlux.${where}`, { line: piece.line })
    }
    return parsed.data
  }

  /** Hands out the records parsed here; sends the current batch to the pool and yields the batches that are done, oldest first. */
  async function* flush(all: boolean): AsyncGenerator<CnafEvent> {
    if (parsed.length > 0) {
      const records = parsed
      parsed = []
      yield { type: 'records', records }
    }
    if (builder.count > 0 && pool) inFlight.push(pool.submit(builder.take()))
    const keep = all ? 0 : (pool?.size ?? 0) * 2
    while (inFlight.length > keep) {
      const result = await (inFlight.shift() as Promise<BatchResult>)
      signal?.throwIfAborted()
      yield { type: 'records', records: rejectionFromResult(result) }
    }
  }

  async function* handle(piece: CutPiece): AsyncGenerator<CnafEvent> {
    switch (piece.kind) {
      case 'prolog':
        handlePrologue(piece)
        return
      case 'misc':
        checkMisc(decodeOrReject(piece.bytes, piece.line), piece.line, 'between elements')
        return
      case 'header':
        yield handleHeader(piece)
        return
      case 'record':
        if (inline) {
          const result = inline.parseRecord(piece.bytes, piece.recordIndex, piece.line)
          if (!result.ok) throw rejectionOf(result.fault)
          parsed.push(result.record)
          if (parsed.length >= batchSize) yield* flush(false)
        } else {
          builder.add(piece)
          if (builder.count >= batchSize) yield* flush(false)
        }
        return
      case 'trailer':
        trailer = handleTrailer(piece)
        trailerLine = piece.line
        yield* flush(false)
        return
      case 'end': {
        yield* flush(true)
        if (!trailer) throw new Error('unreachable: end of file without a trailer')
        if (trailer.nbtotdosrsatransm !== piece.records) {
          throw new FileRejection(
            'count_mismatch',
            `${label}: line ${trailerLine}: TransmissionFlux.NBTOTDOSRSATRANSM is ${trailer.nbtotdosrsatransm} but the file holds ${piece.records} InfosFoyerRSA`,
            { line: trailerLine },
          )
        }
        yield { type: 'trailer', trailer }
        return
      }
    }
  }

  /**
   * Handles the pieces cut so far. The cutter runs ahead of the parsing: when it finds a fault, the records
   * before it are parsed and handed out first, so that the fault reported is the first one in the file.
   */
  async function* drain(): AsyncGenerator<CnafEvent> {
    for (;;) {
      let piece: CutPiece | undefined
      try {
        piece = cutter.next()
      } catch (error) {
        if (error instanceof FileRejection) yield* flush(true)
        throw error
      }
      if (piece === undefined) return
      yield* handle(piece)
    }
  }

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      signal?.throwIfAborted()
      if (encoding === undefined) {
        head = head ? Buffer.concat([head, chunk]) : chunk
        const chosen = chooseEncoding(head, false)
        if (chosen === undefined) continue
        startParsing(chosen)
        cutter.push(head)
        head = undefined
      } else {
        cutter.push(chunk)
      }
      yield* drain()
    }
    signal?.throwIfAborted()
    if (encoding === undefined) {
      startParsing(chooseEncoding(head ?? Buffer.alloc(0), true) ?? fallback)
      if (head) cutter.push(head)
    }
    cutter.end()
    yield* drain()
  } finally {
    stream.destroy()
    await pool?.close()
  }
}
