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
  // A spreadsheet would run a cell starting with = + - @ as a formula: neutralise non-numeric ones.
  if (/^[=+\-@\t\r]/.test(text) && !NUMERIC.test(text)) text = `'${text}`
  if (text.includes(delimiter) || text.includes('"') || text.includes('\n') || text.includes('\r')) {
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

export async function writeCsvFile(
  file: string,
  header: readonly string[],
  rows: Iterable<readonly CsvValue[]>,
  delimiter = ',',
): Promise<WrittenFile> {
  const temporary = `${file}.partial`
  const stream = createWriteStream(temporary, { mode: 0o640 })
  const hash = createHash('sha256')
  let bytes = 0
  let count = 0
  let failed: Error | undefined
  stream.on('error', (error) => (failed = error))
  const write = async (chunk: string) => {
    if (failed) throw failed
    const buffer = Buffer.from(chunk, 'utf8')
    hash.update(buffer)
    bytes += buffer.length
    if (!stream.write(buffer)) await once(stream, 'drain')
  }
  try {
    let chunk = csvLine(header, delimiter)
    for (const row of rows) {
      chunk += csvLine(row, delimiter)
      count++
      if (chunk.length >= 1 << 16) {
        await write(chunk)
        chunk = ''
      }
    }
    if (chunk) await write(chunk)
    stream.end()
    await finished(stream)
    await rename(temporary, file)
  } catch (error) {
    stream.destroy()
    await rm(temporary, { force: true })
    throw error
  }
  return { path: file, sha256: hash.digest('hex'), bytes, rows: count }
}
