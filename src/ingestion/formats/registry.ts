import { z } from 'zod'
import { cnafVrsb0801 } from './cnaf-vrsb0801/index.ts'
import { CnafDeclarationSchema } from './cnaf-vrsb0801/declaration.ts'
import { csvRecords } from './csv-records/index.ts'
import { CsvRecordsDeclarationSchema } from './csv-records/declaration.ts'
import type { FlowFormat } from './flow-format.ts'
import { xmlRecords } from './xml-records/index.ts'
import { XmlRecordsDeclarationSchema } from './xml-records/declaration.ts'

/**
 * Every flow format Passerelle reads, by the `type:` of a flow's `format:` block. A new shape of file is one folder
 * beside these exporting a FlowFormat, and one entry here; a new flow in a shape listed here is a YAML file.
 */
export const FormatDeclarationSchema = z.discriminatedUnion('type', [CnafDeclarationSchema, CsvRecordsDeclarationSchema, XmlRecordsDeclarationSchema])

export type FormatDeclaration = z.infer<typeof FormatDeclarationSchema>

type FormatsByType = { [D in FormatDeclaration as D['type']]: FlowFormat<D> }

export const FORMATS: FormatsByType = {
  'cnaf-vrsb0801': cnafVrsb0801,
  'csv-records': csvRecords,
  'xml-records': xmlRecords,
}

/** The format of a flow's `format:` block. */
export function formatOf<D extends FormatDeclaration>(declaration: D): FlowFormat<D> {
  return FORMATS[declaration.type] as unknown as FlowFormat<D>
}
