/**
 * In-process token buckets (one per key: a token id, a client address). A bucket holds up to `burst` requests and
 * refills at `perSecond`; an empty bucket answers with the seconds to wait. Per instance: behind several instances
 * the effective limit is multiplied by their number.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(private readonly perSecond: number, private readonly burst: number, private readonly maxKeys = 100_000) {}

  /** Takes one request from `key`'s bucket at time `nowMs`. */
  take(key: string, nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    let bucket = this.buckets.get(key)
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.prune(nowMs)
      bucket = { tokens: this.burst, at: nowMs }
      this.buckets.set(key, bucket)
    } else {
      // A clock that steps back refills nothing (and does not drain either).
      bucket.tokens = Math.min(this.burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * this.perSecond)
      bucket.at = Math.max(bucket.at, nowMs)
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { ok: true }
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) }
  }

  /** Whether `key` has a request left, without taking it. */
  peek(key: string, nowMs: number): boolean {
    const bucket = this.buckets.get(key)
    if (!bucket) return true
    return Math.min(this.burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * this.perSecond) >= 1
  }

  /** Drops the buckets that are full again (nothing to remember), or all of them if none is. */
  private prune(nowMs: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (Math.max(0, nowMs - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key)
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.clear()
  }
}
