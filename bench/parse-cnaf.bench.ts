/**
 * node --import tsx bench/parse-cnaf.bench.ts [--foyers 30000] [--rounds 2] [--readers scan-0,scan-1,fast-xml-parser-0,fast-xml-parser-2]
 *
 * Parse-only throughput of the CNAF VRSB0801 reader (src/ingestion/cnaf/read-cnaf-file.ts) on a realistic
 * monthly CAF stock made by the fixture generator (~3.7 KB per foyer: resources, activities, addresses,
 * calculation detail; windows-1252), cached in bench/out. Nothing is loaded into a database.
 *
 * In the same run, each variant in its own child process (so its peak RSS is its own), `rounds` times,
 * alternating, best round reported:
 *   - baseline: fast-xml-parser with its default options, record by record (the file streamed, decoded, cut at
 *     `</InfosFoyerRSA>`, each record parsed): what "fast-xml-parser record by record" costs on this machine now;
 *   - cut only: the reader's streaming, decoding and cutting, no parsing (upper bound for any parser);
 *   - readCnafFile, `<parser>-<workers>`: with the default `scan` parser (the record tree is built by the
 *     well-formedness scan) or the `fast-xml-parser` one (scan for well-formedness, then fast-xml-parser on the
 *     mapped blocks), records parsed in the calling thread (0) or in 1 or 2 worker threads; both include zod
 *     validation and the CnafFoyer mapping.
 * Then, in this process, the cost of the well-formedness check alone against fast-xml-parser's XMLValidator.
 * The machine is shared and noisy: compare variants of the same run, not runs of different days. "MB per
 * CPU-second" (file size over the process's user+system CPU time, all threads) is less sensitive to other
 * processes than wall-clock MB/s; for worker variants it shows the total CPU cost, not the speed.
 */
import { spawnSync } from 'node:child_process'
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { writeCnafFile } from '../src/fixtures/cnaf/write-cnaf-file.ts'
import { checkWellFormed } from '../src/ingestion/cnaf/check-well-formed.ts'
import { CnafFileCutter } from '../src/ingestion/cnaf/cut-cnaf-file.ts'
import type { RecordParser } from '../src/ingestion/cnaf/parse-record-xml.ts'
import { readCnafFile } from '../src/ingestion/cnaf/read-cnaf-file.ts'
import { createDecoder } from '../src/ingestion/decode/text-encoding.ts'

type Measure = { variant: string; seconds: number; cpuSeconds: number; foyers: number; persons: number; rejected: number; peakRssMb: number }

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

// ---- child: one measured variant --------------------------------------------------------------------------

type Counts = Omit<Measure, 'variant' | 'seconds' | 'cpuSeconds' | 'peakRssMb'>

async function baseline(file: string): Promise<Counts> {
  const parser = new XMLParser()
  const decoder = new TextDecoder('windows-1252')
  let text = ''
  let foyers = 0
  let persons = 0
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    text += decoder.decode(chunk, { stream: true })
    let from = 0
    for (;;) {
      const start = text.indexOf('<InfosFoyerRSA>', from)
      if (start === -1) break
      const end = text.indexOf('</InfosFoyerRSA>', start)
      if (end === -1) {
        from = start
        break
      }
      const record = parser.parse(text.slice(start, end + 16)) as { InfosFoyerRSA: { Personne: unknown } }
      const personne = record.InfosFoyerRSA.Personne
      persons += Array.isArray(personne) ? personne.length : 1
      foyers++
      from = end + 16
    }
    text = text.slice(from)
  }
  return { foyers, persons, rejected: 0 }
}

async function cutOnly(file: string): Promise<Counts> {
  const cutter = new CnafFileCutter({ fileLabel: file })
  const decode = createDecoder('windows-1252')
  let foyers = 0
  let chars = 0
  const drain = () => {
    for (let piece = cutter.next(); piece !== undefined; piece = cutter.next()) {
      if (piece.kind === 'record') {
        foyers++
        chars += decode(piece.bytes).length
      }
    }
  }
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    cutter.push(chunk)
    drain()
  }
  cutter.end()
  drain()
  if (chars === 0) throw new Error('nothing decoded')
  return { foyers, persons: 0, rejected: 0 }
}

async function reader(file: string, parser: RecordParser, workers: number): Promise<Counts> {
  let foyers = 0
  let persons = 0
  let rejected = 0
  for await (const event of readCnafFile(file, { fallbackEncoding: 'windows-1252', organismes: ['CAF'], fileLabel: path.basename(file), workers, parser })) {
    if (event.type !== 'records') continue
    for (const record of event.records) {
      foyers++
      if (record.ok) persons += record.value.personnes.length
      else rejected++
    }
  }
  return { foyers, persons, rejected }
}

