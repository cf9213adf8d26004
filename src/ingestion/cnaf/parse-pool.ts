import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { BatchResult, BatchSettings, RecordBatch } from './parse-record-batch.ts'

/**
 * A small pool of worker threads parsing record batches (parse-record-batch.ts) while the calling thread reads
 * the file and loads the database. Results come back through promises, one per batch, so the caller keeps file
 * order by awaiting them in submission order. Batch bytes are transferred, not copied.
 *
 * The sources are TypeScript run through tsx, whose loader hooks are not inherited by workers on Node 20
 * (`execArgv: ['--import', 'tsx']` is not honoured there either): each worker starts from a tiny CommonJS
 * bootstrap that registers tsx, then imports the TypeScript entry. Starting a worker costs ~0.5 s (tsx and the
 * modules load in each), which is why small files are parsed in the calling thread instead.
 *
 * Any worker error or unexpected exit fails every pending and later batch; `close()` terminates the workers.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads')
import(workerData.tsxApi)
  .then((tsx) => { tsx.register(); return import(workerData.entry) })
  .catch((error) => { setImmediate(() => { throw error }) })
`

/** URL of tsx's ESM API (its CommonJS build cannot register the hooks from a worker). */
function tsxEsmApiUrl(): string {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve
  if (typeof resolve === 'function') {
    try {
      return resolve('tsx/esm/api')
    } catch {
      // fall through: resolve from the package manifest
    }
  }
  const require = createRequire(import.meta.url)
  const manifestPath = require.resolve('tsx/package.json')
  const manifest = require(manifestPath) as { exports: Record<string, { import: { default: string } }> }
  const target = manifest.exports['./esm/api']?.import.default
  if (!target) throw new Error('cannot locate tsx/esm/api: is tsx installed?')
  return new URL(target, pathToFileURL(manifestPath)).href
}

interface Slot {
  worker: Worker
  pending: number
}

type Waiter = { slot: Slot; resolve: (result: BatchResult) => void; reject: (error: Error) => void }

export class RecordParsePool {
  private readonly slots: Slot[] = []
  private readonly waiters = new Map<number, Waiter>()
  private nextId = 0
  private failure: Error | undefined
  private closing = false

  constructor(size: number, settings: BatchSettings) {
    const tsxApi = tsxEsmApiUrl()
    const entry = new URL('./parse-record-worker.ts', import.meta.url).href
    for (let i = 0; i < size; i++) {
      // A parse worker holds a few batches at a time (each at most ~2 MB plus one record: read-cnaf-file.ts): a small
      // young generation and a bounded old one make it collect early, which keeps the peak RSS low.
      const worker = new Worker(BOOTSTRAP, {
        eval: true,
        workerData: { tsxApi, entry, settings },
        resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 },
      })
      const slot: Slot = { worker, pending: 0 }
      worker.on('message', (message: { id: number; result: BatchResult }) => {
        const waiter = this.waiters.get(message.id)
        if (!waiter) return
        this.waiters.delete(message.id)
        waiter.slot.pending--
        waiter.resolve(message.result)
      })
      worker.on('error', (error) => this.fail(new Error('record parse worker failed', { cause: error })))
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`record parse worker exited unexpectedly (code ${code})`))
      })
      this.slots.push(slot)
    }
  }

  get size(): number {
    return this.slots.length
  }

  /** Parses a batch in the least busy worker. The batch's buffers are transferred (unusable afterwards). */
  submit(batch: RecordBatch): Promise<BatchResult> {
    if (this.failure) return Promise.reject(this.failure)
    if (this.closing) return Promise.reject(new Error('record parse pool is closed'))
    let slot = this.slots[0] as Slot
    for (const s of this.slots) if (s.pending < slot.pending) slot = s
    const id = this.nextId++
    slot.pending++
    const result = new Promise<BatchResult>((resolve, reject) => {
      this.waiters.set(id, { slot, resolve, reject })
      slot.worker.postMessage({ id, batch }, [batch.bytes.buffer as ArrayBuffer, batch.ends.buffer as ArrayBuffer, batch.lines.buffer as ArrayBuffer])
    })
    // A caller that stops early (file rejected, aborted) never awaits the rest: that must not be an unhandled rejection.
    result.catch(() => {})
    return result
  }

  private fail(error: Error): void {
    if (this.failure || this.closing) return
    this.failure = error
    for (const waiter of this.waiters.values()) waiter.reject(error)
    this.waiters.clear()
    void this.close()
  }

  /** Terminates the workers; pending batches are rejected. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    const error = this.failure ?? new Error('record parse pool closed')
    for (const waiter of this.waiters.values()) waiter.reject(error)
    this.waiters.clear()
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()))
  }
}
