/**
 * node --import tsx bench/parse-adversarial.bench.ts [--attributes 200000] [--depth 100000] [--text-mb 8]
 *   [--segments 200000] [--tiny 200000] [--foyers 2000] [--csv-line-mb 8]
 *   (npm run bench:parse-adversarial)
 *
 * Throughput of the readers on adversarial shapes, beside a normal file's in the same run, to show that every
 * reader runs in time linear in its input (src/ingestion/cnaf/check-well-formed.ts, cut-cnaf-file.ts,
 * parse-record-xml.ts, src/ingestion/csv/read-csv-records.ts). Each shape is written as a whole file and read
 * by the real reader with the flow limits lifted (so the shape is parsed to the end, not rejected early), then
 * read again with the default limits (how long a rejection takes). The scan alone (checkWellFormed + the record
 * tree) is timed on the record text in memory too.
 *
 * Shapes: many attributes on one element, deep nesting, one long text node, one text split by many comments
 * (text concatenation), many tiny records, and for CSV one very long line and many tiny lines.
 * Doubling a size should double the time (MB/s stays flat): that is what "linear" looks like here.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { writeCnafFile } from '../src/fixtures/cnaf/write-cnaf-file.ts'
import { checkWellFormed } from '../src/ingestion/cnaf/check-well-formed.ts'
import { readCnafFile } from '../src/ingestion/cnaf/read-cnaf-file.ts'
import { readCsvRecords } from '../src/ingestion/csv/read-csv-records.ts'

const args = process.argv.slice(2)
const num = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const ATTRIBUTES = num('attributes', 200_000)
const DEPTH = num('depth', 100_000)
const TEXT_MB = num('text-mb', 8)
const SEGMENTS = num('segments', 200_000)
const TINY = num('tiny', 200_000)
const FOYERS = num('foyers', 2000)
const CSV_LINE_MB = num('csv-line-mb', 8)

const dir = path.join(os.tmpdir(), `passerelle-bench-adversarial-${process.pid}`)
mkdirSync(dir, { recursive: true })

const HEADER =
  '<?xml version="1.0" encoding="windows-1252"?>\n<Racine>\n<IdentificationFlux><APPLIEME>CRI</APPLIEME><NUMVERSIONAPPLIEME>6200</NUMVERSIONAPPLIEME>' +
  '<TYPEFLUX>M</TYPEFLUX><NATFLUX>D</NATFLUX><DTCREAFLUX>2026-01-05</DTCREAFLUX><HEUCREAFLUX>04:55:47.9000</HEUCREAFLUX><DTREF>2025-12-31</DTREF></IdentificationFlux>\n'
const trailer = (n: number) => `<TransmissionFlux><NBTOTDOSRSATRANSM>${String(n).padStart(8, "0")}</NBTOTDOSRSATRANSM><NBTOTDOSRSATRANSMANO>00000000</NBTOTDOSRSATRANSMANO></TransmissionFlux>\n</Racine>\n`
const oneRecord = (inner: string, open = '<InfosFoyerRSA>') => `${HEADER}${open}${inner}</InfosFoyerRSA>\n${trailer(1)}`

function attributesShape(n: number): string {
  const parts: string[] = []
  for (let i = 0; i < n; i++) parts.push(` a${i}="1"`)
  return oneRecord('', `<InfosFoyerRSA${parts.join('')}>`)
}
const deepShape = (n: number) => oneRecord(`${'<X>'.repeat(n)}${'</X>'.repeat(n)}`)
const longTextShape = (mb: number) => oneRecord(`<NOMRSA>${'A'.repeat(Math.round(mb * 1e6))}</NOMRSA>`)
const segmentsShape = (n: number) => oneRecord(`<NOMRSA>${'AB<!---->'.repeat(n)}</NOMRSA>`)
const tinyShape = (n: number) => `${HEADER}${'<InfosFoyerRSA/>\n'.repeat(n)}${trailer(n)}`

interface Row {
  shape: string
  mb: number
  scanMbS?: number
  lifted: string
  defaults: string
}

/** Limits high enough not to stop any shape (src/ingestion/reader-limits.ts), to time the parse itself. */
const LIFTED = { maxRecordBytes: 1 << 30, maxLineChars: 1 << 30, maxTextChars: 1 << 30, maxAttributes: 1 << 30, maxDepth: 1 << 30 }

async function readCnaf(file: string, limits: typeof LIFTED | undefined): Promise<{ seconds: number; outcome: string }> {
  const t0 = performance.now()
  let records = 0
  let rejected = 0
  let outcome: string
  try {
    for await (const event of readCnafFile(file, { fallbackEncoding: 'windows-1252', organismes: ['CAF'], fileLabel: 'bench.xml', ...(limits ? { limits } : {}) } as never)) {
      if ((event as { type: string }).type === 'records') {
        for (const r of (event as { records: { ok: boolean }[] }).records) {
          records++
          if (!r.ok) rejected++
        }
      }
    }
    outcome = `read, ${records} records (${rejected} rejected)`
  } catch (error) {
    const e = error as { code?: string; name?: string }
    outcome = `file rejected: ${e.code ?? e.name}`; if (process.env.DEBUG_BENCH) console.error((error as Error).message)
  }
  return { seconds: (performance.now() - t0) / 1000, outcome }
}

