import { setTimeout as sleep } from 'node:timers/promises'

/** Given back by `acquire`: call it when the call's answer (or failure) came back. */
export type ReleaseSlot = () => void

/**
 * Keeps calls within `perSecond` in any window of one second as the receiver counts them (by arrival), whatever the
 * jitter between here and there.
 *
 * The guarantee: each call holds a place in a ring of the last `perSecond` calls, dated by when the receiver had
 * surely seen it: when its answer came back or the caller gave up (`release`, which the client calls on every path).
 * A call starts only once the call `perSecond` places before it is so dated at least 1000 ms earlier. A request
 * arrives before its answer leaves, so the second is counted from a time no earlier than the receiver's own count: a
 * process descheduled between stamping a start and sending, or a receiver that stamps late (both seen on a loaded
 * machine, where a fixed 60 or 100 ms guard after the start let a few calls through), cannot put more than the quota
 * in its sliding second. The price is the latency: a window costs 1000 ms plus one answer's time (about 1025 ms
 * against the simulator). A place never released (a bug) is freed `guardMs` (30 s) after its start.
 *
 * The pacing: starts are spaced `1000 / perSecond` ms apart on a schedule of ideal slots, not from the moment the
 * previous call actually started. Timers wake late on a busy machine; measured from the actual start, every delay
 * added up over the run (at 200 calls/s and 2 ms late per call, 20,000 calls took 140 s instead of 100). From the
 * ideal slot, a late call is followed by the next one at once, up to `catchUpMs` behind the schedule (a burst never
 * longer than that), and the ring still bounds every second. A 429's Retry-After pushes every later start back.
 *
 * One limiter per flow and process (`limiterFor`); across instances the API job is exclusive (its advisory lock), so
 * the quota holds.
 */
/** How long a request sent by a previous holder of the job may still take to arrive. */
const TAKEOVER_MARGIN_MS = 100

export class QuotaLimiter {
  readonly intervalMs: number
  private nextSlot = 0
  /** For each of the last `perSecond` calls (a ring): when the receiver had surely seen it. */
  private readonly seen: number[]
  /** Which call (its sequence number) holds each place of the ring. */
  private readonly owner: number[]
  private head = 0
  private sequence = 0
  private readonly now: () => number
  private readonly guardMs: number
  private readonly catchUpMs: number
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<unknown>
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    readonly perSecond: number,
    options: { guardMs?: number; catchUpMs?: number; now?: () => number; sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown> } = {},
  ) {
    this.guardMs = options.guardMs ?? 30_000
    this.intervalMs = 1000 / perSecond
    this.catchUpMs = options.catchUpMs ?? 50
    this.now = options.now ?? (() => performance.now())
    this.sleep = options.sleep ?? ((ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined))
    const size = Math.max(1, Math.floor(perSecond))
    this.seen = new Array<number>(size).fill(-Infinity)
    this.owner = new Array<number>(size).fill(-1)
    this.assumeFullWindow()
  }

  /**
   * Acts as if the last second had been full: the next calls wait one window. Done when the limiter is created (a
   * restarted process does not know what its killed predecessor sent) and whenever an instance takes the API job
   * over (the previous holder's last second still counts at France Travail).
   */
  assumeFullWindow(): void {
    // Dated now, plus what a request the predecessor had just sent may take to arrive (not the 30 s fallback).
    this.seen.fill(this.now() + TAKEOVER_MARGIN_MS)
    this.owner.fill(-1)
    this.head = 0
  }

  /** Waits for this caller's turn (callers are served in order); the returned function is called once answered. */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    const turn = this.queue.then(() => this.waitTurn(signal))
    this.queue = turn.catch(() => {})
    return turn
  }

  private async waitTurn(signal?: AbortSignal): Promise<ReleaseSlot> {
    const due = () => Math.max(this.nextSlot, this.seen[this.head]! + 1000)
    const slot = due()
    // Timers may wake a little early: wait until the slot is really reached.
    // A place still in flight is re-read at short intervals: its answer frees it.
    for (let left = slot - this.now(); left > 0; left = due() - this.now()) {
      await this.sleep(Math.max(1, Math.min(20, Math.ceil(left))), signal)
    }
    const started = this.now()
    const place = this.head
    const id = this.sequence++
    this.seen[place] = started + this.guardMs
    this.owner[place] = id
    this.head = (this.head + 1) % this.seen.length
    // The next ideal slot follows this one's, not this call's actual (possibly late) start; no further behind than catchUpMs.
    this.nextSlot = Math.max(slot + this.intervalMs, started - this.catchUpMs)
    return () => {
      if (this.owner[place] === id) this.seen[place] = Math.min(this.seen[place]!, this.now())
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
