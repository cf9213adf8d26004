import type { ByteMeter } from '../../byte-meter.ts'
import type { OpenFile } from '../../decrypt/decryption-stage.ts'
import type { ReaderLimits } from '../../reader-limits.ts'

/** What the generic readers (csv-records, xml-records) take besides the file and its declaration. */
export interface ReadDeclaredOptions {
  /** The file's kind (from its name, declared `kinds`), which picks the layouts and constant values. */
  kind: string
  fileLabel: string
  batchSize?: number
  signal?: AbortSignal
  limits?: ReaderLimits
  meter?: ByteMeter
  /** Opens the file (default: as it is on disk); a flow's `decrypt:` stage deciphers it as it streams. */
  open?: OpenFile
}
