import type { ReadDeclaredOptions } from '../declared/read-options.ts'
import type { CanonicalValues } from '../../canonical/map-records.ts'
import { readCsvRecords } from '../../csv/read-csv-records.ts'
import { FileRejection } from '../../file-rejection.ts'
import type { ParsedRecord } from '../../records/parsed-record.ts'
import { RecordRules, constantsFor, type DeclaredRecord } from '../declared/declared-record.ts'
import type { CsvRecordsDeclaration } from './declaration.ts'

/**
 * Reads a file of a `csv-records` flow as batches of checked, mapped records, in bounded memory (the CSV side is
 * src/ingestion/csv/read-csv-records.ts: decoding, quoting, line counting, limits, truncation). The columns come
 * from the header or the layouts (declaration.ts); each record is checked field by field (RecordRules) and a
 * broken rule is `{ ok: false, ... }` naming field and rule, never the value.
 */
export type ReadCsvDeclaredOptions = ReadDeclaredOptions

/** Where each compiled field's text is in a record: the cell index, or -1 when the file has no such column. */
export interface Columns {
  name: string
  /** cell index → field index */
  fieldAt: number[]
  width: number
}

/** A header cell or declared name as compared: lowercase, no accents, letters and digits only (`Date début` → `datedebut`). */
export function normaliseHeaderCell(cell: string): string {
  return cell
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
}

/** Drops empty cells at the end of a record, down to `minimum` cells (trailing separators). */
function dropTrailingEmptyCells(cells: readonly string[], minimum = 0): readonly string[] {
  let end = cells.length
  while (end > minimum && (cells[end - 1] ?? '').trim() === '') end--
  return end === cells.length ? cells : cells.slice(0, end)
}

/** The compiled column plan of a declaration for one kind of file. */
export class CsvColumns {
  readonly rules: RecordRules
  private readonly names: string[][]
  private readonly byName = new Map<string, number>()
  readonly layouts: Columns[] | undefined
  /** Scratch: the texts of the record being checked, by field. */
  private readonly raw: (string | undefined)[]

  constructor(
    readonly declaration: CsvRecordsDeclaration,
    readonly kind: string,
  ) {
    this.rules = new RecordRules(declaration)
    this.raw = declaration.fields.map(() => undefined)
    this.names = declaration.fields.map((f) => (f.column === undefined ? [f.name] : typeof f.column === 'string' ? [f.column] : f.column).map(normaliseHeaderCell))
    declaration.fields.forEach((f, i) => this.byName.set(f.name, i))
    this.layouts = declaration.layouts
      ?.filter((l) => !l.kinds || l.kinds.includes(kind))
      .map((l) => ({ name: l.name, width: l.columns.length, fieldAt: l.columns.map((c) => this.byName.get(c) as number) }))
  }

  /** The columns a header announces, or a FileRejection naming the line (never a cell's text). */
  fromHeader(cells: readonly string[], at: { line: number; where: string }): Columns {
    const normalised = dropTrailingEmptyCells(cells).map(normaliseHeaderCell)
    if (this.layouts) {
      const found = this.layouts.find((l) => l.width === normalised.length && l.fieldAt.every((f, i) => (this.names[f] as string[]).includes(normalised[i] as string)))
      if (found) return found
      const expected = this.layouts.map((l) => l.fieldAt.map((f) => this.rules.fields[f]?.name).join(this.declaration.delimiter)).join(' or ')
      throw new FileRejection('wrong_schema', `${at.where}: line ${at.line}: the header matches no ${this.kind} layout (expected ${expected}) (rule wrong_schema)`, { line: at.line })
    }
    const bad = (problem: string) => new FileRejection('bad_header', `${at.where}: line ${at.line}: ${problem} (rule bad_header)`, { line: at.line })
    const fieldAt: number[] = []
    for (const [i, name] of normalised.entries()) {
      const field = this.names.findIndex((names) => names.includes(name))
      if (field === -1) throw bad(`column ${i + 1} of the header is not a column of the flow`)
      if (fieldAt.includes(field)) throw bad(`column ${this.rules.fields[field]?.name} appears twice in the header`)
      fieldAt.push(field)
    }
    const has = (name: string) => fieldAt.includes(this.byName.get(name) as number)
    for (const f of this.declaration.fields) if (f.required && !has(f.name)) throw bad(`the header has no ${f.name} column`)
    for (const c of this.declaration.checks) {
      if (c.one_group_of && !c.one_group_of.some((group) => group.every(has))) {
        throw bad(`the header has none of the column groups ${c.one_group_of.map((g) => g.join(' + ')).join(', ')}`)
      }
    }
    return { name: 'header', width: fieldAt.length, fieldAt }
  }

