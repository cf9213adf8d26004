import { ConfigError } from '../../../config/config.ts'
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
        recipient: recipientCode(load.format, load.flow.id, load.deps.env ?? process.env),
      }),
    ),
  checkSettings: (format, flowId, env) => {
    recipientCode(format, flowId, env)
  },
}

/**
 * The code a flow's declared `recipient` must carry (the département's, from the variable it names), or undefined
 * when the flow declares none. Unset, it is a ConfigError naming the flow and the variable: the file stays for the
 * next run instead of being rejected.
 */
export function recipientCode(format: XmlRecordsDeclaration, flowId: string, env: NodeJS.ProcessEnv): string | undefined {
  const recipient = format.header?.recipient ?? format.trailer?.recipient
  if (!recipient) return undefined
  const value = env[recipient.env]?.trim()
  if (!value) throw new ConfigError([`flow "${flowId}": environment variable ${recipient.env} (format.${format.header?.recipient ? 'header' : 'trailer'}.recipient) is not set: the code of the département whose files this flow takes, as the files write it (e.g. 93, 06, 2A, 974)`])
  return value
}
