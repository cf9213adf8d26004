import type { z } from 'zod'
import type { FileLoad, Loaded } from './file-load.ts'

/**
 * A flow format: one folder under src/ingestion/formats/ exporting one object of this shape, listed in
 * registry.ts. The pipeline (src/ingestion/ingest-file.ts) knows formats only through it: it opens the file's
 * transaction and hands the format the file; the format reads it into positioned records, checks its header and
 * trailer, tells its kind, validates and maps each record to canonical field values and stores them (the same
 * rejection rows and minimisation for every format).
 */
export interface FlowFormat<D extends { type: string }> {
  /** The `type:` of a flow's `format:` block. */
  type: D['type']
  /** Validates the `format:` block of flows/<id>.yaml (load-flows.ts reports every problem with its path). */
  declaration: z.ZodType<D, unknown>
  /** Reads, checks, validates, maps and stages one file, inside its transaction; a file it cannot trust throws a FileRejection. */
  load(load: FileLoad<D>): Promise<Loaded>
  /**
   * Checks the settings the declaration names in the environment (e.g. the recipient code of xml-records) before
   * a file is touched or a server opened: a missing one throws a ConfigError, the file stays for the next run.
   */
  checkSettings?(declaration: D, flowId: string, env: NodeJS.ProcessEnv): void
}
