import path from 'node:path'
import { FileRejection } from '../../file-rejection.ts'
import { guardReader } from '../../guard-reader.ts'
import type { ParsedRecord } from '../../records/parsed-record.ts'
import { checkOrder, type FileLoad, type LoadState, type Loaded } from '../file-load.ts'
import type { CommonDeclaration } from './declaration.ts'
import { detectKind, type DeclaredRecord } from './declared-record.ts'
import { TARGETS } from './targets/index.ts'

/**
 * The load of every generic format: the kind told from the file name, the order checked (a file has no header
 * date: its modification time is its transmission time), the records read by the format and stored by the
 * flow's target. A file without any record is `empty_file`.
 */
export async function loadDeclared(
  load: FileLoad<CommonDeclaration>,
  read: (kind: string) => AsyncIterable<ParsedRecord<DeclaredRecord>[]>,
): Promise<Loaded> {
  const { format, file, flow, tx, state } = load
  const kind = kindOf(file.name, format)
  state.kind = kind
  const transmittedAt = file.modifiedAt
  await checkOrder(tx, flow, file, transmittedAt)
  await TARGETS[format.target].store(load, tallyWarningsAndSkips(guardReader(read(kind), file.name), state), { transmittedAt })
  if (state.total === 0 && !state.skipped) throw new FileRejection('empty_file', `${file.name}: no data row`)
  return { transmittedAt, referenceDate: null }
}

/**
 * Counts the records kept with warnings (`invalid: warn`) into the file's state, by field and rule, and leaves out
 * the records that are not for this département (`invalid: skip`), counting them the same way: the target never
 * sees them.
 */
async function* tallyWarningsAndSkips<T>(batches: AsyncIterable<ParsedRecord<T>[]>, state: LoadState): AsyncGenerator<ParsedRecord<T>[]> {
  const count = (counts: Map<string, number>, issues: readonly { field: string; rule: string }[]) => {
    for (const w of issues) counts.set(`${w.field} ${w.rule}`, (counts.get(`${w.field} ${w.rule}`) ?? 0) + 1)
  }
  for await (const batch of batches) {
    let kept = batch
    for (const r of batch) {
      if (!r.ok) continue
      if (r.skipped) {
        state.skipped = (state.skipped ?? 0) + 1
        count((state.skips ??= new Map()), r.skipped)
        kept = kept === batch ? batch.filter((x) => !(x.ok && x.skipped)) : kept
      } else if (r.warnings) {
        state.warned = (state.warned ?? 0) + 1
        count((state.warnings ??= new Map()), r.warnings)
      }
    }
    if (kept.length > 0) yield kept
  }
}

/** The file's kind: the first of the declared `kinds` whose pattern its name matches, else the declared `kind`. */
export function kindOf(fileName: string, format: Pick<CommonDeclaration, 'kinds' | 'kind'>): string {
  if (!format.kinds) return format.kind
  const kind = detectKind(path.basename(fileName), format.kinds)
  if (kind) return kind
  throw new FileRejection(
    'wrong_schema',
    `${fileName}: cannot tell the kind of file from its name (expected one of: ${format.kinds.map((k) => `${k.kind} /${k.pattern}/i`).join(', ')})`,
  )
}
