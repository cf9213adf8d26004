import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'

/**
 * CSV output (UTF-8, header line, `\n` line ends, RFC 4180 quoting). The file is written under a temporary name
 * and renamed when complete, so a reader never sees half a file; its SHA-256 is computed on the bytes written.
 */
export type CsvValue = string | number | null

export interface WrittenFile {
  path: string
  sha256: string
  bytes: number
  rows: number
}

const NUMERIC = /^-?\d+(\.\d+)?$/

export function csvField(value: CsvValue, delimiter: string): string {
  if (value === null) return ''
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  let text = value
  // A spreadsheet would run a cell starting with = + - @ as a formula, after leading blanks or line breaks too:
  // neutralise non-numeric ones.
  if (/^[\s]*[=+\-@]|^[\t\r\n]/.test(text) && !NUMERIC.test(text)) text = `'${text}`
  // Quoted when it holds either separator: a spreadsheet set to the other one (`;` in French) would split it there.
  if (text.includes(',') || text.includes(';') || text.includes('"') || text.includes('\n') || text.includes('\r')) {
    return `"${text.replace(/"/g, '""')}"`
  }
  return text
}

export function csvLine(values: readonly CsvValue[], delimiter: string): string {
  let line = ''
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += delimiter
    line += csvField(values[i]!, delimiter)
  }
  return line + '\n'
}

/** The UTF-8 byte order mark: Excel reads a CSV as UTF-8 only when it starts with it. */
export const UTF8_BOM = '\uFEFF'

export async function writeCsvFile(
  file: string,
  header: readonly string[],
  rows: Iterable<readonly CsvValue[]>,
  delimiter = ',',
  options: { bom?: boolean } = {},
): Promise<WrittenFile> {
  function* lines() {
    for (const row of rows) yield csvLine(row, delimiter)
  }
  return writeCsvLines(file, (options.bom ? UTF8_BOM : '') + csvLine(header, delimiter), lines())
}

/** Same, from lines already encoded (each ending with `\n`). */
export async function writeCsvLines(file: string, header: string, lines: Iterable<string>): Promise<WrittenFile> {
  let rows = 0
  function* chunks() {
    let chunk = header
    for (const line of lines) {
      chunk += line
      rows++
      if (chunk.length >= 1 << 16) {
        yield chunk
        chunk = ''
      }
    }
    if (chunk) yield chunk
  }
  const written = await writeChunks(file, chunks())
  return { ...written, rows }
}

/** Same, from encoded bytes: the header line, then `rows` lines in chunks. */
export async function writeCsvBytes(file: string, header: string, chunks: Iterable<Buffer>, rows: number): Promise<WrittenFile> {
  function* all() {
    yield header
    yield* chunks
  }
  return { ...(await writeChunks(file, all())), rows }
}

/** Writes the chunks under a temporary name, renames the file when complete; SHA-256 of the bytes written. */
async function writeChunks(file: string, chunks: Iterable<string | Buffer>): Promise<Omit<WrittenFile, 'rows'>> {
  const temporary = `${file}.partial`
  const stream = createWriteStream(temporary, { mode: 0o640 })
  const hash = createHash('sha256')
  let bytes = 0
  let failed: Error | undefined
  stream.on('error', (error) => (failed = error))
  try {
    for (const chunk of chunks) {
      if (failed) throw failed
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
      hash.update(buffer)
      bytes += buffer.length
      if (!stream.write(buffer)) await once(stream, 'drain')
    }
    stream.end()
    await finished(stream)
    await rename(temporary, file)
  } catch (error) {
    stream.destroy()
    await rm(temporary, { force: true })
    throw error
  }
  return { path: file, sha256: hash.digest('hex'), bytes }
}
