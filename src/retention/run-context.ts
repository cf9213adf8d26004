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
  /** Paces the run between chunks, to leave the database to the API during a large run. */
  pacer: Pacer
  /** Aborted when the run must stop (its lock lost, the scheduler stopping): checked between chunks. */
  signal?: AbortSignal | undefined
}

/**
 * After each chunk, a pause of `ratio` times the time the chunk took (at least `minMs`): with the default 0.5 a
 * run holds a database backend at most two thirds of the time, whatever the machine, and the WAL writer and the
 * API get the gaps. A large run on a 2-core machine stays above 20,000 rows/s; pacing lowers how often an API
 * request meets a chunk, not how much a chunk slows it (p99 1.6–2.0× idle there, where one backend busy on pure CPU
 * with the same pacing already costs 1.3–1.8×: bench/retention.bench.ts).
 */
export interface Pacer {
  pause(): Promise<void>
}

export const DEFAULT_PAUSE_RATIO = 0.5

export function createPacer(options: { ratio?: number; minMs?: number } = {}): Pacer {
  const ratio = options.ratio ?? DEFAULT_PAUSE_RATIO
  const minMs = options.minMs ?? 0
  let workStarted = performance.now()
  return {
    async pause() {
      const worked = performance.now() - workStarted
      const ms = Math.max(minMs, worked * ratio)
      if (ms >= 1) await new Promise((resolve) => setTimeout(resolve, ms))
      workStarted = performance.now()
    },
  }
}

/** Called between two chunks, outside any transaction. */
export async function betweenChunks(ctx: RunContext): Promise<void> {
  ctx.signal?.throwIfAborted()
  await ctx.pacer.pause()
  ctx.signal?.throwIfAborted()
}
