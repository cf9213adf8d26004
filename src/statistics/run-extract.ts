import { randomUUID } from 'node:crypto'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { appendAuditEvents } from '../audit/audit-log.ts'
import type { AuditEventInput } from '../audit/chain.ts'
import type { Db } from '../db/db.ts'
import type { Logger } from '../log/logger.ts'
import { purposeFields } from '../model/canonical-records.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { countTable, protectLinkedTables, tableRows } from './aggregate-table.ts'
import { aggregateCodebook, codebookCsv, EMPTY_CELL_MEANING, microdataCodebook, PANDAS_ONE_LINER, type CodebookColumn } from './codebook.ts'
import { csvLine, UTF8_BOM, writeCsvBytes, writeCsvFile, writeCsvLines, type WrittenFile } from './csv-file.ts'
import { dimensionCodes, ExtractDatasetBuilder, type ExtractDataset } from './dataset.ts'
import { columnProjection } from './fieldwise-projection.ts'
import { startDigestWorker } from './pseudonym-worker.ts'
import { readStatistics, statisticsOf, type Recipient, type Statistics } from './declaration.ts'
import { assertKeysApart, loadExtractKey, looselyProtectedKeyFiles, type ExtractKey } from './extract-keys.ts'
import { levelName } from './hierarchies.ts'
import { anonymise } from './k-anonymity.ts'
import { microdataChunks, microdataHeader, orderByPseudonym } from './microdata.ts'
import { derivePseudonymKey } from './pseudonym.ts'
import { sftpPusher, type ExtractPusher } from './push-extract.ts'
import { insertExtract, latestMicrodataExtract, markExtractDelivered, readPopulation, refreshPlannerStatistics, type ExtractRecord } from './queries.ts'
import { parisDay } from '../calendar/paris-day.ts'

/**
 * One statistical extract, end to end: read the population through the purpose's projection, apply disclosure
 * control (k-anonymity for microdata, cell suppression for an aggregate table), write the CSV and its manifest,
 * record and audit the delivery, then push both files to the recipient's SFTP server when it declares one.
 * The CLI (`passerelle extract`) and the monthly scheduler call it.
 */
export interface ExtractDeps {
  db: Db
  log: Logger
  /** Where extract keys and SFTP credentials are read (the entry point's environment, or a test's). */
  env: NodeJS.ProcessEnv
  now?: () => Date
  /** SFTP retry policy (config PASSERELLE_SFTP_RETRIES / _RETRY_DELAY_MS). */
  sftp?: { retries: number; retryDelayMs: number }
  /** Replaces the SFTP push (the default goes through src/sftp/connect.ts). */
  pusher?: ExtractPusher
}

export interface ExtractOptions {
  purpose: Purpose
  recipientId: string
  /** Reference date `YYYY-MM-DD` (age computations, file name, manifest); default: today in Europe/Paris. */
  asOf?: string
  outDir: string
  /** An aggregate table of the purpose instead of microdata. */
  aggregate?: string
  /** Push to the recipient's SFTP server when it declares one (default true). */
  push?: boolean
  /** Who asked, for the audit log (default `passerelle`). */
  actor?: string
  /** Persons read per fetch (default 20,000). */
  batchSize?: number
  /** Start the CSV files with a UTF-8 byte order mark (for Excel); default: the declaration's `csv_bom`. */
  bom?: boolean
}

/** The codebook as the manifest carries it: the file beside the extract, and every column described. */
export interface ManifestCodebook {
  file: { name: string; sha256: string; bytes: number }
  columns: CodebookColumn[]
  /** How to read the extract with its declared types in Python. */
  pandas: string
  emptyCells: string
}

export interface ManifestFile {
  name: string
  sha256: string
  bytes: number
  rows: number
  encoding: 'utf-8'
  /** Whether the file starts with a UTF-8 byte order mark (EF BB BF). */
  bom: boolean
  delimiter: string
}

export interface MicrodataManifest {
  format: 'passerelle-extract/1'
  id: string
  kind: 'microdata'
  purpose: { id: string; title: string }
  recipient: { id: string; name: string }
  asOf: string
  createdAt: string
  file: ManifestFile
  columns: { name: string; role: 'pseudonym' | 'quasi-identifier' | 'sensitive' | 'measure'; field?: string; label?: string; hierarchy?: string; level?: string }[]
  codebook: ManifestCodebook
  disclosure: {
    k: number
    kReached: number | null
    maxSuppressionRate: number
    population: number
    suppressed: number
    suppressionRate: number
    generalisation: Record<string, string>
    lDiversity?: { attribute: string; l: number; lReached: number | null }
  }
  pseudonyms: { method: string; keyVersion: number }
}

