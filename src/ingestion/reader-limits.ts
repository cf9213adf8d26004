/**
 * The bounds every reader enforces, so that memory and time stay bounded whatever a file holds. Each one is a
 * file rejection with its own rule when exceeded (never a crash, never a partial load). The flow declaration
 * sets them (`limits:` in flows/*.yaml, src/flows/flow.ts); these defaults apply otherwise.
 *
 * The defaults are far above what real files hold: the biggest foyer the fixture generator writes in a 20,000-foyer
 * CAF stock is 9.2 KB, its longest text 28 characters, its deepest nesting 7 (with Racine), its elements carry no
 * attribute (Racine carries two namespace declarations); France Travail lines are under 200 characters.
 */
export interface ReaderLimits {
  /** Largest record: a CNAF element (InfosFoyerRSA, the header, the trailer, a gap between them) or a CSV record (its cells). */
  maxRecordBytes: number
  /** Longest physical line of a CSV file (characters). CNAF lines are bounded by the record size. */
  maxLineChars: number
  /** Longest text: a CNAF text node (characters, comments and CDATA sections in it included) or a CSV cell. */
  maxTextChars: number
  /** Most attributes on one CNAF element (namespace declarations included). */
  maxAttributes: number
  /** Deepest nesting of CNAF elements, counted from the record (or header, trailer) element. */
  maxDepth: number
}

export const DEFAULT_READER_LIMITS: Readonly<ReaderLimits> = Object.freeze({
  maxRecordBytes: 1024 * 1024,
  maxLineChars: 64 * 1024,
  maxTextChars: 64 * 1024,
  maxAttributes: 64,
  maxDepth: 32,
})

/** The flow declaration's `limits:` block (snake_case, all optional) as ReaderLimits. */
export function readerLimits(declared: Partial<Record<'max_record_bytes' | 'max_line_chars' | 'max_text_chars' | 'max_attributes' | 'max_depth', number>> = {}): ReaderLimits {
  return {
    maxRecordBytes: declared.max_record_bytes ?? DEFAULT_READER_LIMITS.maxRecordBytes,
    maxLineChars: declared.max_line_chars ?? DEFAULT_READER_LIMITS.maxLineChars,
    maxTextChars: declared.max_text_chars ?? DEFAULT_READER_LIMITS.maxTextChars,
    maxAttributes: declared.max_attributes ?? DEFAULT_READER_LIMITS.maxAttributes,
    maxDepth: declared.max_depth ?? DEFAULT_READER_LIMITS.maxDepth,
  }
}
