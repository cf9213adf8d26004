/**
 * The signal, within one process, that users, organisations or credentials changed: the caches that trust a valid
 * API token or console session for a few seconds (PASSERELLE_API_TOKEN_CACHE_SECONDS) forget what they hold, so a
 * change made through this process's API or console takes effect at once. A change made by another process (the
 * CLI) reaches them within the cache delay.
 */
export class CredentialChanges {
  private readonly listeners = new Set<() => void>()

  /** Calls `listener` at each change; returns what stops it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  changed(): void {
    for (const listener of this.listeners) listener()
  }
}
