/**
 * What every flow reader hands to its loader, whatever the format: a record that passed its rules, or where a
 * record failed and which rules it broke (never a value).
 */

/** A record that failed a rule: where and which rule, never the value. */
export interface RecordIssue {
  field: string
  rule: string
  /** For a duplicate (`duplicate_dossier`...): the earlier record of the file that was kept, by position. */
  duplicateOf?: RecordPosition
}

/** Where a record stands in its file: 0-based record index, 1-based line. */
export interface RecordPosition {
  recordIndex: number
  line: number
}

export type ParsedRecord<T> =
  /**
   * `warnings`: rules broken by values declared `invalid: warn` (taken as empty; the record is kept). `skipped`:
   * rules broken by values declared `invalid: skip`: the record is not for this département and is left out before
   * it is stored, neither stored nor rejected.
   */
  | { ok: true; value: T; warnings?: RecordIssue[]; skipped?: RecordIssue[] }
  /**
   * `key` is the record's dossier or person key when it could be read (e.g. NUMDEMRSA), so a stock does not treat a
   * rejected foyer as gone. `partial` (generic formats): the canonical values of the fields that passed their rules,
   * for the loader to tell whose record failed; held in memory only, never written (a non-enumerable property:
   * JSON, logs and printing skip it).
   */
  | { ok: false; recordIndex: number; line: number; key: string | undefined; issues: RecordIssue[]; partial?: Readonly<Record<string, unknown>> }

export type RejectedRecord = Extract<ParsedRecord<unknown>, { ok: false }>
