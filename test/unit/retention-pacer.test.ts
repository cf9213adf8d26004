import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPacer } from '../../src/retention/run-context.ts'

/** The pause between two retention chunks: a share of the time the chunk took, at least the minimum. */
describe('retention pacer', () => {
  afterEach(() => vi.useRealTimers())

  const pausedFor = async (pacer: ReturnType<typeof createPacer>, workMs: number): Promise<number> => {
    vi.advanceTimersByTime(workMs) // the chunk's work
    const before = performance.now()
    const pause = pacer.pause()
    await vi.runAllTimersAsync()
    await pause
    return performance.now() - before
  }

  it('pauses half the chunk’s duration by default, after each chunk', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] })
    const pacer = createPacer()
    expect(await pausedFor(pacer, 400)).toBe(200)
    expect(await pausedFor(pacer, 80)).toBe(40)
  })

  it('honours the minimum pause, and a ratio of 0 does not pause at all', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] })
    expect(await pausedFor(createPacer({ ratio: 0.25, minMs: 50 }), 40)).toBe(50)
    expect(await pausedFor(createPacer({ ratio: 0 }), 1000)).toBe(0)
    expect(await pausedFor(createPacer({ ratio: 1 }), 300)).toBe(300)
  })
})
