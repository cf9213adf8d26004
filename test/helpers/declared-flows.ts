import path from 'node:path'
import { loadOrientationsRecords, type OrientationsLoadContext, type OrientationsLoadResult } from '../../src/assignments/load-orientations.ts'
import type { OrientationRow } from '../../src/assignments/orientation-row.ts'
import type { Queryable } from '../../src/db/db.ts'
import { guardReader } from '../../src/ingestion/guard-reader.ts'
import type { FranceTravailFileKind } from '../../src/fixtures/france-travail/france-travail-records.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import type { ByteMeter } from '../../src/ingestion/byte-meter.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import type { CsvRecordsDeclaration } from '../../src/ingestion/formats/csv-records/declaration.ts'
import { CsvColumns, readCsvDeclared } from '../../src/ingestion/formats/csv-records/read-csv-declared.ts'
import { constantsFor, detectKind, type DeclaredRecord } from '../../src/ingestion/formats/declared/declared-record.ts'
import { orientationRowOf } from '../../src/ingestion/formats/declared/targets/assignments.ts'
import type { ReaderLimits } from '../../src/ingestion/reader-limits.ts'
import type { ParsedRecord } from '../../src/ingestion/records/parsed-record.ts'

/**
 * The France Travail and orientations flows read through their shipped declarations (flows/*.yaml on the generic
 * csv-records format), with the record shapes their tests were written against: what a test asserts about these
 * flows is what the YAML declares, not a dedicated reader.
 */
const FLOWS = loadFlows(path.resolve(import.meta.dirname, '../../flows'))

export function shippedCsvFormat(flowId: string): CsvRecordsDeclaration {
  const format = FLOWS.get(flowId)?.format
  if (!format || format.type !== 'csv-records') throw new Error(`flows/${flowId}.yaml is missing or not a csv-records flow`)
  return format
}

export type { FranceTravailFileKind }

export interface FranceTravailRow {
  recordIndex: number
  line: number
  nir13: string
  identifiantpe: string
  dtnai: string
  etat: 'inscription' | 'cessation' | 'radiation'
  date: string
  code: string
  motif: string | undefined
  codeinsee: string | undefined
  localite: string | undefined
  adresse: string | undefined
  ale: string | undefined
}

export interface ReadFranceTravailOptions {
  kind: FranceTravailFileKind
  encoding: CsvRecordsDeclaration['encoding'] | string
  delimiter: string
  header: boolean
  fileLabel: string
  batchSize?: number
  signal?: AbortSignal
  limits?: ReaderLimits
  meter?: ByteMeter
}

function franceTravailRowOf(r: DeclaredRecord): FranceTravailRow {
  const v = r.values as Record<string, string | undefined>
  return {
    recordIndex: r.recordIndex,
    line: r.line,
    nir13: v['personne.nir'] as string,
    identifiantpe: v['franceTravail.identifiant'] as string,
    dtnai: v['personne.dateNaissance'] as string,
    etat: v['franceTravail.etat'] as FranceTravailRow['etat'],
    date: v['franceTravail.dateEtat'] as string,
    code: v['franceTravail.code'] as string,
    motif: v['franceTravail.motif'],
    codeinsee: v['franceTravail.codeInsee'],
    localite: v['franceTravail.localite'],
    adresse: v['franceTravail.adresse'],
    ale: v['franceTravail.agence'],
  }
}

/** flows/france-travail.yaml's reader, with the encoding, delimiter and header a test gives. */
export async function* readFranceTravailFile(file: string, options: ReadFranceTravailOptions): AsyncGenerator<ParsedRecord<FranceTravailRow>[]> {
  const declaration = { ...shippedCsvFormat('france-travail'), encoding: options.encoding as CsvRecordsDeclaration['encoding'], delimiter: options.delimiter, header: options.header }
  for await (const batch of readCsvDeclared(file, declaration, options)) {
    yield batch.map((r) => (r.ok ? { ok: true as const, value: franceTravailRowOf(r.value) } : r))
  }
}

export function detectFranceTravailKind(fileName: string, kinds: readonly { kind: string; pattern: string }[]): string | undefined {
  return detectKind(fileName, kinds)
}

export interface ReadOrientationsOptions {
  encoding: string
  delimiter: string
  dateFormat: 'DD/MM/YYYY' | 'YYYY-MM-DD'
  fileLabel: string
  batchSize?: number
  signal?: AbortSignal
  limits?: ReaderLimits
}

function orientationsFormat(dateFormat: 'DD/MM/YYYY' | 'YYYY-MM-DD', encoding?: string, delimiter?: string): CsvRecordsDeclaration {
  const shipped = shippedCsvFormat('orientations')
  return { ...shipped, date_format: [dateFormat], encoding: (encoding ?? shipped.encoding) as CsvRecordsDeclaration['encoding'], delimiter: delimiter ?? shipped.delimiter }
}

/** flows/orientations.yaml's reader, with the encoding, delimiter and date format a test gives. */
export async function* readOrientationsFile(file: string, options: ReadOrientationsOptions): AsyncGenerator<ParsedRecord<OrientationRow>[]> {
  const declaration = orientationsFormat(options.dateFormat, options.encoding, options.delimiter)
  for await (const batch of readCsvDeclared(file, declaration, { ...options, kind: declaration.kind })) {
    yield batch.map((r) => (r.ok ? { ok: true as const, value: orientationRowOf(r.value) } : r))
  }
}

export type OrientationColumn = 'numdemrsa' | 'rolepers' | 'organisme' | 'nir' | 'dtnai' | 'siret' | 'email' | 'debut' | 'fin'

/** One orientations record checked against columns given by name (as a header would give them). */
export function validateOrientationRecord(
  cells: readonly string[],
  at: { columns: readonly OrientationColumn[]; dateFormat: 'DD/MM/YYYY' | 'YYYY-MM-DD'; recordIndex: number; line: number },
): ParsedRecord<OrientationRow> {
  const declaration = orientationsFormat(at.dateFormat)
  const plan = new CsvColumns(declaration, declaration.kind)
  const fieldAt = at.columns.map((c) => declaration.fields.findIndex((f) => f.name === c))
  const r = plan.record(cells, { name: 'header', width: fieldAt.length, fieldAt }, at, constantsFor(declaration, declaration.kind))
  return r.ok ? { ok: true, value: orientationRowOf(r.value) } : r
}

/** The columns an orientations header names, or why it is refused. */
export function orientationColumnsFromHeader(cells: readonly string[]): { ok: true; columns: OrientationColumn[] } | { ok: false; problem: string } {
  const declaration = orientationsFormat('DD/MM/YYYY')
  const plan = new CsvColumns(declaration, declaration.kind)
  try {
    const columns = plan.fromHeader(cells, { line: 1, where: 'header' })
    return { ok: true, columns: columns.fieldAt.map((f) => declaration.fields[f]?.name as OrientationColumn) }
  } catch (error) {
    if (error instanceof FileRejection) return { ok: false, problem: error.message }
    throw error
  }
}

/** Reads and loads one orientations file through flows/orientations.yaml, inside the caller's transaction. */
export function loadOrientationsFile(tx: Queryable, ctx: OrientationsLoadContext, file: { path: string } & ReadOrientationsOptions): Promise<OrientationsLoadResult> {
  const { path: filePath, ...options } = file
  return loadOrientationsRecords(tx, ctx, guardReader(readOrientationsFile(filePath, options), options.fileLabel))
}
