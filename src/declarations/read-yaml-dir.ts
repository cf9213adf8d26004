import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'

/** What reading one declaration folder gave: the valid entries by id, the file each came from, and every problem. */
export interface YamlDirReading<T> {
  entries: Map<string, T>
  /** Id → file as messages name it (`mappings/orientation.yaml`). */
  files: Map<string, string>
  problems: string[]
}

export interface YamlDirOptions {
  /** What one file declares, as messages name it: `flow`, `purpose`, `policy`. */
  kind: string
  /** How messages name the folder (`flows/retention`); default: its base name. */
  label?: string
  /** File names in the folder that are not entries (`controller.yaml`). */
  skip?: readonly string[]
  /** Documents of the folder that another loader reads (a partner-API flow in flows/): not entries, no problem. */
  skipDocument?: (raw: unknown) => boolean
  /** Problems of one parsed document beyond the schema's own, each `key.path: message` (checked first). */
  extraProblems?: (raw: unknown) => string[]
  /** How a schema issue reads; default `key.path: message`. */
  describeIssue?: (issue: z.core.$ZodIssue, raw: unknown) => string
}

const ID = /^[a-z0-9]+(-[a-z0-9]+)*$/

/**
 * Reads every `<dir>/<id>.yaml` (or `.yml`; sub-folders are not entries): the file name is the id, kebab-case,
 * each document validated by `schema`. Never throws on a bad file: every problem is listed, each naming the file
 * and the key (`mappings/x.yaml: fields[2].field: ...`).
 */
export function readYamlDir<S extends z.ZodType>(dir: string, schema: S, options: YamlDirOptions): YamlDirReading<z.output<S>> {
  const label = options.label ?? path.basename(dir)
  const entries = new Map<string, z.output<S>>()
  const files = new Map<string, string>()
  const problems: string[] = []
  let names: string[]
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !options.skip?.includes(e.name))
      .map((e) => e.name)
      .sort()
  } catch (error) {
    return { entries, files, problems: [`${label}/: cannot read the ${options.kind} folder: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`] }
  }
  for (const name of names) {
    const id = name.replace(/\.ya?ml$/, '')
    const where = `${label}/${name}`
    if (!ID.test(id)) {
      problems.push(`${where}: (file name): the file name is the ${options.kind} id and must be kebab-case (got "${id}")`)
      continue
    }
    const other = files.get(id)
    if (other !== undefined) {
      problems.push(`${where}: (file name): ${options.kind} id "${id}" is declared twice (${other} and ${where}): keep one file`)
      continue
    }
    files.set(id, where)
    const { raw, problem } = readYamlFile(path.join(dir, name), where)
    if (problem) {
      problems.push(problem)
      continue
    }
    if (options.skipDocument?.(raw)) {
      files.delete(id)
      continue
    }
    const extra = options.extraProblems?.(raw) ?? []
    const parsed = schema.safeParse(raw)
    const describe = options.describeIssue ?? ((issue: z.core.$ZodIssue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    const found = [...extra, ...(parsed.success ? [] : parsed.error.issues.map((issue) => describe(issue, raw)))]
    if (found.length > 0) {
      problems.push(...found.map((p) => `${where}: ${p}`))
      continue
    }
    entries.set(id, parsed.data as z.output<S>)
  }
  return { entries, files, problems }
}

/** One YAML document: its parsed content, or the problem (`file: (yaml): not valid YAML: first line of the reason`). */
export function readYamlFile(file: string, where: string): { raw: unknown; problem?: undefined } | { raw?: undefined; problem: string } {
  try {
    return { raw: parseYaml(readFileSync(file, 'utf8')) as unknown }
  } catch (error) {
    return { problem: `${where}: (yaml): not valid YAML: ${(error as Error).message.split('\n')[0]}` }
  }
}
