import { isApiFlowDocument } from '../exchange/france-travail-api/is-api-flow.ts'
import { DeclarationError } from '../declarations/declaration-error.ts'
import { readYamlDir, type YamlDirReading } from '../declarations/read-yaml-dir.ts'
import { FlowSchema, type Flow } from './flow.ts'

/** Reads every `flows/<id>.yaml` (sub-folders such as flows/retention/ are not flows), listing every problem. */
export function readFlows(dir: string): YamlDirReading<Flow> {
  const reading = readYamlDir(dir, FlowSchema, { kind: 'flow', skipDocument: isApiFlowDocument })
  return { ...reading, entries: new Map([...reading.entries].map(([id, flow]) => [id, { ...flow, id }])) }
}

/** readFlows, throwing a DeclarationError when any file is wrong (entry points use loadDeclarations instead). */
export function loadFlows(dir: string): Map<string, Flow> {
  const { entries, problems } = readFlows(dir)
  if (problems.length > 0) throw new DeclarationError(problems)
  return entries
}
