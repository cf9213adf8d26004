import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Spaces calls so that no window of one second ever holds more than `perSecond` of them: each call takes the next
 * free slot, slots `1000 / perSecond` ms apart (plus a small margin for network jitter between here and the
 * receiver's clock). A 429's Retry-After pushes every later slot back. One limiter per flow and process
 * (`limiterFor`); across instances the API job is exclusive (its advisory lock), so the quota holds globally.
 */
export class QuotaLimiter {
  readonly intervalMs: number
  private nextSlot = 0

  constructor(
    readonly perSecond: number,
    options: { marginRatio?: number; now?: () => number } = {},
  ) {
    this.intervalMs = (1000 / perSecond) * (1 + (options.marginRatio ?? 0.02))
    this.now = options.now ?? (() => performance.now())
  }

  private readonly now: () => number

  /** Waits for this caller's slot. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = this.now()
    const slot = Math.max(now, this.nextSlot)
    this.nextSlot = slot + this.intervalMs
    // Timers may wake a little early: wait until the slot is really reached.
    for (let left = slot - this.now(); left > 0; left = slot - this.now()) {
      await sleep(Math.max(1, Math.ceil(left)), undefined, signal ? { signal } : undefined)
    }
  }

  /** No call starts before `ms` from now (a Retry-After answer). */
  pause(ms: number): void {
    this.nextSlot = Math.max(this.nextSlot, this.now() + ms)
  }
}

const limiters = new Map<string, QuotaLimiter>()

/** The process's limiter for one API flow (created on first use; re-created when the quota changes). */
export function limiterFor(flowId: string, perSecond: number): QuotaLimiter {
  let limiter = limiters.get(flowId)
  if (!limiter || limiter.perSecond !== perSecond) {
    limiter = new QuotaLimiter(perSecond)
    limiters.set(flowId, limiter)
  }
  return limiter
}
