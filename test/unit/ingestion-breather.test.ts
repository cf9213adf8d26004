import { afterEach, describe, expect, it, vi } from 'vitest'
import { breather } from '../../src/ingestion/breather.ts'

describe('breather', () => {
  afterEach(() => vi.useRealTimers())

  it('yields to the event loop once every few milliseconds of work, and costs nothing in between', async () => {
    vi.useFakeTimers({ toFake: ['performance'] })
    const breathe = breather(2)
    expect(breathe()).toBeUndefined()
    vi.advanceTimersByTime(1)
    expect(breathe()).toBeUndefined()
    vi.advanceTimersByTime(1)
    // Work queued before the yield (an I/O callback, a query's next step) runs before the caller resumes.
    const order: string[] = []
    setImmediate(() => order.push('io'))
    const pending = breathe()
    expect(pending).toBeInstanceOf(Promise)
    await pending!.then(() => order.push('resumed'))
    expect(order).toEqual(['io', 'resumed'])
    // The clock restarts at the yield.
    expect(breathe()).toBeUndefined()
  })
})
