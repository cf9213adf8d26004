import type { Db } from '../db/db.ts'
import type { Logger } from '../log/logger.ts'

/** Called inside each chunk's transaction, after its work and its receipt: throwing rolls the chunk back. */
export type ChunkHook = (chunk: { step: string; policyId: string; index: number; rows: number }) => void | Promise<void>

/** What every step of a retention run shares. */
export interface RunContext {
  db: Db
  log: Logger
  runId: string
  now: Date
  /** The civil day (Europe/Paris) the run decides for. */
  today: string
  /** Rows per transaction. */
  chunkSize: number
  onChunk: ChunkHook | undefined
  /** Pause between two chunks (ms), to leave the database to the API during a large run. */
  pauseMs: number
}

/** Called between two chunks, outside any transaction. */
export async function betweenChunks(ctx: RunContext): Promise<void> {
  if (ctx.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, ctx.pauseMs))
}
