import { readerLimits } from '../../reader-limits.ts'
import { loadDeclared } from '../declared/load-declared.ts'
import type { FlowFormat } from '../flow-format.ts'
import { XmlRecordsDeclarationSchema, type XmlRecordsDeclaration } from './declaration.ts'
import { readXmlDeclared } from './read-xml-declared.ts'

/** XML with a repeated record element whose fields the flow declares in YAML by path (declaration.ts). */
export const xmlRecords: FlowFormat<XmlRecordsDeclaration> = {
  type: 'xml-records',
  declaration: XmlRecordsDeclarationSchema,
  load: (load) =>
    loadDeclared(load, (kind) =>
      readXmlDeclared(load.file.path, load.format, {
        kind,
        fileLabel: load.file.name,
        signal: load.options.signal,
        limits: readerLimits(load.flow.limits),
        meter: load.report.meter,
        open: load.open,
      }),
    ),
}
