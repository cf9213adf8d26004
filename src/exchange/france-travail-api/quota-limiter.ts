import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Keeps calls within `perSecond` in any window of one second, with room for jitter between here and the receiver:
 * calls are spaced `1000 / perSecond` ms apart, and a call starts only once the call `perSecond` places before it
 * started at least `1000 + guardMs` ms earlier (60 ms by default) (so a burst of late-arriving requests cannot put more than the
 * quota in the receiver's sliding second). A 429's Retry-After pushes every later start back. One limiter per flow
 * and process (`limiterFor`); across instances the API job is exclusive (its advisory lock), so the quota holds.
 */
export class QuotaLimiter {
  readonly intervalMs: number
  private nextSlot = 0
  /** Start times of the last `perSecond` calls (a ring). */
  private readonly starts: number[]
  private head = 0
  private readonly now: () => number
  private readonly guardMs: number
  private queue: Promise<void> = Promise.resolve()

  constructor(
    readonly perSecond: number,
    options: { guardMs?: number; now?: () => number } = {},
  ) {
    this.intervalMs = 1000 / perSecond
    this.guardMs = options.guardMs ?? 60
    this.now = options.now ?? (() => performance.now())
    this.starts = new Array<number>(Math.max(1, Math.floor(perSecond))).fill(-Infinity)
    this.assumeFullWindow()
  }

  /**
   * Acts as if the last second had been full: the next calls wait one window. Done when the limiter is created (a
   * restarted process does not know what its killed predecessor sent) and whenever an instance takes the API job
   * over (the previous holder's last second still counts at France Travail).
   */
  assumeFullWindow(): void {
    const now = this.now()
    this.starts.fill(now)
    this.head = 0
  }

  /** Waits for this caller's turn (callers are served in order). */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitTurn(signal))
    this.queue = turn.catch(() => {})
    return turn
  }

  private async waitTurn(signal?: AbortSignal): Promise<void> {
    const oldest = this.starts[this.head]!
    const slot = Math.max(this.nextSlot, oldest + 1000 + this.guardMs)
    // Timers may wake a little early: wait until the slot is really reached.
    for (let left = slot - this.now(); left > 0; left = Math.max(this.nextSlot, oldest + 1000 + this.guardMs) - this.now()) {
      await sleep(Math.max(1, Math.ceil(left)), undefined, signal ? { signal } : undefined)
    }
    const started = this.now()
    this.starts[this.head] = started
    this.head = (this.head + 1) % this.starts.length
    this.nextSlot = started + this.intervalMs
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
