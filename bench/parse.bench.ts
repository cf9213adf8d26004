/**
 * npm run bench:parse -- [--rows 200000] [--foyers 8000] [--rounds 2] [--only cnafBaseline,cafInstruction,franceTravailSpie,...]
 *
 * Parse-only throughput of the flow readers on realistic generated files, each variant in its own child process
 * (its peak RSS is its own), `rounds` times, best round reported. Nothing is loaded into a database.
 *   - baseline: the CNAF VRSB0801 reader (readCnafFile, scan parser, calling thread) on a generated monthly stock;
 *   - the France Travail stock and the orientations file read by their flow's reader;
 *   - (after issue 14) the generic csv-records and xml-records readers on realistic generated files, at 1x and 2x
 *     size, to show time is linear;
 *   - (issue 17) the CNAF instruction flow VIRS0901 (flows/caf-instruction.yaml, xml-records with per-person members)
 *     on a generated file of `foyers` applications, at 1x and 2x, beside the CNAF baseline of the same run.
 * `--only` runs the named variants (and writes only their files), the baseline included when named.
 */
import { spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs'
import { once } from 'node:events'
import path from 'node:path'
import { writeCnafFile } from '../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeInstructionFile } from '../src/fixtures/cnaf/write-instruction-file.ts'
import { writeFranceTravailFile } from '../src/fixtures/france-travail/write-france-travail-file.ts'
import { parse as parseYaml } from 'yaml'
import { readCnafFile } from '../src/ingestion/cnaf/read-cnaf-file.ts'
import { foyer } from '../src/fixtures/population.ts'
import { loadFlows } from '../src/flows/load-flows.ts'
import { CsvRecordsDeclarationSchema, type CsvRecordsDeclaration } from '../src/ingestion/formats/csv-records/declaration.ts'
import { readCsvDeclared } from '../src/ingestion/formats/csv-records/read-csv-declared.ts'
import { XmlRecordsDeclarationSchema, type XmlRecordsDeclaration } from '../src/ingestion/formats/xml-records/declaration.ts'
import { readXmlDeclared } from '../src/ingestion/formats/xml-records/read-xml-declared.ts'
import { benchRecipient, encryptFor } from './encrypted-files.ts'
import { writeFichierPeCg } from '../src/fixtures/france-travail/write-fichier-pe-cg.ts'
import { fileOpener } from '../src/ingestion/decrypt/decryption-stage.ts'
import { PECG_LIKE_XML, SPIE_LIKE_CSV, writePecgLikeXml, writeSpieLikeCsv } from './generic-files.ts'
import { writeSpieActions, writeSpiePrincipal } from '../src/fixtures/france-travail/write-spie.ts'
import { writeEncrypted } from '../src/fixtures/smime.ts'

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const ROWS = Number(arg("rows") ?? 100_000)
const FOYERS = Number(arg('foyers') ?? 8000)
const ROUNDS = Number(arg('rounds') ?? 2)
/** --only a,b: measure only these variants (all the files are still prepared). */
const only = (arg('only') ?? '').split(',').filter(Boolean)
const ONLY = arg('only')?.split(',')
const wanted = (name: string) => !ONLY || ONLY.includes(name)
const dir = path.resolve(import.meta.dirname, 'out')

type Counts = { records: number; rejected: number }
type Variant = { name: string; file: string; run: (file: string) => Promise<Counts> }

async function cnaf(file: string): Promise<Counts> {
  let records = 0
  let rejected = 0
  for await (const event of readCnafFile(file, { fallbackEncoding: 'windows-1252', organismes: ['CAF'], fileLabel: 'bench.xml' })) {
    if (event.type === 'records') {
      records += event.records.length
      for (const r of event.records) if (!r.ok) rejected++
    }
  }
  return { records, rejected }
}

const SHIPPED = loadFlows(path.resolve(import.meta.dirname, '../flows'))

/** Reads a file through a csv-records or xml-records declaration, counting records and rejections. */
async function declared(file: string, format: CsvRecordsDeclaration | XmlRecordsDeclaration, kind: string, decrypt = false): Promise<Counts> {
  let records = 0
  let rejected = 0
  // Decryption included: the file is deciphered as it streams into the reader (src/ingestion/decrypt/).
  const open = decrypt ? fileOpener(file, benchRecipient(dir)) : undefined
  const batches = format.type === 'csv-records' ? readCsvDeclared(file, format, { kind, fileLabel: 'bench', open }) : readXmlDeclared(file, format, { kind, fileLabel: 'bench', open, recipient: '93' })
  for await (const batch of batches) {
    records += batch.length
    for (const r of batch) if (!r.ok) rejected++
  }
  return { records, rejected }
}

function shippedCsv(id: string): CsvRecordsDeclaration {
  const format = SHIPPED.get(id)?.format
  if (format?.type !== 'csv-records') throw new Error(`flows/${id}.yaml is not a csv-records flow`)
  return format
}

const franceTravail = (file: string) => declared(file, shippedCsv('france-travail'), 'stock')
const orientations = (file: string) => declared(file, shippedCsv('orientations'), 'orientations')
const genericCsv = (file: string) => declared(file, CsvRecordsDeclarationSchema.parse(parseYaml(SPIE_LIKE_CSV)), 'records')
const genericXml = (file: string) => declared(file, XmlRecordsDeclarationSchema.parse(parseYaml(PECG_LIKE_XML)), 'records')

async function writeOrientations(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file)
  out.write('numdemrsa;rolepers;organisme;siret_structure;email_referent;date_debut;date_fin\n')
  for (let i = 0; i < rows; i++) {
    const f = foyer('bench', i % 5000)
    const line = `${f.numdemrsa};DEM;CAF;73282932000074;referent.${i % 97}@ccas-exemple.fr;${String((i % 28) + 1).padStart(2, '0')}/0${(i % 9) + 1}/2026;${i % 3 === 0 ? '31/12/2026' : ''}\n`
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

const shippedXml = (id: string): XmlRecordsDeclaration => {
  const format = SHIPPED.get(id)?.format
  if (format?.type !== 'xml-records') throw new Error(`flows/${id}.yaml is not an xml-records flow`)
  return format
}
const spieEncrypted = (file: string) => declared(file, CsvRecordsDeclarationSchema.parse(parseYaml(SPIE_LIKE_CSV)), 'records', true)
const franceTravailMensuel = (file: string) => declared(file, shippedXml('france-travail-mensuel'), 'stock')
const franceTravailMensuelEncrypted = (file: string) => declared(file, shippedXml('france-travail-mensuel'), 'stock', true)
// The shipped SPIE flows on generated extracts (src/fixtures/france-travail/write-spie.ts), S/MIME decryption included.
const franceTravailSpie = (file: string) => declared(file, shippedCsv('france-travail-spie'), 'principal', true)
const franceTravailSpieActions = (file: string) => declared(file, shippedCsv('france-travail-spie-actions'), 'actions', true)
const cafInstruction = (file: string) => declared(file, shippedXml('caf-instruction'), 'daily')

const VARIANTS: Record<string, (file: string) => Promise<Counts>> = {
  cnafBaseline: cnaf, franceTravail, orientations, genericCsv, genericCsv2x: genericCsv, genericXml, genericXml2x: genericXml,
  spieEncrypted, spieEncrypted2x: spieEncrypted, franceTravailMensuel, franceTravailMensuelEncrypted,
  franceTravailSpie, franceTravailSpie2x: franceTravailSpie, franceTravailSpieActions,
  cafInstruction, cafInstruction2x: cafInstruction,
}

async function child(): Promise<void> {
  const [, variant, file] = args
  const run = VARIANTS[variant as string]
  if (!run) throw new Error(`unknown variant ${variant}`)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const counts = await run(file as string)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  process.stdout.write(JSON.stringify({ ...counts, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024 }))
}

async function prepare(): Promise<Variant[]> {
  mkdirSync(dir, { recursive: true })
  // Variants prepareOnly knows are prepared alone; any other name prepares every file and filters.
  if (ONLY && ONLY.every((n) => ['cnafBaseline', 'cafInstruction', 'cafInstruction2x'].includes(n))) return (await prepareOnly()).filter((v) => wanted(v.name))
  return prepareAll()
}

/** The files of the variants `--only` names (the instruction variants and the CNAF baseline). */
async function prepareOnly(): Promise<Variant[]> {
  const out: Variant[] = []
  if (wanted('cnafBaseline')) {
    const cnafFile = path.join(dir, `parse-cnaf-${FOYERS}.xml`)
    if (!existsSync(cnafFile)) await writeCnafFile(cnafFile, { flow: 'caf', seed: 'bench', typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-11-30' })
    out.push({ name: 'cnafBaseline', file: cnafFile, run: cnaf })
  }
  for (const [name, n] of [['cafInstruction', FOYERS], ['cafInstruction2x', 2 * FOYERS]] as const) {
    if (!wanted(name)) continue
    const file = path.join(dir, `parse-instruction-${n}.xml`)
    if (!existsSync(file)) await writeInstructionFile(file, { flow: 'caf', seed: 'bench', indices: Array.from({ length: n }, (_, i) => i), dtcreaflux: '2026-11-30' })
    out.push({ name, file, run: cafInstruction })
  }
  if (out.length === 0) throw new Error(`--only names no variant prepareOnly knows (known there: cnafBaseline, cafInstruction, cafInstruction2x; others run without --only)`)
  return out
}

async function prepareAll(): Promise<Variant[]> {
  const cnafFile = path.join(dir, `parse-cnaf-${FOYERS}.xml`)
  if (!existsSync(cnafFile)) await writeCnafFile(cnafFile, { flow: 'caf', seed: 'bench', typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-11-30' })
  const ftFile = path.join(dir, `parse-ft-stock-${ROWS}.csv`)
  if (!existsSync(ftFile)) await writeFranceTravailFile({ kind: 'stock', seed: 'bench', foyers: Math.ceil(ROWS / 1.3), date: '2026-11-30' }, ftFile)
  const orFile = path.join(dir, `parse-orientations-${ROWS}.csv`)
  if (!existsSync(orFile)) await writeOrientations(orFile, ROWS)
  const csv1 = path.join(dir, `parse-generic-${ROWS}.csv`)
  const csv2 = path.join(dir, `parse-generic-${2 * ROWS}.csv`)
  const xml1 = path.join(dir, `parse-generic-${ROWS / 2}.xml`)
  const xml2 = path.join(dir, `parse-generic-${ROWS}.xml`)
  if (!existsSync(csv1)) await writeSpieLikeCsv(csv1, ROWS)
  if (!existsSync(csv2)) await writeSpieLikeCsv(csv2, 2 * ROWS)
  if (!existsSync(xml1)) await writePecgLikeXml(xml1, ROWS / 2)
  if (!existsSync(xml2)) await writePecgLikeXml(xml2, ROWS)
  // Issue 15: SPIE-like CSV encrypted (S/MIME, DER, AES-256-CBC), fichier-PE-CG through the shipped flow, clear and encrypted.
  const { certificateFile } = benchRecipient(dir)
  const spie1 = path.join(dir, `parse-generic-${ROWS}.csv.p7m`)
  const spie2 = path.join(dir, `parse-generic-${2 * ROWS}.csv.p7m`)
  encryptFor(csv1, spie1, certificateFile)
  encryptFor(csv2, spie2, certificateFile)
  const pecg = path.join(dir, `parse-fichier-pe-cg-${ROWS}.xml`)
  if (!existsSync(pecg)) await writeFichierPeCg(pecg, { seed: 'bench', foyers: Math.ceil(ROWS / 1.3), date: '2026-11-30' })
  const pecgEncrypted = `${pecg}.p7m`
  encryptFor(pecg, pecgEncrypted, certificateFile)
  // The shipped SPIE flows: principal at 1x and 2x (about ROWS and 2 ROWS lines: 0.56 registered adult per foyer),
  // actions; encrypted as the generator writes them (the clear text goes through openssl's stdin, never a file).
  const spieFoyers = Math.ceil(ROWS / 0.56)
  const spieFile = (name: string, n: number) => path.join(dir, `parse-spie-${name}-${n}.csv.p7m`)
  for (const n of [spieFoyers, 2 * spieFoyers]) {
    if (!existsSync(spieFile('principal', n))) await writeEncrypted(spieFile('principal', n), certificateFile, (out) => writeSpiePrincipal(out, { seed: 'bench', foyers: n, date: '2026-11-30' }))
  }
  if (!existsSync(spieFile('actions', spieFoyers))) {
    await writeEncrypted(spieFile('actions', spieFoyers), certificateFile, (out) => writeSpieActions(out, { seed: 'bench', foyers: spieFoyers, date: '2026-11-30' }))
  }
  const instruction1 = path.join(dir, `parse-instruction-${FOYERS}.xml`)
  const instruction2 = path.join(dir, `parse-instruction-${2 * FOYERS}.xml`)
  for (const [file, n] of [[instruction1, FOYERS], [instruction2, 2 * FOYERS]] as const) {
    if (!existsSync(file)) await writeInstructionFile(file, { flow: 'caf', seed: 'bench', indices: Array.from({ length: n }, (_, i) => i), dtcreaflux: '2026-11-30' })
  }
  return [
    { name: 'cnafBaseline', file: cnafFile, run: cnaf },
    { name: 'franceTravail', file: ftFile, run: franceTravail },
    { name: 'orientations', file: orFile, run: orientations },
    { name: 'genericCsv', file: csv1, run: genericCsv },
    { name: 'genericCsv2x', file: csv2, run: genericCsv },
    { name: 'genericXml', file: xml1, run: genericXml },
    { name: 'genericXml2x', file: xml2, run: genericXml },
    { name: 'spieEncrypted', file: spie1, run: spieEncrypted },
    { name: 'spieEncrypted2x', file: spie2, run: spieEncrypted },
    { name: 'franceTravailMensuel', file: pecg, run: franceTravailMensuel },
    { name: 'franceTravailMensuelEncrypted', file: pecgEncrypted, run: franceTravailMensuelEncrypted },
    { name: 'cafInstruction', file: instruction1, run: cafInstruction },
    { name: 'cafInstruction2x', file: instruction2, run: cafInstruction },
    { name: 'franceTravailSpie', file: spieFile('principal', spieFoyers), run: franceTravailSpie },
    { name: 'franceTravailSpie2x', file: spieFile('principal', 2 * spieFoyers), run: franceTravailSpie },
    { name: 'franceTravailSpieActions', file: spieFile('actions', spieFoyers), run: franceTravailSpieActions },
  ].filter((v) => only.length === 0 || only.includes(v.name))
}

function measure(variant: string, file: string) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', variant, file], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (result.status !== 0) throw new Error(`${variant} failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as Counts & { seconds: number; cpuSeconds: number; peakRssMb: number }
}

async function main(): Promise<void> {
  const variants = await prepare()
  const labels: Record<string, string> = {
    cnafBaseline: 'CNAF VRSB0801, dedicated reader (baseline)',
    franceTravail: 'France Travail stock, csv-records',
    orientations: 'orientations, csv-records',
    genericCsv: 'generic csv-records (SPIE-like), 1x',
    genericCsv2x: 'generic csv-records (SPIE-like), 2x',
    genericXml: 'generic xml-records (PE-CG-like), 1x',
    genericXml2x: 'generic xml-records (PE-CG-like), 2x',
    spieEncrypted: 'SPIE-like csv-records, S/MIME decrypted, 1x',
    spieEncrypted2x: 'SPIE-like csv-records, S/MIME decrypted, 2x',
    franceTravailMensuel: 'france-travail-mensuel (fichier-PE-CG)',
    franceTravailMensuelEncrypted: 'france-travail-mensuel, S/MIME decrypted',
    franceTravailSpie: 'france-travail-spie, S/MIME decrypted, 1x',
    franceTravailSpie2x: 'france-travail-spie, S/MIME decrypted, 2x',
    franceTravailSpieActions: 'france-travail-spie-actions, S/MIME decrypted',
    cafInstruction: 'caf-instruction (VIRS0901), xml-records, 1x',
    cafInstruction2x: 'caf-instruction (VIRS0901), xml-records, 2x',
  }
  console.log(`parse benchmark: ${ROUNDS} rounds, best reported; node ${process.version}`)
  console.log('reader'.padEnd(46) + 'MB'.padStart(8) + 'records'.padStart(10) + 'rejected'.padStart(10) + 's'.padStart(8) + 'MB/s'.padStart(8) + 'MB/cpu-s'.padStart(10) + 'peak RSS MB'.padStart(13))
  for (const v of variants) {
    const size = statSync(v.file).size / 1e6
    let best: ReturnType<typeof measure> | undefined
    for (let r = 0; r < ROUNDS; r++) {
      const m = measure(v.name, v.file)
      if (!best || m.seconds < best.seconds) best = m
    }
    const b = best!
    console.log(
      (labels[v.name] ?? v.name).padEnd(46) + size.toFixed(1).padStart(8) + String(b.records).padStart(10) + String(b.rejected).padStart(10) +
        b.seconds.toFixed(2).padStart(8) + (size / b.seconds).toFixed(1).padStart(8) + (size / b.cpuSeconds).toFixed(1).padStart(10) + b.peakRssMb.toFixed(0).padStart(13),
    )
  }
}

if (args[0] === '--child') await child()
else await main()