if (args[0] === '--child') {
  const [, variant, file] = args as [string, string, string]
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const readerVariant = /^(scan|fast-xml-parser)-(\d+)$/.exec(variant)
  const counts =
    variant === 'baseline'
      ? await baseline(file)
      : variant === 'cut-only'
        ? await cutOnly(file)
        : readerVariant
          ? await reader(file, readerVariant[1] as RecordParser, Number(readerVariant[2]))
          : (() => {
              throw new Error(`unknown variant ${variant}`)
            })()
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  const measure: Measure = { variant, seconds, cpuSeconds, ...counts, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }
  console.log(JSON.stringify(measure))
  process.exit(0)
}

// ---- parent: generate, run the variants, print the table ----------------------------------------------------

const FOYERS = Number(arg('foyers') ?? 30_000)
const ROUNDS = Number(arg('rounds') ?? 2)
const READERS = (arg('readers') ?? 'scan-0,scan-1,fast-xml-parser-0,fast-xml-parser-2').split(',')
const outDir = path.resolve('bench/out')
mkdirSync(outDir, { recursive: true })
const file = path.join(outDir, `parse-cnaf-${FOYERS}.xml`)
if (!existsSync(file)) {
  const t0 = performance.now()
  const report = await writeCnafFile(file, { flow: 'caf', seed: 2026, typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-11-02' })
  console.error(`generated ${report.foyers} foyers, ${report.persons} persons in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}
const bytes = statSync(file).size
const mb = bytes / 1e6
console.error(`file: ${file} (${mb.toFixed(1)} MB, ${(bytes / FOYERS).toFixed(0)} bytes per foyer)`)

function runChild(variant: string): Measure {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/parse-cnaf.bench.ts', '--child', variant, file], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`bench child ${variant} failed: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as Measure
}

const variants = ['baseline', 'cut-only', ...READERS]
const best = new Map<string, Measure>()
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of variants) {
    const m = runChild(variant)
    console.error(`round ${round + 1} ${variant}: ${(mb / m.seconds).toFixed(1)} MB/s, ${(mb / m.cpuSeconds).toFixed(1)} MB per CPU-second, peak RSS ${m.peakRssMb} MB`)
    const previous = best.get(variant)
    if (!previous || m.seconds < previous.seconds) best.set(variant, m)
  }
}

// Well-formedness check alone, per record, in this process (decoded records held in memory: a 2,000-record sample).
const sample: string[] = []
{
  const decode = createDecoder('windows-1252')
  const text = decode(readFileSync(file).subarray(0, 8 << 20))
  let from = 0
  while (sample.length < 2000) {
    const start = text.indexOf('<InfosFoyerRSA>', from)
    const end = text.indexOf('</InfosFoyerRSA>', start)
    if (start === -1 || end === -1) break
    sample.push(text.slice(start, end + 16))
    from = end + 16
  }
}
const sampleChars = sample.reduce((n, s) => n + s.length, 0)
function rate(fn: (record: string) => unknown): number {
  let bestMs = Number.POSITIVE_INFINITY
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now()
    for (const record of sample) fn(record)
    bestMs = Math.min(bestMs, performance.now() - t0)
  }
  return sampleChars / 1e6 / (bestMs / 1000)
}
const ourCheck = rate((r) => checkWellFormed(r, 'element'))
const fxpValidator = rate((r) => XMLValidator.validate(r))
const fxpDefault = rate((r) => new XMLParser().parse(r))

const baselineRate = mb / (best.get('baseline') as Measure).seconds
const baselineCpu = (best.get('baseline') as Measure).cpuSeconds
const lines = [
  `CNAF VRSB0801 parse, ${FOYERS.toLocaleString('en')} foyers, ${mb.toFixed(0)} MB (${(bytes / FOYERS).toFixed(0)} B/foyer), best of ${ROUNDS}, Node ${process.version}:`,
  '',
  '| variant | MB/s | foyers/s | persons/s | MB per CPU-second | peak RSS | vs baseline, MB/s | vs baseline, CPU |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...variants.map((variant) => {
    const m = best.get(variant) as Measure
    const label =
      variant === 'baseline'
        ? 'fast-xml-parser, default options, record by record (baseline)'
        : variant === 'cut-only'
          ? 'stream + decode + cut only (no parsing)'
          : `readCnafFile, parser ${variant.replace(/-(\d+)$/, '')}, ${variant.replace(/^.*-/, '')} worker thread(s)`
    return `| ${label} | ${(mb / m.seconds).toFixed(1)} | ${Math.round(m.foyers / m.seconds).toLocaleString('en')} | ${
      m.persons ? Math.round(m.persons / m.seconds).toLocaleString('en') : '—'
    } | ${(mb / m.cpuSeconds).toFixed(1)} | ${m.peakRssMb} MB | ${((mb / m.seconds) / baselineRate).toFixed(2)}× | ${(baselineCpu / m.cpuSeconds).toFixed(2)}× |`
  }),
  '',
  `Well-formedness check alone (${sample.length} records in memory, one thread): checkWellFormed ${ourCheck.toFixed(0)} MB/s, ` +
    `fast-xml-parser XMLValidator ${fxpValidator.toFixed(0)} MB/s, fast-xml-parser default parse ${fxpDefault.toFixed(1)} MB/s.`,
]
console.log(lines.join('\n'))