/** The scan alone over the records of a shape (each `<InfosFoyerRSA...>...</InfosFoyerRSA>` or `<InfosFoyerRSA/>`). */
function scanRate(text: string): number {
  const records = text.match(/<InfosFoyerRSA[\s\S]*?(?:<\/InfosFoyerRSA>|\/>)(?=\n)/g) ?? []
  const unlimited = { limits: { maxAttributes: 1 << 30, maxDepth: 1 << 30, maxTextChars: 1 << 30 } }
  const chars = records.reduce((n, r) => n + r.length, 0)
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now()
    for (const record of records) checkWellFormed(record, 'element', undefined, undefined, unlimited as never)
    best = Math.min(best, performance.now() - t0)
  }
  return chars / 1e6 / (best / 1000)
}

const fmt = (mb: number, r: { seconds: number; outcome: string }) => `${(mb / r.seconds).toFixed(1)} MB/s (${r.seconds.toFixed(2)} s, ${r.outcome})`

async function cnafShape(shape: string, text: string | undefined, file?: string): Promise<Row> {
  const target = file ?? path.join(dir, `${shape.replace(/\W+/g, '-')}.xml`)
  if (text !== undefined) writeFileSync(target, text, 'latin1')
  const mb = statSync(target).size / 1e6
  const lifted = await readCnaf(target, LIFTED)
  const defaults = await readCnaf(target, undefined)
  const scan = text === undefined ? undefined : scanRate(text)
  return { shape, mb, scanMbS: scan, lifted: fmt(mb, lifted), defaults: fmt(mb, defaults) }
}

async function readCsv(file: string, limits: typeof LIFTED | undefined): Promise<{ seconds: number; outcome: string }> {
  const t0 = performance.now()
  let records = 0
  let outcome: string
  try {
    for await (const batch of readCsvRecords(file, {
      encoding: 'utf-8',
      delimiter: ';',
      fileLabel: 'bench.csv',
      hasHeader: false,
      record: (cells: string[], at: object) => ({ ok: true, value: { cells: cells.length, ...at } }) as never,
      ...(limits ? { limits } : {}),
    } as never)) {
      records += (batch as unknown[]).length
    }
    outcome = `read, ${records} records`
  } catch (error) {
    const e = error as { code?: string; name?: string }
    outcome = `file rejected: ${e.code ?? e.name}`; if (process.env.DEBUG_BENCH) console.error((error as Error).message)
  }
  return { seconds: (performance.now() - t0) / 1000, outcome }
}

async function csvShape(shape: string, text: string): Promise<Row> {
  const file = path.join(dir, `${shape.replace(/\W+/g, '-')}.csv`)
  writeFileSync(file, text)
  const mb = statSync(file).size / 1e6
  const lifted = await readCsv(file, LIFTED)
  const defaults = await readCsv(file, undefined)
  return { shape, mb, lifted: fmt(mb, lifted), defaults: fmt(mb, defaults) }
}

const rows: Row[] = []
try {
  const normal = path.join(dir, 'normal.xml')
  await writeCnafFile(normal, { flow: 'caf', seed: 7, typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-01-05' } as never)
  rows.push(await cnafShape(`normal CAF stock, ${FOYERS} foyers`, undefined, normal))
  rows.push(await cnafShape(`${ATTRIBUTES.toLocaleString('en')} attributes on one element`, attributesShape(ATTRIBUTES)))
  rows.push(await cnafShape(`nesting ${DEPTH.toLocaleString('en')} deep`, deepShape(DEPTH)))
  rows.push(await cnafShape(`one ${TEXT_MB} MB text node`, longTextShape(TEXT_MB)))
  rows.push(await cnafShape(`one text in ${SEGMENTS.toLocaleString('en')} segments (comments between)`, segmentsShape(SEGMENTS)))
  rows.push(await cnafShape(`${TINY.toLocaleString('en')} tiny records`, tinyShape(TINY)))
  rows.push(await csvShape(`CSV, one ${CSV_LINE_MB} MB line`, `${'A'.repeat(Math.round(CSV_LINE_MB * 1e6))}\n`))
  rows.push(await csvShape(`CSV, one ${CSV_LINE_MB} MB line of empty cells`, `${';'.repeat(Math.round(CSV_LINE_MB * 1e6))}\n`))
  rows.push(await csvShape(`CSV, ${TINY.toLocaleString('en')} tiny lines`, 'a;b\n'.repeat(TINY)))
} finally {
  rmSync(dir, { recursive: true, force: true })
}

console.log(
  [
    `Adversarial shapes, Node ${process.version} (one thread, one run: compare rows of the same run):`,
    '',
    '| shape | size | scan alone (limits lifted) | reader, limits lifted | reader, default limits |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.shape} | ${r.mb.toFixed(1)} MB | ${r.scanMbS === undefined ? '—' : `${r.scanMbS.toFixed(1)} MB/s`} | ${r.lifted} | ${r.defaults} |`),
  ].join('\n'),
)
