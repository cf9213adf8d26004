import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Logger } from '../log/logger.ts'

/**
 * The staging area holds full copies of producers' files (NIRs included) while they are downloaded and loaded.
 * Each pull works in a folder of its own, `<stagingDir>/<owner>/`, named after the process that owns it:
 * `<host>~<pid>~<process start>~<random>`. A pull removes its folder when it ends; a process killed mid-way
 * leaves it behind, and the next start of `serve` or `ingest` (and every pull) removes the folders whose owner is
 * no longer running. A folder of a live process (another `serve`, another `ingest`, or a sibling pull of this
 * process) is never touched, and a folder made on another host (a shared volume) is left to the retention run,
 * since this host cannot tell whether its owner lives.
 *
 * Liveness: the pid must exist, and where /proc tells a process's start time (Linux), it must be the one in the
 * folder name, so a reused pid (a container's pid 1 after a restart) does not keep a dead process's files alive.
 * Folders are mode 700 and files 600, whatever the umask.
 */
export interface StagingFolder {
  /** `<stagingDir>/<owner>`: this pull's files go below it. */
  dir: string
  /** Removes the folder and whatever is left in it. */
  release(): Promise<void>
}

interface Owner {
  host: string
  pid: number
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22), '0' where unknown. */
  start: string
}

const SEPARATOR = '~'

function hostLabel(): string {
  return os.hostname().replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 64) || 'host'
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const start = fields[19]
    return start && /^\d+$/.test(start) ? start : undefined
  } catch {
    return undefined
  }
}

let self: Owner | undefined
function me(): Owner {
  self ??= { host: hostLabel(), pid: process.pid, start: processStart(process.pid) ?? '0' }
  return self
}

function ownerName(owner: Owner): string {
  return [owner.host, owner.pid, owner.start, randomBytes(4).toString('hex')].join(SEPARATOR)
}

function parseOwner(name: string): Owner | undefined {
  const parts = name.split(SEPARATOR)
  if (parts.length !== 4) return undefined
  const [host, pid, start, random] = parts as [string, string, string, string]
  if (!/^\d+$/.test(pid) || !/^\d+$/.test(start) || !/^[0-9a-f]{8}$/.test(random) || host.length === 0) return undefined
  return { host, pid: Number(pid), start }
}

/** Whether the process that made a folder may still be using it: `undefined` when this host cannot tell. */
export function ownerAlive(owner: Owner, current: Owner = me()): boolean | undefined {
  if (owner.host !== current.host) return undefined
  if (owner.pid === current.pid) return owner.start === current.start
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
    // EPERM: a process of another user holds that pid; alive as far as we can tell.
  }
  if (owner.start === '0') return true
  const start = processStart(owner.pid)
  return start === undefined || start === owner.start
}

/** Creates this pull's folder (mode 700) under `stagingDir` (created mode 700 if missing). */
export async function claimStagingFolder(stagingDir: string): Promise<StagingFolder> {
  await fs.mkdir(stagingDir, { recursive: true, mode: 0o700 })
  const dir = path.join(stagingDir, ownerName(me()))
  await fs.mkdir(dir, { mode: 0o700 })
  await fs.chmod(dir, 0o700)
  return { dir, release: () => fs.rm(dir, { recursive: true, force: true }) }
}

/**
 * Creates (or empties) a staging file readable by this user only, mode 600 whatever the umask: the download
 * then writes into it, keeping the mode.
 */
export async function createPrivateFile(filePath: string): Promise<void> {
  const handle = await fs.open(filePath, 'w', 0o600)
  try {
    await handle.chmod(0o600)
  } finally {
    await handle.close()
  }
}

/**
 * Removes what killed pulls left in the staging area: the folders of processes of this host that are no longer
 * running, and the files of the layout before per-pull folders (`<stagingDir>/<flowId>/`, for the flows given).
 * Returns what was removed (counts only: file names are producers' names, bytes are sizes).
 */
export async function sweepStaging(stagingDir: string, options: { flowIds?: readonly string[]; log?: Logger } = {}): Promise<{ folders: number; files: number; bytes: number }> {
  const removed = { folders: 0, files: 0, bytes: 0 }
  let entries: string[]
  try {
    entries = await fs.readdir(stagingDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return removed
    throw error
  }
  const legacy = new Set(options.flowIds ?? [])
  for (const name of entries) {
    const owner = parseOwner(name)
    const stale = owner ? ownerAlive(owner) === false : legacy.has(name)
    if (!stale) continue
    const dir = path.join(stagingDir, name)
    const { files, bytes } = await measure(dir)
    await fs.rm(dir, { recursive: true, force: true })
    removed.folders++
    removed.files += files
    removed.bytes += bytes
  }
  if (removed.folders > 0) options.log?.info({ stagingDir, ...removed }, 'staging leftovers of stopped processes removed')
  else options.log?.debug({ stagingDir }, 'staging swept')
  return removed
}

async function measure(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0
  let bytes = 0
  const walk = async (at: string): Promise<void> => {
    let list: import('node:fs').Dirent[]
    try {
      list = await fs.readdir(at, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of list) {
      const full = path.join(at, entry.name)
      if (entry.isDirectory()) await walk(full)
      else {
        files++
        bytes += (await fs.lstat(full).catch(() => ({ size: 0 }))).size
      }
    }
  }
  await walk(dir)
  return { files, bytes }
}
