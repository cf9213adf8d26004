import { createDecoder, type Decode, type SupportedEncoding } from '../decode/text-encoding.ts'
import type { FileRejectionCode } from '../file-rejection.ts'
import { lineOfOffset } from './check-well-formed.ts'
import type { CnafFoyer } from './foyer.ts'
import type { ParsedRecord } from '../records/parsed-record.ts'
import { REPEATABLE_ELEMENTS, SKIPPED_ELEMENTS } from './foyer-schema.ts'
import { parseRecordXml, type RecordParser } from './parse-record-xml.ts'
import { validateFoyer } from './validate-foyer.ts'
import type { ReaderLimits } from '../reader-limits.ts'

/**
 * The unit of work of record parsing, run in the calling thread or in a worker: a batch of consecutive
 * InfosFoyerRSA elements, as raw bytes, each decoded, checked for well-formedness, parsed and validated.
 */
export interface RecordBatch {
  /** The records' bytes, one after the other. */
  bytes: Uint8Array
  /** End offset (exclusive) of each record in `bytes`; record k starts at ends[k-1] (0 for the first). */
  ends: Uint32Array
  /** Line of each record's first byte in the file. */
  lines: Uint32Array
  /** recordIndex of the first record. */
  firstIndex: number
}

export interface BatchSettings {
  encoding: SupportedEncoding
  organismes: readonly string[]
  fileLabel: string
  /** Default `scan` (see parse-record-xml.ts). */
  parser?: RecordParser
  /** The flow's reader limits (default DEFAULT_READER_LIMITS). */
  limits?: ReaderLimits
}

export type BatchFault = { code: FileRejectionCode; message: string; recordIndex: number; line: number }

export type BatchResult = { ok: true; records: ParsedRecord<CnafFoyer>[] } | { ok: false; fault: BatchFault }

export type RecordResult = { ok: true; record: ParsedRecord<CnafFoyer> } | { ok: false; fault: BatchFault }

export interface RecordBatchParser {
  /** One record's bytes. */
  parseRecord(bytes: Uint8Array, recordIndex: number, line: number): RecordResult
  /** A batch: every record, or the first fault. */
  parse(batch: RecordBatch): BatchResult
}

export function createRecordBatchParser(settings: BatchSettings): RecordBatchParser {
  const decode: Decode = createDecoder(settings.encoding)
  const xmlOptions = { repeatable: REPEATABLE_ELEMENTS, skipped: SKIPPED_ELEMENTS, parser: settings.parser, check: { limits: settings.limits } }
  const where = (recordIndex: number, line: number) => `file "${settings.fileLabel}": record ${recordIndex} (line ${line})`

  const parseRecord = (bytes: Uint8Array, recordIndex: number, line: number): RecordResult => {
    let text: string
    try {
      text = decode(bytes)
    } catch {
      return { ok: false, fault: { code: 'not_well_formed', message: `${where(recordIndex, line)}: invalid ${settings.encoding} byte sequence`, recordIndex, line } }
    }
    let xml: ReturnType<typeof parseRecordXml>
    try {
      xml = parseRecordXml(text, xmlOptions)
    } catch {
      // The well-formedness check passed but the parser still failed: say so without quoting its message.
      return { ok: false, fault: { code: 'not_well_formed', message: `${where(recordIndex, line)}: XML parser error`, recordIndex, line } }
    }
    if (!xml.ok) {
      const faultLine = line + lineOfOffset(text, xml.fault.offset) - 1
      const what = xml.fault.rule === 'doctype_refused' ? 'refused' : xml.fault.rule === 'not_well_formed' ? 'not well-formed XML' : 'over the flow\'s limit'
      return {
        ok: false,
        fault: { code: xml.fault.rule, message: `${where(recordIndex, faultLine)}: ${what}: ${xml.fault.reason}`, recordIndex, line: faultLine },
      }
    }
    return { ok: true, record: validateFoyer(xml.tree, { recordIndex, line, organismes: settings.organismes }) }
  }

  return {
    parseRecord,
    parse(batch) {
      const records: ParsedRecord<CnafFoyer>[] = new Array(batch.ends.length)
      let start = 0
      for (let k = 0; k < batch.ends.length; k++) {
        const end = batch.ends[k] as number
        const result = parseRecord(batch.bytes.subarray(start, end), batch.firstIndex + k, batch.lines[k] as number)
        if (!result.ok) return result
        records[k] = result.record
        start = end
      }
      return { ok: true, records }
    },
  }
}
