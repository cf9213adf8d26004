/**
 * Whether a remote file may be fetched, from what earlier pulls left about it (pure; the I/O is in
 * pass-quarantine-gate.ts). An attempt is counted before the download and forgotten once the file is loaded or
 * rejected, so only attempts that never finished stay counted: the process died while reading it (out of memory,
 * killed) or an unexpected error escaped. One such attempt can be bad luck (a restart, a kill -9 during a
 * deployment) and the file is tried again; after `maxUnfinished` the file is quarantined: skipped at listing,
 * with a log line at every pull, until an operator releases it (`passerelle files retry <id>`).
 */
export interface QuarantineEntry {
  id: number
  status: 'watching' | 'quarantined' | 'released'
  unfinishedAttempts: number
}

export type QuarantineDecision = { action: 'fetch' } | { action: 'skip'; id: number } | { action: 'quarantine'; id: number }

export const MAX_UNFINISHED_ATTEMPTS = 2

export function decideQuarantine(entry: QuarantineEntry | undefined, maxUnfinished = MAX_UNFINISHED_ATTEMPTS): QuarantineDecision {
  if (!entry) return { action: 'fetch' }
  if (entry.status === 'quarantined') return { action: 'skip', id: entry.id }
  if (entry.unfinishedAttempts >= maxUnfinished) return { action: 'quarantine', id: entry.id }
  return { action: 'fetch' }
}
