import { readerLimits } from '../../reader-limits.ts'
import { loadDeclared } from '../declared/load-declared.ts'
import type { FlowFormat } from '../flow-format.ts'
import { CsvRecordsDeclarationSchema, type CsvRecordsDeclaration } from './declaration.ts'
import { readCsvDeclared } from './read-csv-declared.ts'

/** Delimited text whose fields the flow declares in YAML (declaration.ts): France Travail, orientations, SPIE... */
export const csvRecords: FlowFormat<CsvRecordsDeclaration> = {
  type: 'csv-records',
  declaration: CsvRecordsDeclarationSchema,
  load: (load) =>
    loadDeclared(load, (kind) =>
      readCsvDeclared(load.file.path, load.format, {
        kind,
        fileLabel: load.file.name,
        signal: load.options.signal,
        limits: readerLimits(load.flow.limits),
        meter: load.report.meter,
        open: load.open,
      }),
    ),
}
