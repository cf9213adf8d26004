import type { ByteMeter } from '../byte-meter.ts'
import type { ReaderLimits } from '../reader-limits.ts'
import type { ParsedRecord } from '../records/parsed-record.ts'
import { readCsvRecords } from '../csv/read-csv-records.ts'
import { FileRejection } from '../file-rejection.ts'
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
  /** The flow's reader limits (default DEFAULT_READER_LIMITS). */
  limits?: ReaderLimits
  /** Told how many bytes of the file were read so far. */
  meter?: ByteMeter
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
  const { kind } = options
  let layout: FranceTravailLayout | undefined
  yield* readCsvRecords<FranceTravailRow>(path, {
    ...options,
    hasHeader: options.header,
    header(cells, { line, where }) {
      layout = layoutFromHeader(kind, cells)
      if (layout) return
      const expected = layoutsFor(kind)
        .map((l) => l.columns.join(';'))
        .join(' or ')
      throw new FileRejection('wrong_schema', `${where}: line ${line}: the header matches no ${kind} layout (expected ${expected}) (rule wrong_schema)`, { line })
    },
    record(cells, { recordIndex, line }) {
      layout ??= layoutFromCellCount(kind, cells)
      return layout
        ? validateFranceTravailRecord(cells, { kind, layout, recordIndex, line })
        : { ok: false, recordIndex, line, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] }
    },
    end({ records, where }) {
      if (records === 0 && !options.header) throw new FileRejection('empty_file', `${where}: no record (rule empty_file)`, { line: 1 })
      if (records > 0 && !layout) throw new FileRejection('wrong_schema', `${where}: no record has the columns of a ${kind} file (rule wrong_schema)`, { line: 1 })
    },
  })
}
