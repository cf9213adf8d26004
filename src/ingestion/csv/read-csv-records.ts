import { fileOpener, type OpenFile } from '../decrypt/decryption-stage.ts'
import type { ByteMeter } from '../byte-meter.ts'
import { addAbortSignal, pipeline } from 'node:stream'
import { CsvError, parse } from 'csv-parse'
import type { ParsedRecord } from '../records/parsed-record.ts'
import { FileRejection } from '../file-rejection.ts'
import { createTextDecoderStream } from '../decode/decode-text-stream.ts'
import { DEFAULT_READER_LIMITS, type ReaderLimits } from '../reader-limits.ts'

/**
 * The CSV side of every CSV flow (France Travail, orientations): streams a delimited file through the flow's
 * encoding and csv-parse, skips blank lines, counts physical lines (a quoted cell may hold newlines), and hands the
 * caller's `header` and `record` functions each line's cells; yields the validated records in batches, in bounded
 * memory. What no single line shows is decided here too: a quote left open or a malformed file (csv-parse's own
 * message is never passed on: it may quote the content), a last line that is both invalid and unterminated (a
 * file cut short: no trailer counts the records of a CSV file), and whatever `end` finds wrong with the whole.
 * All of these throw a FileRejection, possibly after some batches: the loader's transaction then loads nothing.
 *
 * Bounded whatever the file holds (src/ingestion/reader-limits.ts): a physical line longer than
 * `limits.maxLineChars` (checked while decoding, before csv-parse buffers it), a record whose cells hold more than
 * `limits.maxRecordBytes` characters (csv-parse's max_record_size: a quoted cell may span lines), a cell longer
 * than `limits.maxTextChars` each reject the file with their rule. Record delimiters are given (CRLF or LF), not
 * discovered: csv-parse's discovery rescans a long first line and takes time quadratic in its length.
 */
export interface ReadCsvRecordsOptions<R> {
  encoding: string
  delimiter: string
  /** The quote character (default `"`), or false when fields are never quoted. */
  quote?: string | false
  /** How the file is named in rejection messages (its name, never its content). */
  fileLabel: string
  /** Records per batch; 1,000 by default. */
  batchSize?: number
  signal?: AbortSignal
  /** Whether the first non-blank line is a header, given to `header` (which throws a FileRejection to refuse it). */
  hasHeader: boolean
  header?: (cells: string[], at: { line: number; where: string }) => void
  /** Validates one data line: a record, or `{ ok: false, ... }` naming field and rule, never the value. */
  record: (cells: string[], at: { recordIndex: number; line: number }) => ParsedRecord<R>
  /** Checks on the file as a whole once it is read (before the truncation check); throws a FileRejection. */
  end?: (file: { records: number; headerSeen: boolean; where: string }) => void
  /** The flow's reader limits (default DEFAULT_READER_LIMITS). */
  limits?: ReaderLimits
  /** Told how many bytes of the file were read so far (for a progress bar driven by the file size). */
  meter?: ByteMeter
  /** Opens the file (default: as it is on disk); a flow's `decrypt:` stage deciphers it as it streams. */
  open?: OpenFile
}

export async function* readCsvRecords<R>(path: string, options: ReadCsvRecordsOptions<R>): AsyncGenerator<ParsedRecord<R>[]> {
  const { fileLabel, signal } = options
  const batchSize = Math.max(1, options.batchSize ?? 1000)
  const where = `file "${fileLabel}"`
  const opened = (options.open ?? fileOpener(path, undefined))()
  const source = opened.stream
  if (options.meter) options.meter.bytesRead = opened.bytesRead
  if (signal) addAbortSignal(signal, source)
  const limits = options.limits ?? DEFAULT_READER_LIMITS
  const decoder = createTextDecoderStream({ encoding: options.encoding, fileLabel, maxLineChars: limits.maxLineChars })
  // Empty lines come out as records and are skipped below, so that counting lines needs no per-record info
  // object from csv-parse (which costs a third of the parse time).
  const parser = parse({
    delimiter: options.delimiter,
    quote: options.quote === undefined ? '"' : options.quote,
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: limits.maxRecordBytes,
  })
  pipeline(source, decoder, parser, () => {
    // Errors reach the loop below through the parser, which pipeline destroys with them.
  })

  let headerSeen = false
  let recordIndex = 0
  let nextLine = 1
  let batch: ParsedRecord<R>[] = []
  let last: { record: ParsedRecord<R>; line: number } | undefined
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      const line = nextLine
      nextLine += 1 + newlinesIn(cells)
      if (isBlank(cells)) continue
      const long = longCell(cells, limits.maxTextChars)
      if (long !== -1) {
        throw new FileRejection('text_too_long', `${where}: line ${line}: cell ${long + 1} is longer than ${limits.maxTextChars} characters (the flow's limits.max_text_chars) (rule text_too_long)`, {
          recordIndex,
          line,
        })
      }
      if (options.hasHeader && !headerSeen) {
        headerSeen = true
        options.header?.(cells, { line, where })
        continue
      }
      const parsed = options.record(cells, { recordIndex, line })
      // A full batch is handed out only once the next record exists, so the last record is still here at the end.
      if (batch.length >= batchSize) {
        yield batch
        batch = []
        signal?.throwIfAborted()
      }
      batch.push(parsed)
      last = { record: parsed, line }
      recordIndex++
    }
  } catch (error) {
    throw asRejection(error, where)
  } finally {
    if (!source.destroyed) source.destroy()
    if (!parser.destroyed) parser.destroy()
  }
  signal?.throwIfAborted()
  options.end?.({ records: recordIndex, headerSeen, where })
  // A last line without its line end that breaks a rule was most likely cut in transfer: the file is refused rather
  // than the record rejected, left out (`invalid: skip`: a cut `brsa` would read as "not for the département") or
  // kept with a warning.
  if (last && !decoder.endsWithNewline && (!last.record.ok || last.record.skipped || last.record.warnings)) {
    throw new FileRejection('truncated', `${where}: line ${last.line}: the last line is cut short (rule truncated)`, {
      recordIndex: recordIndex - 1,
      line: last.line,
    })
  }
  if (batch.length > 0) yield batch
}

/** Index of the first cell longer than `max` characters, or -1. */
function longCell(cells: string[], max: number): number {
  for (let i = 0; i < cells.length; i++) if ((cells[i] as string).length > max) return i
  return -1
}

/** An empty line, or one of separators and spaces only. */
function isBlank(cells: string[]): boolean {
  for (const cell of cells) if (cell.trim() !== '') return false
  return true
}

function newlinesIn(cells: string[]): number {
  let count = 0
  for (const cell of cells) {
    if (cell.includes('\n')) count += cell.split('\n').length - 1
  }
  return count
}

/** csv-parse errors become file rejections with a message of our own (theirs may quote the content). */
function asRejection(error: unknown, where: string): unknown {
  if (error instanceof FileRejection) return error
  if (error instanceof CsvError) {
    const line = typeof error.lines === 'number' ? error.lines : undefined
    const at = line === undefined ? '' : `line ${line}: `
    if (error.code === 'CSV_MAX_RECORD_SIZE') {
      return new FileRejection('record_too_large', `${where}: ${at}a record larger than the flow's limits.max_record_bytes (rule record_too_large)`, { line })
    }
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      return new FileRejection('truncated', `${where}: ${at}a quoted field is still open at the end of the file (rule truncated)`, { line })
    }
    return new FileRejection('not_well_formed', `${where}: ${at}not a well-formed CSV file (${error.code}) (rule not_well_formed)`, { line })
  }
  return error
}
