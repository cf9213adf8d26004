/**
 * Lets the event loop run during long CPU work on the main thread. Ingestion maps and encodes one batch while the
 * database merges the previous one, but the merge is a chain of statements and COPYs, each started from an I/O
 * callback: a synchronous block of tens of milliseconds stalls that chain, and with it the database. `breathe()`
 * is called often (it is cheap) and yields to the event loop once `everyMs` have passed since the last yield.
 */
export type Breathe = () => Promise<void> | undefined

export function breather(everyMs = 2): Breathe {
  let last = performance.now()
  return () => {
    const now = performance.now()
    if (now - last < everyMs) return undefined
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        last = performance.now()
        resolve()
      }),
    )
  }
}