  /** Without a header: the layout whose width fits the record (exact, else the longest its trailing empty cells allow). */
  fromCellCount(cells: readonly string[]): Columns | undefined {
    if (!this.layouts) {
      const fieldAt: number[] = []
      this.declaration.fields.forEach((f, i) => (fieldAt[(f.position as number) - 1] = i))
      for (let i = 0; i < fieldAt.length; i++) fieldAt[i] ??= -1
      return { name: 'positions', width: fieldAt.length, fieldAt }
    }
    const exact = this.layouts.find((l) => l.width === cells.length)
    if (exact) return exact
    const trimmed = dropTrailingEmptyCells(cells).length
    return [...this.layouts].reverse().find((l) => l.width >= trimmed && l.width < cells.length)
  }

  /** Checks one record against the file's columns. */
  record(cells: readonly string[], columns: Columns, at: { recordIndex: number; line: number }, constants: CanonicalValues): ParsedRecord<DeclaredRecord> {
    const { width, fieldAt } = columns
    const record = cells.length > width ? dropTrailingEmptyCells(cells, width) : cells
    if (record.length !== width && !(columns.name === 'positions' && record.length >= width)) {
      return { ok: false, recordIndex: at.recordIndex, line: at.line, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] }
    }
    const raw = this.raw
    raw.fill(undefined)
    for (let i = 0; i < width; i++) {
      const f = fieldAt[i] as number
      if (f !== -1) raw[f] = record[i]
    }
    return this.rules.build(raw, at, constants)
  }
}

export async function* readCsvDeclared(path: string, declaration: CsvRecordsDeclaration, options: ReadCsvDeclaredOptions): AsyncGenerator<ParsedRecord<DeclaredRecord>[]> {
  const plan = new CsvColumns(declaration, options.kind)
  const constants = constantsFor(declaration, options.kind)
  let columns: Columns | undefined
  yield* readCsvRecords<DeclaredRecord>(path, {
    encoding: declaration.encoding,
    delimiter: declaration.delimiter,
    quote: declaration.quote,
    fileLabel: options.fileLabel,
    batchSize: options.batchSize,
    signal: options.signal,
    limits: options.limits,
    meter: options.meter,
    open: options.open,
    hasHeader: declaration.header,
    header(cells, at) {
      columns = plan.fromHeader(cells, at)
    },
    record(cells, at) {
      columns ??= plan.fromCellCount(cells)
      return columns ? plan.record(cells, columns, at, constants) : { ok: false, recordIndex: at.recordIndex, line: at.line, key: undefined, issues: [{ field: 'record', rule: 'column_count' }] }
    },
    end({ records, headerSeen, where }) {
      if (declaration.header && !headerSeen) throw new FileRejection('empty_file', `${where}: no header and no record (rule empty_file)`, { line: 1 })
      if (records === 0 && !declaration.header) throw new FileRejection('empty_file', `${where}: no record (rule empty_file)`, { line: 1 })
      if (records > 0 && !columns) throw new FileRejection('wrong_schema', `${where}: no record has the columns of a ${options.kind} file (rule wrong_schema)`, { line: 1 })
    },
  })
}