export interface AggregateManifest {
  format: 'passerelle-extract/1'
  id: string
  kind: 'aggregate'
  purpose: { id: string; title: string }
  recipient: { id: string; name: string }
  asOf: string
  createdAt: string
  file: ManifestFile
  codebook: ManifestCodebook
  table: {
    name: string
    description?: string
    rows: { column: string; level?: string }[]
    columns: { column: string; level?: string }[]
    threshold: number
    cells: number
    suppressedCells: number
    /** The population counted, when the grand total is itself publishable. */
    population: number | null
  }
  disclosure: { method: string }
}

export type ExtractManifest = MicrodataManifest | AggregateManifest

export interface ExtractResult {
  extract: ExtractRecord
  manifest: ExtractManifest
  dataPath: string
  codebookPath: string
  manifestPath: string
  /** Remote paths, when pushed. */
  pushedTo: string[] | undefined
}

/** The extract would suppress more persons than the purpose allows: nothing was written. */
export class ExtractRefusedError extends Error {
  constructor(message: string, readonly verdict: { levels: Record<string, string>; suppressed: number; population: number }) {
    super(message)
    this.name = 'ExtractRefusedError'
  }
}

const DEFAULT_BATCH = 20_000

function checkAsOf(asOf: string): void {
  const date = new Date(`${asOf}T00:00:00Z`)
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== asOf) {
    throw new Error(`--as-of must be a date YYYY-MM-DD (got "${asOf}")`)
  }
}

async function readDataset(
  deps: ExtractDeps,
  purpose: Purpose,
  stats: Statistics,
  options: { asOf: string; now: Date; pseudonymKey: Buffer | undefined; batchSize: number },
): Promise<ExtractDataset> {
  const fields = purposeFields(purpose)
  const analyzed = await refreshPlannerStatistics(deps.db)
  if (analyzed.length > 0) deps.log.info({ tables: analyzed }, 'planner statistics refreshed before reading the population')
  const builder = new ExtractDatasetBuilder(stats, options.pseudonymKey ? 'deferred' : undefined)
  const projectOptions = { asOf: new Date(`${options.asOf}T00:00:00Z`) }
  const projections = builder.columns.map((c) => columnProjection(purpose, c, projectOptions))
  // Pseudonyms are computed by a worker thread while the next rows are read.
  const worker = options.pseudonymKey ? startDigestWorker(options.pseudonymKey) : undefined
  const pending: Promise<void>[] = []
  try {
    await readPopulation(deps.db, { fields, roles: stats.population.roles, now: options.now, purpose: purpose.id, batchSize: options.batchSize }, async (batch) => {
      // At most a few batches wait for their pseudonyms: the worker's queue (and memory) stays bounded.
      while (pending.length >= 3) await pending.shift()
      const from = builder.rows
      const keys: string[] = new Array(batch.length)
      for (let i = 0; i < batch.length; i++) {
        const row = batch[i]!
        builder.addStored(row, projections)
        keys[i] = row.match_key
      }
      if (worker) {
        const done = worker.digests(keys).then((digests) => builder.setPseudonymDigests(from, digests))
        done.catch(() => {})
        pending.push(done)
      }
    })
    await Promise.all(pending)
  } finally {
    await worker?.close()
  }
  return builder.build()
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(`${file}.partial`, JSON.stringify(value, null, 2) + '\n', { mode: 0o640 })
  await rename(`${file}.partial`, file)
}

function fileInfo(written: WrittenFile, delimiter: string, bom: boolean): ManifestFile {
  return { name: path.basename(written.path), sha256: written.sha256, bytes: written.bytes, rows: written.rows, encoding: 'utf-8', bom, delimiter }
}

async function writeCodebook(file: string, columns: CodebookColumn[], delimiter: string, bom: boolean): Promise<ManifestCodebook> {
  const written = await writeCsvLines(file, (bom ? UTF8_BOM : '') + codebookCsv(columns, delimiter), [])
  return { file: { name: path.basename(file), sha256: written.sha256, bytes: written.bytes }, columns, pandas: PANDAS_ONE_LINER, emptyCells: EMPTY_CELL_MEANING }
}

function recipientOf(purpose: Purpose, stats: Statistics, recipientId: string): Recipient {
  const recipient = stats.recipients.find((r) => r.id === recipientId)
  if (!recipient) {
    throw new Error(`purpose "${purpose.id}" has no recipient "${recipientId}" (declared: ${stats.recipients.map((r) => r.id).join(', ')})`)
  }
  return recipient
}

