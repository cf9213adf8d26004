import fc from 'fast-check'
import { PassThrough } from 'node:stream'
import { writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'

/**
 * Generated flow files carrying planted sentinel values (distinctive names, NIRs, addresses), and an arbitrary of
 * the damage a file suffers in transit or at the producer's: bytes deleted, markup characters inserted, the file
 * cut short, fragments duplicated. Tests run the mutated files through the real readers and the ingest path and
 * assert that no sentinel (nor any 6-character piece of one) reaches a message, a rejection row, a log line or a
 * `.nack`.
 */
export const NAME_SENTINELS = ['ZYGOMARBLEX', 'QUAXTRIMBOLD', 'VELKANDRIOS', 'KRAZMOLTWEG', 'VLORPZINGEN'] as const
export const NIR_SENTINELS = ['2737373737373', '1464646464646'] as const
const ALL = [...NAME_SENTINELS, ...NIR_SENTINELS]

/** Every 6-character piece of every sentinel, upper and lower case. */
const PIECES: string[] = (() => {
  const pieces = new Set<string>()
  for (const s of ALL) {
    for (let i = 0; i + 6 <= s.length; i++) {
      pieces.add(s.slice(i, i + 6))
      pieces.add(s.slice(i, i + 6).toLowerCase())
    }
  }
  return [...pieces]
})()

/** The first sentinel piece found in `text`, or undefined. */
export function findSentinel(text: string): string | undefined {
  return PIECES.find((p) => text.includes(p))
}

async function collect(write: (out: NodeJS.WritableStream) => Promise<unknown>): Promise<Buffer> {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (c: Buffer) => chunks.push(c))
  await write(out)
  out.end()
  return Buffer.concat(chunks)
}

/** A small CAF stock (windows-1252 text read as latin1) with every name, NIR and street replaced by sentinels. */
export async function cnafSentinelFile(foyers = 3): Promise<string> {
  const bytes = await collect((out) => writeCnafFile(out as never, { flow: 'caf', seed: 5, typeflux: 'M', foyers, dtcreaflux: '2026-03-02' }))
  let i = 0
  const next = (list: readonly string[]) => list[i++ % list.length] as string
  return bytes
    .toString('latin1')
    .replace(/<(NOM|NOMNAI|PRENOM|PRENOM2|PRENOM3|NOMVOIE|LIEUDIST|LIBCOMMUNE)>[^<]*</g, (_, tag: string) => `<${tag}>${next(NAME_SENTINELS)}<`)
    .replace(/<NIR>([0-9]{13})([0-9]{2})?</g, (_, _nir, key: string | undefined) => `<NIR>${next(NIR_SENTINELS)}${key ?? ''}<`)
}

/** A France Travail stock (header + rows) with the names, NIRs and addresses replaced by sentinels. */
export async function franceTravailSentinelFile(rows = 4): Promise<string> {
  const bytes = await collect((out) => writeFranceTravailFile({ kind: 'stock', seed: 5, foyers: rows, date: '2026-03-02' }, out))
  const lines = bytes.toString('latin1').split('\r\n')
  let i = 0
  const next = (list: readonly string[]) => list[i++ % list.length] as string
  return lines
    .map((line, n) => {
      if (n === 0 || line === '') return line
      const cells = line.split(';')
      const nir = next(NIR_SENTINELS)
      cells[0] = nir
      cells[2] = next(NAME_SENTINELS)
      cells[3] = next(NAME_SENTINELS)
      if (cells.length > 7) cells[7] = nir
      if (cells.length > 10) cells[10] = `12 RUE ${next(NAME_SENTINELS)}`
      return cells.join(';')
    })
    .join('\r\n')
}

/** Where a mutation applies: anywhere (a fraction of the length) or close to a sentinel occurrence (most damage there). */
const position = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }).map((f) => ({ fraction: f })),
  fc.record({ occurrence: fc.nat(), offset: fc.integer({ min: -12, max: 16 }) }),
  fc.record({ occurrence: fc.nat(), offset: fc.integer({ min: -12, max: 16 }) }),
)
type Position = { fraction: number } | { occurrence: number; offset: number }

export type Mutation =
  | { kind: 'delete'; at: Position; length: number }
  | { kind: 'insert'; at: Position; text: string }
  | { kind: 'truncate'; at: Position }
  | { kind: 'duplicate'; from: Position; length: number; to: Position }

export const mutationsArbitrary = (inserts: readonly string[]) =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 3 }) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: position, text: fc.constantFrom(...inserts) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: position }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('duplicate' as const), from: position, length: fc.integer({ min: 1, max: 120 }), to: position }),
      },
    ),
    { minLength: 1, maxLength: 4 },
  )

export const XML_INSERTS = ['<', '>', '"', '=', '&', '</', '/>', "'", '<!--', ' ', '\n'] as const
export const CSV_INSERTS = [';', '"', '\n', '\r\n', '<', '>', '=', '&', ' '] as const

function sentinelOffsets(text: string): number[] {
  const offsets: number[] = []
  for (const s of ALL) for (let at = text.indexOf(s); at !== -1; at = text.indexOf(s, at + 1)) offsets.push(at)
  return offsets.sort((a, b) => a - b)
}

function resolve(text: string, at: Position, offsets: number[]): number {
  if ('fraction' in at) return Math.floor(at.fraction * text.length)
  if (offsets.length === 0) return Math.floor(text.length / 2)
  return Math.max(0, Math.min(text.length, (offsets[at.occurrence % offsets.length] as number) + at.offset))
}

export function applyMutations(text: string, mutations: readonly Mutation[]): string {
  for (const m of mutations) {
    const offsets = sentinelOffsets(text)
    switch (m.kind) {
      case 'delete': {
        const at = resolve(text, m.at, offsets)
        text = text.slice(0, at) + text.slice(at + m.length)
        break
      }
      case 'insert': {
        const at = resolve(text, m.at, offsets)
        text = text.slice(0, at) + m.text + text.slice(at)
        break
      }
      case 'truncate':
        text = text.slice(0, resolve(text, m.at, offsets))
        break
      case 'duplicate': {
        const from = resolve(text, m.from, offsets)
        const to = resolve(text, m.to, offsets)
        text = text.slice(0, to) + text.slice(from, from + m.length) + text.slice(to)
        break
      }
    }
  }
  return text
}
