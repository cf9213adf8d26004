import { createReadStream } from 'node:fs'
import { addAbortSignal, pipeline } from 'node:stream'
import { CsvError, parse } from 'csv-parse'
import type { ParsedRecord } from '../cnaf/foyer.ts'
import { FileRejection } from '../file-rejection.ts'
import { createTextDecoderStream } from './decode-text-stream.ts'
import { layoutFromCellCount, layoutFromHeader, layoutsFor, type FranceTravailLayout } from './layouts.ts'
import type { FranceTravailFileKind, FranceTravailRow } from './row.ts'
import { validateFranceTravailRecord } from './validate-france-travail-record.ts'

/**
 * Reads a France Travail CSV file (inscriptions, cessations, radiations or stock; flows.md §2.1) as a stream of
 * batches of validated rows, in bounded memory. A record that breaks a rule comes out as `{ ok: false, ... }`
 * (field and rule, never the value) and the rest of the file goes on; a file that cannot be trusted (not text,
 * empty, a header of no known layout, a quote left open or a last line cut short) throws a `FileRejection`,
 * possibly after some batches were handed out: the loader's transaction then loads nothing of it.
 */
export interface ReadFranceTravailOptions {
  kind: FranceTravailFileKind
  /** As the flow declares it: iso-8859-1, windows-1252, iso-8859-15 or utf-8 (a UTF-8 BOM wins). */
  encoding: string
  delimiter: string
  /** Whether the first line is a header. Without one, the layout is told from the number of columns. */
  header: boolean
  /** How the file is named in rejection messages (its name, never its content). */
  fileLabel: string
  /** Records per batch; 1,000 by default. */
  batchSize?: number
  signal?: AbortSignal
}

/** The kind of a file, from its name: the flow's patterns, case-insensitive, first match wins. */
export function detectFranceTravailKind(
  fileName: string,
  kinds: { kind: FranceTravailFileKind; pattern: string }[],
): FranceTravailFileKind | undefined {
  return kinds.find(({ pattern }) => kindPattern(pattern).test(fileName))?.kind
}

function kindPattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'i')
  } catch (cause) {
    throw new Error(`France Travail kind pattern "${pattern}" is not a valid regular expression: fix format.kinds in the flow declaration`, { cause })
  }
}

export async function* readFranceTravailFile(
  path: string,
  options: ReadFranceTravailOptions,
): AsyncGenerator<ParsedRecord<FranceTravailRow>[]> {
  const { kind, fileLabel, signal } = options
  const batchSize = Math.max(1, options.batchSize ?? 1000)
  const where = `file "${fileLabel}"`

  const source = createReadStream(path, { highWaterMark: 256 * 1024 })
  if (signal) addAbortSignal(signal, source)
  const decoder = createTextDecoderStream({ encoding: options.encoding, fileLabel })
  const parser = parse({
    delimiter: options.delimiter,
    quote: '"',
    relax_column_count: true,
    relax_quotes: true,
    // Empty lines come out as records and are skipped below, so that counting lines needs no per-record info
    // object from csv-parse (which costs a third of the parse time).
  })
  pipeline(source, decoder, parser, () => {
    // Errors reach the loop below through the parser, which pipeline destroys with them.
  })

  let layout: FranceTravailLayout | undefined
  let headerSeen = !options.header
  let recordIndex = 0
  let batch: ParsedRecord<FranceTravailRow>[] = []
  let last: { record: ParsedRecord<FranceTravailRow>; line: number } | undefined
  let nextLine = 1

  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      const line = nextLine
      nextLine += 1 + newlinesIn(cells)
      if (isBlank(cells)) continue
      if (!headerSeen) {
        headerSeen = true
        layout = layoutFromHeader(kind, cells)
        if (!layout) {
          const expected = layoutsFor(kind)
            .map((l) => l.columns.join(';'))
            .join(' or ')
          throw new FileRejection(
            'wrong_schema',
            `${where}: line ${line}: the header matches no ${kind} layout (expected ${expected}) (rule wrong_schema)`,
            { line },
          )
        }
        continue
      }
      layout ??= layoutFromCellCount(kind, cells)
      const parsed: ParsedRecord<FranceTravailRow> = layout
        ? validateFranceTravailRecord(cells, { kind, layout, recordIndex, line })
        : { ok: false, recordIndex, line, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] }
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
  if (recordIndex === 0 && !options.header) {
    throw new FileRejection('empty_file', `${where}: no record (rule empty_file)`, { line: 1 })
  }
  if (recordIndex > 0 && !layout) {
    throw new FileRejection('wrong_schema', `${where}: no record has the columns of a ${kind} file (rule wrong_schema)`, { line: 1 })
  }
  // No trailer counts the records of a CSV file: a last line that is both unterminated and invalid is taken as a
  // file cut short, rather than loading the rest of it as if it were whole.
  if (last && !last.record.ok && !decoder.endsWithNewline) {
    throw new FileRejection('truncated', `${where}: line ${last.line}: the last line is cut short (rule truncated)`, {
      recordIndex: recordIndex - 1,
      line: last.line,
    })
  }
  if (batch.length > 0) yield batch
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
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      return new FileRejection('truncated', `${where}: ${at}a quoted field is still open at the end of the file (rule truncated)`, { line })
    }
    return new FileRejection('not_well_formed', `${where}: ${at}not a well-formed CSV file (${error.code}) (rule not_well_formed)`, { line })
  }
  return error
}
