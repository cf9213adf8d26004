import { randomBytes } from 'node:crypto'
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * Exactly one process owns an embedded data folder: an owner lock file, `pglite.owner`, beside the `pglite`
 * folder. It holds the owner's pid, its start time as the kernel counts it (so a recycled pid is not mistaken
 * for the owner) and, for `serve`, the folder of the Unix socket through which other processes reach the database.
 *
 * - Created atomically and complete: written to a private temporary file, then hard-linked to its name (link
 *   fails when the name exists), so nobody ever reads a half-written lock.
 * - Crash-safe: a lock whose process is gone (kill -9, power loss) is stale and reclaimed by the next process,
 *   with no timeout to wait out.
 */
export interface OwnerRecord {
  pid: number
  /** Kernel start time of the process (/proc/<pid>/stat field 22), or null where /proc is absent. */
  startTicks: number | null
  /** `serve` (reachable through `socketDir`) or `cli` (a one-off command holding the folder until it exits). */
  role: 'serve' | 'cli'
  /** What the owner runs, e.g. `passerelle serve --demo` (argv with no values: see describeCommand). */
  command: string
  startedAt: string
  /** Folder holding `.s.PGSQL.5432`, the owner's PostgreSQL wire-protocol socket (serve only). */
  socketDir?: string
}

export const OWNER_FILE = 'pglite.owner'

export function ownerLockPath(dataDir: string): string {
  return path.join(dataDir, OWNER_FILE)
}

/** Kernel start time of a process, in clock ticks since boot; null when unknown (no /proc, or no such process). */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may contain spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[19])
    return Number.isFinite(ticks) ? ticks : null
  } catch {
    return null
  }
}

/** True while the process that wrote `record` runs (same pid and same start time). */
export function ownerAlive(record: OwnerRecord): boolean {
  try {
    process.kill(record.pid, 0)
  } catch (error) {
    // EPERM: the process exists but belongs to another user. It is alive.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (record.startTicks === null) return true
  const ticks = processStartTicks(record.pid)
  return ticks === null || ticks === record.startTicks
}

export function readOwner(lockPath: string): OwnerRecord | undefined {
  let text: string
  try {
    text = readFileSync(lockPath, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const record = JSON.parse(text) as OwnerRecord
    if (!Number.isInteger(record.pid)) throw new Error('no pid')
    return record
  } catch (error) {
    throw new Error(`the owner lock ${lockPath} is not a Passerelle owner record; remove it only if no Passerelle process uses this data folder`, {
      cause: error,
    })
  }
}

/**
 * The command line a person recognises, without option values (a `--nir` given on the command line must not
 * be copied into a file or a message): `passerelle rights open --type --nir --birth-date`.
 */
export function describeCommand(argv: readonly string[] = process.argv): string {
  const words = argv.slice(2)
  const shown: string[] = []
  for (const word of words) {
    if (word.startsWith('-')) shown.push(word.split('=')[0]!)
    else if (shown.every((w) => !w.startsWith('-'))) shown.push(word)
  }
  return ['passerelle', ...shown].join(' ').slice(0, 200)
}

export type AcquireResult = { acquired: true; release: () => void } | { acquired: false; owner: OwnerRecord }

/** Tries once to become the owner: succeeds, or names the live owner. A stale lock is reclaimed on the way. */
export function tryAcquireOwner(lockPath: string, record: Omit<OwnerRecord, 'pid' | 'startTicks' | 'startedAt'>): AcquireResult {
  const mine: OwnerRecord = {
    pid: process.pid,
    startTicks: processStartTicks(process.pid),
    startedAt: new Date().toISOString(),
    ...record,
  }
  const text = JSON.stringify(mine)
  for (let attempt = 0; attempt < 5; attempt++) {
    if (linkNew(lockPath, text)) {
      return {
        acquired: true,
        release: () => {
          // Remove only our own lock (never one another process has taken since).
          const current = safeRead(lockPath)
          if (current === text) unlinkSafe(lockPath)
        },
      }
    }
    const owner = readOwner(lockPath)
    if (!owner) continue // released meanwhile: try again
    if (ownerAlive(owner)) return { acquired: false, owner }
    reclaimStale(lockPath, JSON.stringify(owner))
  }
  const owner = readOwner(lockPath)
  if (owner) return { acquired: false, owner }
  throw new Error(`could not take the owner lock ${lockPath}: it keeps changing`)
}

/** Creates `lockPath` holding `text`, complete, or returns false if it exists. */
function linkNew(lockPath: string, text: string): boolean {
  const temp = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(temp, text, { mode: 0o600, flag: 'wx' })
  try {
    linkSync(temp, lockPath)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkSafe(temp)
  }
}

/**
 * Moves a dead owner's lock aside. Rename is atomic: of two processes reclaiming at once, one moves it. If what
 * was moved is not the dead lock read before (another process reclaimed it and became owner in between), it is
 * put back at once.
 */
function reclaimStale(lockPath: string, staleText: string): void {
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.stale`
  try {
    renameSync(lockPath, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const moved = safeRead(aside)
  if (moved !== undefined && normalise(moved) !== normalise(staleText)) {
    try {
      linkSync(aside, lockPath)
    } catch {
      // A third process took the name in between: both it and the live owner we moved would believe they own
      // the folder. Nothing safe can be done here but stop.
      unlinkSafe(aside)
      throw new Error(`the owner lock ${lockPath} changed while a stale one was being reclaimed; retry the command`)
    }
  }
  unlinkSafe(aside)
}

const normalise = (text: string) => {
  try {
    return JSON.stringify(JSON.parse(text))
  } catch {
    return text
  }
}

function safeRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

function unlinkSafe(file: string): void {
  try {
    unlinkSync(file)
  } catch {
    // already gone
  }
}
