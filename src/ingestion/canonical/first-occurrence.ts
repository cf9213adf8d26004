import type { ParsedRecord, RecordIssue, RecordPosition } from '../records/parsed-record.ts'

/**
 * One file may carry two records for the same key (a dossier, a person's assignment on a date): the first one is
 * kept, every later one is rejected naming the first one's position. What a load reports accepted is then exactly
 * what it stores, and every record it does not store is a rejection row (file, record, line, rule), never a value.
 *
 * The first occurrence is kept rather than none: in a monthly stock, rejecting both would mark the dossier "no
 * longer transmitted". The keys stay in memory for the whole file (one short string per record).
 */
export class FirstOccurrences {
  private readonly seen = new Map<string, RecordPosition>()

  /** Claims `key` for the record at `at`: `undefined` when it is the first, else the first record's position. */
  claim(key: string, at: RecordPosition): RecordPosition | undefined {
    const first = this.seen.get(key)
    if (first) return first
    this.seen.set(key, { recordIndex: at.recordIndex, line: at.line })
    return undefined
  }
}

/** The rejected record for a later occurrence: where it is, the rule, and where the kept record is. */
export function duplicateOf(
  at: RecordPosition,
  first: RecordPosition,
  issue: { field: string; rule: string },
  key?: string,
): Extract<ParsedRecord<never>, { ok: false }> {
  const rejected: RecordIssue = { field: issue.field, rule: issue.rule, duplicateOf: { recordIndex: first.recordIndex, line: first.line } }
  return { ok: false, recordIndex: at.recordIndex, line: at.line, key, issues: [rejected] }
}
