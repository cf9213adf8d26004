import { csvField, type CsvValue } from './csv-file.ts'
import type { ExtractDataset } from './dataset.ts'
import type { Statistics } from './declaration.ts'
import { PSEUDONYM_LENGTH } from './pseudonym.ts'

/**
 * Rows of a microdata extract (pure): one line per published person, pseudonym first, then the quasi-identifiers
 * at their chosen levels, the sensitive attributes and the measures, ordered by pseudonym (so the order says
 * nothing about when a person entered the database, and two months compare line by line).
 */
export function microdataHeader(stats: Statistics): string[] {
  return [stats.pseudonym_column, ...stats.quasi_identifiers.map((q) => q.column), ...stats.sensitive, ...stats.measures]
}

/** ASCII rank of a base32 character (digits sort before letters). */
function rank(byte: number): number {
  return byte <= 0x37 ? byte - 0x32 : byte - 0x61 + 6
}

/** Indexes of the kept rows, in pseudonym order. */
export function orderByPseudonym(dataset: ExtractDataset, keep: Uint8Array): Uint32Array {
  const kept: number[] = []
  for (let r = 0; r < dataset.rows; r++) if (keep[r]) kept.push(r)
  const pseudonyms = dataset.pseudonyms
  if (!pseudonyms) return Uint32Array.from(kept)
  const buffer = pseudonyms.buffer
  const prefixOf = (row: number) => {
    const o = row * PSEUDONYM_LENGTH
    let p = 0
    for (let i = 0; i < 6; i++) p = p * 32 + rank(buffer[o + i]!)
    return p
  }
  const full = (row: number) => pseudonyms.get(row)
  if (dataset.rows >= 1 << 22) {
    return Uint32Array.from(kept.sort((a, b) => (full(a) < full(b) ? -1 : full(a) > full(b) ? 1 : 0)))
  }
  // A 30-bit prefix and a 22-bit row index fit exactly in a double: one numeric sort, then ties by full value.
  const keys = new Float64Array(kept.length)
  for (let i = 0; i < kept.length; i++) keys[i] = prefixOf(kept[i]!) * 4194304 + kept[i]!
  keys.sort()
  const order = new Uint32Array(kept.length)
  for (let i = 0; i < keys.length; i++) order[i] = keys[i]! % 4194304
  for (let start = 0; start < order.length; ) {
    let end = start + 1
    const prefix = prefixOf(order[start]!)
    while (end < order.length && prefixOf(order[end]!) === prefix) end++
    if (end - start > 1) {
      const run = Array.from(order.subarray(start, end)).sort((a, b) => (full(a) < full(b) ? -1 : full(a) > full(b) ? 1 : 0))
      order.set(run, start)
    }
    start = end
  }
  return order
}

export function* microdataRows(dataset: ExtractDataset, levels: readonly number[], order: Uint32Array): Generator<CsvValue[]> {
  const qis = dataset.quasiIdentifiers.map((q, i) => ({ codes: q.codes, map: q.levelMaps[levels[i]!]!, labels: q.levelLabels[levels[i]!]! }))
  for (let i = 0; i < order.length; i++) {
    const r = order[i]!
    const row: CsvValue[] = [dataset.pseudonyms ? dataset.pseudonyms.get(r) : null]
    for (const q of qis) row.push(q.labels[q.map[q.codes[r]!]!] ?? null)
    for (const s of dataset.sensitive) row.push(s.labels[s.codes[r]!] ?? null)
    for (const m of dataset.measures) {
      const v = m.values[r]!
      row.push(Number.isNaN(v) ? null : v)
    }
    yield row
  }
}

/**
 * The same rows as CSV bytes, in chunks of about `chunkBytes`: each dictionary label is encoded once, pseudonyms
 * are copied byte for byte (a million lines without a million strings).
 */
export function* microdataChunks(
  dataset: ExtractDataset,
  levels: readonly number[],
  order: Uint32Array,
  delimiter: string,
  chunkBytes = 1 << 20,
): Generator<Buffer> {
  const encode = (labels: readonly (string | null)[]) => labels.map((l) => Buffer.from(csvField(l, delimiter), 'utf8'))
  const qis = dataset.quasiIdentifiers.map((q, i) => ({ codes: q.codes, map: q.levelMaps[levels[i]!]!, bytes: encode(q.levelLabels[levels[i]!]!) }))
  const sensitive = dataset.sensitive.map((s) => ({ codes: s.codes, bytes: encode(s.labels) }))
  const widest = (list: Buffer[]) => list.reduce((w, b) => Math.max(w, b.length), 0)
  const maxLine =
    PSEUDONYM_LENGTH + 1 + qis.reduce((w, q) => w + 1 + widest(q.bytes), 0) + sensitive.reduce((w, s) => w + 1 + widest(s.bytes), 0) + dataset.measures.length * 32
  const separator = delimiter.charCodeAt(0)
  const pseudonyms = dataset.pseudonyms?.buffer
  let chunk = Buffer.allocUnsafe(Math.max(chunkBytes, maxLine))
  let at = 0
  for (let i = 0; i < order.length; i++) {
    if (at + maxLine > chunk.length) {
      yield chunk.subarray(0, at)
      chunk = Buffer.allocUnsafe(Math.max(chunkBytes, maxLine))
      at = 0
    }
    const r = order[i]!
    // Byte loops: the values are a few bytes long, shorter than a Buffer.copy call costs.
    if (pseudonyms) for (let b = r * PSEUDONYM_LENGTH, end = b + PSEUDONYM_LENGTH; b < end; b++) chunk[at++] = pseudonyms[b]!
    for (const q of qis) {
      chunk[at++] = separator
      const label = q.bytes[q.map[q.codes[r]!]!]!
      for (let b = 0; b < label.length; b++) chunk[at++] = label[b]!
    }
    for (const s of sensitive) {
      chunk[at++] = separator
      const label = s.bytes[s.codes[r]!]!
      for (let b = 0; b < label.length; b++) chunk[at++] = label[b]!
    }
    for (const m of dataset.measures) {
      chunk[at++] = separator
      at += chunk.write(csvField(m.values[r]!, delimiter), at, 'utf8')
    }
    chunk[at++] = 0x0a
  }
  if (at > 0) yield chunk.subarray(0, at)
}
