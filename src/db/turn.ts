/**
 * A FIFO mutex: the embedded database has one backend, shared by the owner process and by every connection of
 * its Unix socket. Whoever holds the turn has the backend to itself: one in-process statement or transaction, or
 * one socket connection from its first message until it is idle again (ReadyForQuery 'I').
 */
export class Turn {
  #tail: Promise<void> = Promise.resolve()

  /** Waits for the turn; resolves with the function that gives it back. */
  acquire(): Promise<() => void> {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const previous = this.#tail
    this.#tail = previous.then(() => held)
    let released = false
    return previous.then(() => () => {
      if (released) return
      released = true
      release()
    })
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }
}
