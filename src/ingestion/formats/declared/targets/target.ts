import type { FileLoad } from '../../file-load.ts'
import type { ParsedRecord } from '../../../records/parsed-record.ts'
import type { DeclaredRecord } from '../declared-record.ts'

/**
 * What the records of a generic format become: a target takes declared records (canonical id → value) and stores
 * them inside the file's transaction, minimised (only the fields some purpose stores, plus key fields), writing a
 * rejection row for each record it cannot store. A flow names its target in `format.target`.
 */
export interface TargetCheckInput {
  fields: readonly { name: string; field?: string | undefined; type: string; required?: boolean | undefined; codes?: readonly string[] | undefined }[]
  /** Fields read once per member (xml-records `members`), if the format has members. */
  memberFields?: readonly { name: string; field?: string | undefined; type: string; required?: boolean | undefined; codes?: readonly string[] | undefined }[]
  /** Constant values of the flow, once per kind (or once when the flow has no kinds). */
  constants: readonly Record<string, string>[]
}

export interface TargetProblem {
  path: (string | number)[]
  message: string
}

export interface RecordTarget {
  /** Canonical field ids (or target inputs) a declared field may become. */
  accepts: ReadonlySet<string>
  /** What a declaration lacks for this target (keys, required inputs). */
  check(input: TargetCheckInput): TargetProblem[]
  /** Stores the records; counts them in `load.state` (total, rejected). */
  store(load: FileLoad<unknown>, records: AsyncIterable<ParsedRecord<DeclaredRecord>[]>, at: { transmittedAt: Date }): Promise<void>
}

/** Problems common to every target: a field id the target does not take, a constant it does not take. */
export function unknownIds(input: TargetCheckInput, accepts: ReadonlySet<string>, targetName: string): TargetProblem[] {
  const problems: TargetProblem[] = []
  const known = () => [...accepts].join(', ')
  for (const [i, f] of input.fields.entries()) {
    if (f.field !== undefined && !accepts.has(f.field)) {
      problems.push({ path: ['fields', i, 'field'], message: `"${f.field}" is not a field the ${targetName} target takes (known: ${known()})` })
    }
  }
  for (const constants of input.constants) {
    for (const id of Object.keys(constants)) {
      if (!accepts.has(id)) problems.push({ path: ['values'], message: `"${id}" is not a field the ${targetName} target takes (known: ${known()})` })
    }
  }
  return problems
}

/** Whether every record gets `id`: from a field, or a constant of every kind. */
export function supplies(input: TargetCheckInput, id: string): boolean {
  return input.fields.some((f) => f.field === id) || (input.constants.length > 0 && input.constants.every((c) => id in c))
}