export async function runExtract(deps: ExtractDeps, options: ExtractOptions): Promise<ExtractResult> {
  const started = process.hrtime.bigint()
  const env = deps.env
  const now = deps.now?.() ?? new Date()
  const { purpose } = options
  const stats = statisticsOf(purpose)
  const recipient = recipientOf(purpose, stats, options.recipientId)
  const asOf = options.asOf ?? parisDay(now)
  checkAsOf(asOf)
  const table = options.aggregate === undefined ? undefined : stats.aggregates.find((t) => t.name === options.aggregate)
  if (options.aggregate !== undefined && !table) {
    throw new Error(`purpose "${purpose.id}" has no aggregate table "${options.aggregate}" (declared: ${stats.aggregates.map((t) => t.name).join(', ') || 'none'})`)
  }
  const outDir = path.resolve(options.outDir)
  assertKeysApart(outDir, env)
  const key: ExtractKey | undefined = table ? undefined : loadExtractKey(recipient.id, env)
  const loose = looselyProtectedKeyFiles(env)
  if (loose.length > 0) deps.log.warn({ files: loose }, 'extract key files readable by group or others: chmod 600')
  const auditBase = {
    actor: options.actor ?? 'passerelle',
    organisation: recipient.organisation ?? null,
    purpose: purpose.id,
    action: 'extract.deliver',
    subject: null,
    requestId: null,
    clientAddress: null,
  }

  const dataset = await readDataset(deps, purpose, stats, {
    asOf,
    now,
    pseudonymKey: key ? derivePseudonymKey(key.key, purpose.id, recipient.id) : undefined,
    batchSize: options.batchSize ?? DEFAULT_BATCH,
  })
  const publicId = randomUUID()
  const base = `${purpose.id}_${recipient.id}_${asOf}${table ? `_${table.name}` : ''}_${publicId.slice(0, 8)}`
  const dataPath = path.join(outDir, `${base}.csv`)
  const manifestPath = path.join(outDir, `${base}.manifest.json`)
  const codebookPath = path.join(outDir, `${base}.codebook.csv`)
  const bom = options.bom ?? stats.csv_bom
  const header = { purpose: { id: purpose.id, title: purpose.title }, recipient: { id: recipient.id, name: recipient.name }, asOf, createdAt: now.toISOString() }

  let manifest: ExtractManifest
  let written: WrittenFile
  let generalisation: Record<string, string> = {}
  await mkdir(outDir, { recursive: true })
  if (!table) {
    const previous = await latestMicrodataExtract(deps.db, purpose.id, recipient.id)
    // Never finer than the last extract this recipient holds under the same key, so a later month does not undo
    // the last one's generalisation. It does not make two linked months k-anonymous together: a person whose
    // quasi-identifiers changed between them can sit in a small pair of classes (a limit the README states; a
    // recipient without follow-up over time gets a new key version per extract).
    const floor =
      previous && previous.keyVersion === key!.version
        ? stats.quasi_identifiers.map((qi) => Math.max(0, qi.levels.findIndex((l) => levelName(l) === previous.generalisation[qi.column])))
        : undefined
    const lSpec = stats.l_diversity
    const sensitive = lSpec ? dataset.sensitive.find((s) => s.column === lSpec.attribute)! : undefined
    const result = anonymise({
      rows: dataset.rows,
      quasiIdentifiers: dataset.quasiIdentifiers,
      k: stats.k,
      maxSuppressionRate: stats.max_suppression_rate,
      lDiversity: lSpec && sensitive ? { codes: sensitive.codes, cardinality: sensitive.labels.length, l: lSpec.l } : undefined,
      floor,
    })
    const namesOf = (levels: readonly number[]) =>
      Object.fromEntries(stats.quasi_identifiers.map((qi, i) => [qi.column, levelName(qi.levels[levels[i]!]!)]))
    if (!result.ok) {
      const levels = namesOf(result.best.levels)
      const message =
        `extract refused: purpose "${purpose.id}", recipient "${recipient.id}": even at the most general levels ` +
        `(${Object.entries(levels).map(([c, l]) => `${c} ${l}`).join(', ')}), ${result.best.suppressed} of ${dataset.rows} persons ` +
        `(${(result.best.suppressionRate * 100).toFixed(2)} %) fall in classes under k=${stats.k}${lSpec ? ` or under l=${lSpec.l}` : ''} ` +
        `and would be suppressed, above the maximum of ${(stats.max_suppression_rate * 100).toFixed(2)} % (max_suppression_rate): ` +
        'declare coarser levels (or `*`), fewer quasi-identifiers, or a higher maximum'
      await deps.db.transaction((tx) =>
        appendAuditEvents(tx, [
          { ...auditBase, occurredAt: now, outcome: 'denied', details: { reason: 'suppression_above_max', kind: 'microdata', recipient: recipient.id, population: dataset.rows, suppressed: result.best.suppressed } },
        ]),
      )
      throw new ExtractRefusedError(message, { levels, suppressed: result.best.suppressed, population: dataset.rows })
    }
    generalisation = namesOf(result.levels)
    const order = orderByPseudonym(dataset, result.keep)
    written = await writeCsvBytes(
      dataPath,
      (bom ? UTF8_BOM : '') + csvLine(microdataHeader(stats), stats.csv_delimiter),
      microdataChunks(dataset, result.levels, order, stats.csv_delimiter),
      order.length,
    )
    const columns = microdataCodebook(purpose, stats, generalisation)
    const codebook = await writeCodebook(codebookPath, columns, stats.csv_delimiter, bom)
    const described = (name: string) => {
      const column = columns.find((c) => c.name === name)
      return column?.field ? { field: column.field, label: column.label } : {}
    }
    manifest = {
      format: 'passerelle-extract/1',
      id: publicId,
      kind: 'microdata',
      ...header,
      file: fileInfo(written, stats.csv_delimiter, bom),
      codebook,
      columns: [
        { name: stats.pseudonym_column, role: 'pseudonym' },
        ...stats.quasi_identifiers.map((qi) => ({ name: qi.column, role: 'quasi-identifier' as const, ...described(qi.column), hierarchy: qi.hierarchy, level: generalisation[qi.column]! })),
        ...stats.sensitive.map((c) => ({ name: c, role: 'sensitive' as const, ...described(c) })),
        ...stats.measures.map((c) => ({ name: c, role: 'measure' as const, ...described(c) })),
      ],
      disclosure: {
        k: stats.k,
        kReached: result.kReached,
        maxSuppressionRate: stats.max_suppression_rate,
        population: dataset.rows,
        suppressed: result.suppressed,
        suppressionRate: result.suppressionRate,
        generalisation,
        ...(lSpec ? { lDiversity: { attribute: lSpec.attribute, l: lSpec.l, lReached: result.lReached } } : {}),
      },
      pseudonyms: { method: 'HMAC-SHA256 of the internal person key, key derived per purpose and recipient (HKDF-SHA256), base32, 16 characters', keyVersion: key!.version },
    }
  } else {
    // Every table of the purpose is protected together (shared margins), whichever one is delivered.
    const tables = stats.aggregates.map((spec) =>
      countTable(
        { name: spec.name, threshold: spec.threshold },
        spec.rows.map((d) => dimensionCodes(dataset, d.column, d.level)),
        spec.columns.map((d) => dimensionCodes(dataset, d.column, d.level)),
        dataset.rows,
      ),
    )
    const protectedTable = protectLinkedTables(tables).find((t) => t.name === table.name)!
    const rows = tableRows(protectedTable)
    written = await writeCsvFile(
      dataPath,
      [...table.rows.map((d) => d.column), ...table.columns.map((d) => d.column), 'effectif', 'secret'],
      rows.map((r) => [...r.values, r.count, r.secret ? 1 : 0]),
      stats.csv_delimiter,
      { bom },
    )
    const codebook = await writeCodebook(codebookPath, aggregateCodebook(purpose, stats, table), stats.csv_delimiter, bom)
    const R = protectedTable.counts.length - 1
    const C = protectedTable.counts[0]!.length - 1
    const grandTotalPublished = protectedTable.status[R]![C] === 0
    manifest = {
      format: 'passerelle-extract/1',
      id: publicId,
      kind: 'aggregate',
      ...header,
      file: fileInfo(written, stats.csv_delimiter, bom),
      codebook,
      table: {
        name: table.name,
        ...(table.description ? { description: table.description } : {}),
        rows: table.rows,
        columns: table.columns,
        threshold: table.threshold,
        cells: rows.length,
        suppressedCells: rows.filter((r) => r.secret).length,
        population: grandTotalPublished ? protectedTable.counts[R]![C]! : null,
      },
      disclosure: {
        method:
          `no published count under ${table.threshold} (primary suppression); secondary suppression so that no suppressed cell can be ` +
          'recomputed from the published cells and totals (two suppressed cells at least in every line, their sum at least the threshold, ' +
          'every suppressed cell on a cycle of suppressed cells); figures shared with the purpose’s other tables suppressed alike',
      },
    }
  }
  await writeJson(manifestPath, manifest)

  const extract = await deps.db.transaction(async (tx) => {
    const record = await insertExtract(tx, {
      publicId,
      kind: manifest.kind,
      purpose: purpose.id,
      recipient: recipient.id,
      aggregate: table?.name ?? null,
      asOf,
      filePath: dataPath,
      manifestPath,
      sha256: written.sha256,
      bytes: written.bytes,
      rows: written.rows,
      k: manifest.kind === 'microdata' ? manifest.disclosure.k : null,
      kReached: manifest.kind === 'microdata' ? manifest.disclosure.kReached : null,
      suppressionRate: manifest.kind === 'microdata' ? manifest.disclosure.suppressionRate : null,
      generalisation,
      keyVersion: key?.version ?? null,
      createdAt: now,
    })
    await appendAuditEvents(tx, [
      {
        ...auditBase,
        occurredAt: now,
        outcome: 'done',
        details: { channel: 'file', extractId: publicId, kind: manifest.kind, aggregate: table?.name ?? null, recipient: recipient.id, rows: written.rows, sha256: written.sha256, keyVersion: key?.version ?? null },
      },
    ])
    return record
  })
  deps.log.info(
    {
      purposeId: purpose.id,
      recipientId: recipient.id,
      extractId: publicId,
      kind: manifest.kind,
      rows: written.rows,
      population: dataset.rows,
      ...(manifest.kind === 'microdata' ? { suppressed: manifest.disclosure.suppressed, levels: generalisation, keyVersion: key!.version } : {}),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    },
    'extract written',
  )

  let pushedTo: string[] | undefined
  if (options.push !== false && recipient.sftp) {
    const pusher = deps.pusher ?? sftpPusher({ env, log: deps.log, retries: deps.sftp?.retries ?? 3, retryDelayMs: deps.sftp?.retryDelayMs ?? 1000 })
    const event = (outcome: AuditEventInput['outcome'], details: Record<string, unknown>): AuditEventInput => ({
      ...auditBase,
      occurredAt: deps.now?.() ?? new Date(),
      outcome,
      details: { channel: 'sftp', extractId: publicId, kind: manifest.kind, recipient: recipient.id, sha256: written.sha256, ...details },
    })
    try {
      pushedTo = await pusher.push({ ...recipient, sftp: recipient.sftp }, [
        { localPath: dataPath, name: path.basename(dataPath) },
        { localPath: codebookPath, name: path.basename(codebookPath) },
        { localPath: manifestPath, name: path.basename(manifestPath) },
      ])
    } catch (error) {
      await deps.db.transaction((tx) => appendAuditEvents(tx, [event('failed', { reason: (error as Error).name })]))
      throw new Error(`extract ${publicId} written to ${dataPath}, but the push to recipient "${recipient.id}" failed: ${(error as Error).message}`, { cause: error })
    }
    const deliveredAt = deps.now?.() ?? new Date()
    await deps.db.transaction(async (tx) => {
      await markExtractDelivered(tx, extract.id, deliveredAt, pushedTo![0]!)
      await appendAuditEvents(tx, [event('done', { remotePaths: pushedTo })])
    })
    extract.deliveredAt = deliveredAt
    extract.deliveredTo = pushedTo[0]!
    deps.log.info({ purposeId: purpose.id, recipientId: recipient.id, extractId: publicId }, 'extract pushed')
  }
  return { extract, manifest, dataPath, codebookPath, manifestPath, pushedTo }
}

/**
 * Every (statistical purpose, recipient) pair the declarations name, for the monthly schedule (one job each,
 * e.g. `extract:statistiques:drees`). Purposes whose statistics section is invalid are left out (`passerelle check`
 * reports them).
 */
export function extractTargets(purposes: ReadonlyMap<string, Purpose>): { purpose: Purpose; recipientId: string; job: string }[] {
  const targets: { purpose: Purpose; recipientId: string; job: string }[] = []
  for (const purpose of purposes.values()) {
    if (purpose.statistics === undefined) continue
    const { statistics } = readStatistics(purpose)
    for (const r of statistics?.recipients ?? []) targets.push({ purpose, recipientId: r.id, job: `extract:${purpose.id}:${r.id}` })
  }
  return targets
}
