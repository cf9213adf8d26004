import { closeSync, constants, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import path from 'node:path'

/**
 * The checkpoint file: one JSON line per checkpoint, opened with O_APPEND (a write never overwrites what is
 * there), mode 600, fsynced (and its folder, when the file is created) before the checkpoint counts as written.
 */
export function appendCheckpointLines(file: string, lines: readonly string[]): void {
  if (lines.length === 0) return
  const dir = path.dirname(file)
  mkdirSync(dir, { recursive: true })
  const created = !existsSync(file)
  // A last line cut by a crash stays as it is (audit verify names it); the new lines start on a line of their own.
  const afterTornLine = !created && endsWithoutNewline(file)
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600)
  try {
    const text = Buffer.from((afterTornLine ? '\n' : '') + lines.map((l) => `${l}\n`).join(''))
    let written = 0
    while (written < text.length) written += writeSync(fd, text, written, text.length - written)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  if (created) {
    const dirFd = openSync(dir, constants.O_RDONLY)
    try {
      fsyncSync(dirFd)
    } finally {
      closeSync(dirFd)
    }
  }
}

function endsWithoutNewline(file: string): boolean {
  const fd = openSync(file, constants.O_RDONLY)
  try {
    const size = fstatSync(fd).size
    if (size === 0) return false
    const last = Buffer.alloc(1)
    readSync(fd, last, 0, 1, size - 1)
    return last[0] !== 0x0a
  } finally {
    closeSync(fd)
  }
}

/** The file's text, or undefined when there is no file. */
export function readCheckpointFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The mirror's copy of the checkpoint file: same name, in the mirror folder. */
export function mirrorFile(file: string, mirrorDir: string | undefined): string | undefined {
  return mirrorDir ? path.join(mirrorDir, path.basename(file)) : undefined
}

/** Complete lines of a file's text (a last line without its newline, cut by a crash, is left out). */
export function completeLines(text: string | undefined): string[] {
  if (!text) return []
  const lines = text.split('\n')
  lines.pop()
  return lines.filter((l) => l.trim() !== '')
}
