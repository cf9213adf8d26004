import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { isApiFlowDocument } from '../exchange/france-travail-api/is-api-flow.ts'
import { FlowSchema, type Flow } from './flow.ts'

export class DeclarationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'DeclarationError'
  }
}

/** Loads and validates every `flows/<id>.yaml` (sub-folders such as flows/retention/ are not flows). */
export function loadFlows(dir: string): Map<string, Flow> {
  const problems: string[] = []
  const flows = new Map<string, Flow>()
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort()
  for (const file of files) {
    const id = file.replace(/\.ya?ml$/, '')
    const where = path.join(path.basename(dir), file)
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id)) {
      problems.push(`${where}: the file name is the flow id and must be kebab-case (got "${id}")`)
      continue
    }
    let raw: unknown
    try {
      raw = parseYaml(readFileSync(path.join(dir, file), 'utf8'))
    } catch (error) {
      problems.push(`${where}: not valid YAML: ${(error as Error).message}`)
      continue
    }
    // Partner-API flows (source.type francetravail-api) are loaded by src/exchange/france-travail-api/api-flow.ts.
    if (isApiFlowDocument(raw)) continue
    const parsed = FlowSchema.safeParse(raw)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
      continue
    }
    if (flows.has(id)) problems.push(`${where}: flow id "${id}" is declared twice`)
    flows.set(id, { ...parsed.data, id })
  }
  if (problems.length > 0) throw new DeclarationError(problems)
  return flows
}
