import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { byteMeter, type ByteMeter, type IngestProgress } from './byte-meter.ts'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import type { Keys } from '../crypto/keys.ts'
import type { Db, Queryable } from '../db/db.ts'
import type { Flow } from '../flows/flow.ts'
import type { Logger } from '../log/logger.ts'
import { metrics } from '../metrics/metrics.ts'
import { FirstOccurrences, duplicateOf } from './canonical/first-occurrence.ts'
import { mapCnafFoyer, mapFranceTravailRow, type MappedFoyer } from './canonical/map-records.ts'
import {
  createStagingTables,
  markAbsentFromStock,
  mergeFoyers,
  mergeRegistrations,
  encodeFoyerStage,
  findNewerStocks,
  stageEncoded,
  stageRegistrations,
  type MergeContext,
  type StoredFields,
} from './canonical/staging.ts'
import type { CnafFoyer, ParsedRecord, RecordIssue } from './cnaf/foyer.ts'
import { readCnafFile } from './cnaf/read-cnaf-file.ts'
import { FileRejection } from './file-rejection.ts'
import { detectFranceTravailKind, readFranceTravailFile } from './france-travail/read-france-travail-file.ts'
import type { FranceTravailRow } from './france-travail/row.ts'
import { cnafTransmissionTime } from './transmission-time.ts'
import { loadOrientationsFile } from '../assignments/load-orientations.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { applyRightsAfterFile } from '../rights/apply-rights-after-file.ts'
import { breather } from './breather.ts'
import { guardReader } from './guard-reader.ts'
import { readerLimits } from './reader-limits.ts'
import type { RetentionPolicy } from '../retention/policy.ts'
import { isBeyondHorizon, retentionHorizon } from './retention-horizon.ts'

export interface IngestDeps {
  db: Db
  keys: Keys
  log: Logger
  /** Canonical field ids that purposes store (plus key fields): src/purposes/stored-fields.ts. */
  stored: StoredFields
  /** The purposes: standing oppositions are re-applied to what a file brings back (src/rights/). */
  purposes: ReadonlyMap<string, Purpose>
  /** Retention policies by id: a CNAF file older than its flow's horizon is refused (src/ingestion/retention-horizon.ts). */
  retention?: ReadonlyMap<string, RetentionPolicy>
}

export interface LocalFile {
  path: string
  /** The name the producer gave the file (the staging copy may be named otherwise). */
  name: string
  source: 'sftp' | 'local'
  /** When the producer wrote it (SFTP mtime, or local mtime): the transmission time of files without a header. */
  modifiedAt: Date
  size?: number
  sha256?: string
}

export type FileStatus = 'loaded' | 'rejected' | 'skipped'

export interface FileOutcome {
  name: string
  flow: string
  status: FileStatus
  fileId: number | undefined
  kind: string | undefined
  accepted: number
  rejected: number
  /**
   * Records older than what was stored for their dossier (a file created later already wrote it): not written,
   * not rejected. Not counted in `accepted`, which is what was stored.
   */
  superseded: number
  reason: string | undefined
  /** Machine-readable reason code (FileRejection code, or `already_loaded` / `already_rejected`). */
  code: string | undefined
  sha256: string
  size: number
  durationMs: number
  /**
   * For a file skipped because it was already loaded or rejected: what its `files` row recorded then (the counts
   * stored, the rejection's code and message). The acknowledgement sent again after a crash carries these.
   */
  recorded?: { accepted: number; rejected: number; code: string | undefined; reason: string | undefined }
}

export interface IngestOptions {
  signal?: AbortSignal
  /** Records so far and bytes read out of the file's size, after each batch (and once at the end). */
  onProgress?: (progress: IngestProgress) => void
  now?: () => Date
  /** Worker threads parsing CNAF records (default: none; the calling thread parses while the database merges). */
  parseWorkers?: number
}

/** Files from this size on are parsed in a worker thread. */
const PARSE_WORKER_THRESHOLD_BYTES = 16 * 1024 * 1024

/** Rejected-record rows kept in memory for a file rejected whole (the loaded ones are written as they come). */
const MAX_ISSUES_KEPT = 1000

export async function fingerprint(filePath: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(filePath, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, sha256: hash.digest('hex') }
}

/**
 * Loads one file as if it came from `flow`: in one transaction, whole or not at all. A file already loaded or
 * rejected (same name, size and sha256) is skipped. A file that cannot be trusted is rejected whole and recorded
 * with the reason and the rejected records (where and which rule, never a value). Infrastructure faults throw,
 * leaving the database as before the file, so the next run picks the file up again.
 */
export async function ingestFile(deps: IngestDeps, flow: Flow, file: LocalFile, options: IngestOptions = {}): Promise<FileOutcome> {
  const outcome = await ingestFileOnce(deps, flow, file, options)
  metrics.filesTotal.inc({ flow: flow.id, status: outcome.status })
  if (outcome.status === 'loaded') metrics.recordsTotal.inc({ flow: flow.id, outcome: 'accepted' }, outcome.accepted)
  if (outcome.status !== 'skipped') metrics.recordsTotal.inc({ flow: flow.id, outcome: 'rejected' }, outcome.rejected)
  return outcome
}

async function ingestFileOnce(deps: IngestDeps, flow: Flow, file: LocalFile, options: IngestOptions): Promise<FileOutcome> {
  const startedAt = (options.now ?? (() => new Date()))()
  const t0 = performance.now()
  const fp = file.sha256 && file.size !== undefined ? { size: file.size, sha256: file.sha256 } : await fingerprint(file.path)
  file = { ...file, ...fp }
  const base = { name: file.name, flow: flow.id, sha256: fp.sha256, size: fp.size }
  const done = (o: Omit<FileOutcome, 'name' | 'flow' | 'sha256' | 'size' | 'durationMs'>): FileOutcome => ({
    ...base,
    ...o,
    durationMs: Math.round(performance.now() - t0),
  })

  const existing = await deps.db.query<{
    id: number
    status: 'loaded' | 'rejected'
    kind: string | null
    records_accepted: number
    records_rejected: number
    reason: string | null
  }>(
    `select id, status, kind, records_accepted, records_rejected, reason
     from files
     where flow_id = $1 and name = $2 and size = $3 and sha256 = $4`,
    [flow.id, file.name, fp.size, fp.sha256],
  )
  const seen = existing.rows[0]
  if (seen) {
    return done({
      status: 'skipped',
      fileId: seen.id,
      kind: seen.kind ?? undefined,
      accepted: 0,
      rejected: 0,
      superseded: 0,
      code: seen.status === 'loaded' ? 'already_loaded' : 'already_rejected',
      reason: `already ${seen.status} as file ${seen.id}`,
      recorded: { accepted: seen.records_accepted, rejected: seen.records_rejected, ...recordedReason(seen.reason) },
    })
  }

  const issues: { recordIndex: number; line: number; issue: RecordIssue }[] = []
  const state: LoadState = { total: 0, rejected: 0, superseded: 0, kind: undefined }
  try {
    const result = await deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: number }>(
        `insert into files (flow_id, name, size, sha256, status, source, started_at)
         values ($1, $2, $3, $4, 'loaded', $5, $6)
         returning id`,
        [flow.id, file.name, fp.size, fp.sha256, file.source, startedAt],
      )
      const fileId = rows[0]!.id
      await createStagingTables(tx)
      const load = flow.format.type === 'cnaf-vrsb0801' ? loadCnaf : flow.format.type === 'france-travail-csv' ? loadFranceTravail : loadOrientations
      const loaded = await load({ tx, deps, flow, file, fileId, state, issues, options, report: reporter(options, fp.size) })
      const accepted = state.total - state.rejected - state.superseded
      if (state.total > 0 && state.rejected / state.total > flow.max_rejected_rate) {
        throw new FileRejection(
          'too_many_rejections',
          `${file.name}: ${state.rejected} of ${state.total} records rejected, above the flow's limit of ${(flow.max_rejected_rate * 100).toFixed(1)} %` +
            ` (most frequent: ${mostFrequentRules(issues)})`,
        )
      }
      await tx.query(
        `update files
         set kind = $2, transmitted_at = $3, reference_date = $4, records_total = $5, records_accepted = $6, records_rejected = $7,
             records_superseded = $8, finished_at = now()
         where id = $1`,
        [fileId, state.kind, loaded.transmittedAt, loaded.referenceDate, state.total, accepted, state.rejected, state.superseded],
      )
      // The newest file applied (a CNAF file older than it may still load: order is kept per dossier).
      await tx.query(
        `insert into flow_progress (flow_id, kind, last_file_id, last_transmitted_at)
         values ($1, 'all', $2, $3)
         on conflict (flow_id, kind) do update set last_file_id = excluded.last_file_id, last_transmitted_at = excluded.last_transmitted_at
         where flow_progress.last_transmitted_at <= excluded.last_transmitted_at`,
        [flow.id, fileId, loaded.transmittedAt],
      )
      // Data-subject rights follow the data: close rectifications this file corrects, re-apply oppositions.
      await applyRightsAfterFile(tx, { keys: deps.keys, purposes: deps.purposes }, fileId)
      return { fileId, accepted }
    })
    deps.log.info(
      { flowId: flow.id, fileId: result.fileId, kind: state.kind, accepted: result.accepted, rejected: state.rejected, superseded: state.superseded },
      'file loaded',
    )
    return done({
      status: 'loaded',
      fileId: result.fileId,
      kind: state.kind,
      accepted: result.accepted,
      rejected: state.rejected,
      superseded: state.superseded,
      code: undefined,
      reason: undefined,
    })
  } catch (error) {
    if (!(error instanceof FileRejection)) throw error
    const fileId = await recordRejectedFile(deps.db, flow, file, fp, startedAt, state, issues, error)
    deps.log.warn({ flowId: flow.id, fileId, code: error.code, records: state.total, rejected: state.rejected }, 'file rejected')
    return done({ status: 'rejected', fileId, kind: state.kind, accepted: 0, rejected: state.rejected, superseded: 0, code: error.code, reason: error.message })
  }
}

/** `files.reason` is written `<code>: <message>` (recordRejectedFile). */
function recordedReason(reason: string | null): { code: string | undefined; reason: string | undefined } {
  if (!reason) return { code: undefined, reason: undefined }
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(reason)
  return match ? { code: match[1], reason: match[2] } : { code: undefined, reason }
}

interface LoadState {
  total: number
  rejected: number
  /** Records older than their dossier's stored state (CNAF): neither written nor rejected. */
  superseded: number
  kind: string | undefined
}

type Issues = { recordIndex: number; line: number; issue: RecordIssue; numdemrsa?: string | null }[]

/** What a format's loader works with, inside the file's transaction. */
interface FileLoad {
  tx: Queryable
  deps: IngestDeps
  flow: Flow
  file: LocalFile
  fileId: number
  state: LoadState
  issues: Issues
  options: IngestOptions
  report: Reporter
}

/** Tells `onProgress` the records so far and how far the reader is through the file. */
interface Reporter {
  meter: ByteMeter
  progress(records: number, finished?: boolean): void
}

function reporter(options: IngestOptions, size: number): Reporter {
  const meter = byteMeter()
  return {
    meter,
    progress(records, finished = false) {
      options.onProgress?.({ records, bytes: finished ? size : Math.min(meter.bytesRead(), size), size })
    },
  }
}

/** What a loader tells about the file once its records are merged. */
interface Loaded {
  transmittedAt: Date
  referenceDate: string | null
}

/**
 * `withDossier` (CNAF): the row names the record's dossier by NUMDEMRSA, for `passerelle rejections dossiers` and a
 * corrected single-dossier file (migration 0251). Other flows' keys are never written.
 */
async function writeRejections(
  tx: Queryable,
  fileId: number,
  failed: Extract<ParsedRecord<unknown>, { ok: false }>[],
  issues: Issues,
  options: { withDossier?: boolean } = {},
): Promise<void> {
  const rows: unknown[][] = []
  for (const r of failed) {
    const numdemrsa = options.withDossier ? dossierNumber(r.key) : null
    for (const issue of r.issues) {
      rows.push(rejectionRow(fileId, r.recordIndex, r.line, issue, numdemrsa))
      if (issues.length < MAX_ISSUES_KEPT) issues.push({ recordIndex: r.recordIndex, line: r.line, issue, numdemrsa })
    }
  }
  await tx.copyRows('rejections', REJECTION_COLUMNS, rows)
}

/** A NUMDEMRSA as CNAF (11 digits) and MSA (10 characters) write it; anything else (a NIR...) is not kept. */
function dossierNumber(key: string | undefined): string | null {
  return key !== undefined && /^[0-9A-Z]{10,11}$/.test(key) ? key : null
}

const REJECTION_COLUMNS = ['file_id', 'record_index', 'line', 'field', 'rule', 'duplicate_of_record_index', 'duplicate_of_line', 'numdemrsa']

function rejectionRow(fileId: number, recordIndex: number, line: number | null, issue: RecordIssue, numdemrsa: string | null = null): unknown[] {
  return [fileId, recordIndex, line, issue.field, issue.rule, issue.duplicateOf?.recordIndex ?? null, issue.duplicateOf?.line ?? null, numdemrsa]
}

/** The index of a person met twice in one foyer (same match key), if any. */
function repeatedPerson(mapped: MappedFoyer): number | undefined {
  const seen = new Set<string>()
  for (const [i, p] of mapped.persons.entries()) {
    if (seen.has(p.matchKey)) return i
    seen.add(p.matchKey)
  }
  return undefined
}

/**
 * Staging writes overlap parsing: the COPY of one batch runs (in the database process) while the next batch is
 * read and validated. At most one write is in flight; its failure surfaces at the next call or at `drain`.
 */
function oneInFlight(): { next(write: () => Promise<void>): Promise<void>; drain(): Promise<void> } {
  let pending: Promise<void> = Promise.resolve()
  return {
    async next(write) {
      await pending
      pending = write()
      // Awaited at the next call or at drain; a rollback after a parse error must not report it as unhandled.
      pending.catch(() => {})
    },
    drain: () => pending,
  }
}

/** `Personne.Identification.NIR nir_key ×12, ...`: where and which rule, never a value. */
function mostFrequentRules(issues: Issues, top = 3): string {
  const counts = new Map<string, number>()
  for (const { issue } of issues) {
    const key = `${issue.field.replace(/\[\d+\]/g, '[]')} ${issue.rule}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ')
}

/** France Travail and orientation files are still applied in file order (a CNAF file is ordered per dossier). */
async function checkOrder(tx: Queryable, flow: Flow, file: LocalFile, transmittedAt: Date): Promise<void> {
  const { rows } = await tx.query<{ last_transmitted_at: Date; last_file_id: number }>(
    `select last_transmitted_at, last_file_id
     from flow_progress
     where flow_id = $1 and kind = 'all'`,
    [flow.id],
  )
  const last = rows[0]
  if (last && transmittedAt.getTime() < new Date(last.last_transmitted_at).getTime()) {
    throw new FileRejection(
      'out_of_order',
      `${file.name}: transmitted ${transmittedAt.toISOString()}, older than file ${last.last_file_id} already applied for flow ${flow.id} (${new Date(last.last_transmitted_at).toISOString()})`,
    )
  }
}

function checkHorizon(deps: IngestDeps, flow: Flow, file: LocalFile, createdAt: Date, options: IngestOptions): void {
  if (!deps.retention) return
  const horizon = retentionHorizon(flow, deps.retention, (options.now ?? (() => new Date()))())
  if (horizon && isBeyondHorizon(horizon, createdAt)) {
    throw new FileRejection(
      'beyond_retention_horizon',
      `${file.name}: created ${createdAt.toISOString()}, on or before ${horizon.cutoff}, the retention horizon of flow ${flow.id}` +
        ` (policy ${horizon.policyId} keeps data active ${horizon.duration}): its data would be due to leave the active base as it is loaded`,
    )
  }
}

async function loadCnaf({ tx, deps, flow, file, fileId, state, issues, options, report }: FileLoad): Promise<Loaded> {
  if (flow.format.type !== 'cnaf-vrsb0801') throw new Error(`flow ${flow.id} is not a CNAF flow`)
  let ctx: MergeContext | undefined
  let typeflux: string | undefined
  let referenceDate: string | null = null
  const rejectedKeys: string[] = []
  /** Dossiers whose MATRICULE was a NIR, stored without a matricule (the MSA sends the NIR as matricule). */
  let matriculesWithheld = 0
  // Two records of one dossier in a file: the first is stored, each later one is a `duplicate_dossier` rejection.
  const firstDossiers = new FirstOccurrences()
  const staging = oneInFlight()
  const breathe = breather()
  const events = readCnafFile(file.path, {
    fallbackEncoding: flow.format.encoding,
    organismes: flow.format.organismes,
    expected: { natflux: flow.format.natflux, typeflux: flow.format.typeflux },
    fileLabel: file.name,
    signal: options.signal,
    // One worker parses while this thread maps and copies and the database merges: on 2 cores, 1.4x faster on a
    // 367 MB stock than parsing here. Small files are not worth a worker's start-up.
    workers: options.parseWorkers ?? ((file.size ?? 0) >= PARSE_WORKER_THRESHOLD_BYTES ? 1 : 0),
    limits: readerLimits(flow.limits),
    meter: report.meter,
  })
  for await (const event of guardReader(events, file.name)) {
    if (event.type === 'header') {
      const transmittedAt = cnafTransmissionTime(event.header.dtcreaflux, event.header.heucreaflux)
      // No file order: a record older than its dossier's stored state is superseded (mergeFoyers). A file older than
      // the retention horizon would only bring data already due to leave the active base.
      checkHorizon(deps, flow, file, transmittedAt, options)
      typeflux = event.header.typeflux
      state.kind = typeflux === 'M' ? 'stock' : typeflux === 'I' ? 'daily' : 'reprise'
      referenceDate = event.header.dtref
      ctx = {
        flowId: flow.id,
        fileId,
        transmittedAt,
        effectiveDate: typeflux === 'M' ? event.header.dtref : event.header.dtcreaflux,
        newerStocks: await findNewerStocks(tx, flow.id, transmittedAt),
      }
    } else if (event.type === 'records') {
      const ok: { recordIndex: number; mapped: ReturnType<typeof mapCnafFoyer> }[] = []
      const failed: Extract<ParsedRecord<CnafFoyer>, { ok: false }>[] = []
      for (const r of event.records) {
        await breathe()
        if (!r.ok) {
          failed.push(r)
          if (r.key) rejectedKeys.push(r.key)
          continue
        }
        const foyer = r.value
        const at = { recordIndex: foyer.recordIndex, line: foyer.line }
        const mapped = mapCnafFoyer(foyer, deps.keys.index)
        const twice = repeatedPerson(mapped)
        if (twice !== undefined) {
          // One person twice in a foyer: the record contradicts itself, and storing one of the two would rewrite it.
          failed.push({ ok: false, ...at, key: foyer.numdemrsa, issues: [{ field: `Personne[${twice}]`, rule: 'duplicate_member' }] })
          rejectedKeys.push(foyer.numdemrsa)
          continue
        }
        const first = firstDossiers.claim(`${foyer.fonorg}|${foyer.numdemrsa}`, at)
        if (first) {
          // The dossier stays transmitted (its first record is stored): no need to protect it from the stock rule.
          failed.push(duplicateOf(at, first, { field: 'IdentificationRSA.DemandeRSA.NUMDEMRSA', rule: 'duplicate_dossier' }, foyer.numdemrsa))
          continue
        }
        if (mapped.nirAsMatricule) matriculesWithheld++
        ok.push({ recordIndex: foyer.recordIndex, mapped })
      }
      state.total += event.records.length
      state.rejected += failed.length
      const merge = ctx
      if (!merge) throw new FileRejection('bad_header', `${file.name}: records before the IdentificationFlux header`)
      // Encoded here, while the database merges the previous batch; only sending and merging wait for it.
      const encoded = await encodeFoyerStage(ok, deps.stored, deps.keys, breathe)
      await staging.next(async () => {
        await stageEncoded(tx, encoded)
        state.superseded += (await mergeFoyers(tx, merge)).superseded
        await writeRejections(tx, fileId, failed, issues, { withDossier: true })
      })
      report.progress(state.total)
      deps.log.debug({ flowId: flow.id, fileId, records: state.total }, 'records staged')
    }
  }
  await staging.drain()
  if (!ctx) throw new FileRejection('bad_header', `${file.name}: no IdentificationFlux header`)
  // A stock replaces the set of dossiers this flow transmits; a reprise or daily file only adds to it.
  if (typeflux === 'M') await markAbsentFromStock(tx, ctx, rejectedKeys)
  if (matriculesWithheld > 0) deps.log.info({ flowId: flow.id, fileId, matriculesWithheld }, 'MATRICULE values that are NIRs were not stored')
  return { transmittedAt: ctx.transmittedAt, referenceDate }
}

async function loadFranceTravail({ tx, deps, flow, file, fileId, state, issues, options, report }: FileLoad): Promise<Loaded> {
  if (flow.format.type !== 'france-travail-csv') throw new Error(`flow ${flow.id} is not a France Travail flow`)
  const kind = detectFranceTravailKind(path.basename(file.name), flow.format.kinds)
  if (!kind) {
    throw new FileRejection(
      'wrong_schema',
      `${file.name}: cannot tell the kind of France Travail file from its name (expected one of: ${flow.format.kinds.map((k) => `${k.kind} /${k.pattern}/i`).join(', ')})`,
    )
  }
  state.kind = kind
  const transmittedAt = file.modifiedAt
  await checkOrder(tx, flow, file, transmittedAt)
  const ctx: MergeContext = { flowId: flow.id, fileId, transmittedAt, effectiveDate: transmittedAt.toISOString().slice(0, 10) }
  const staging = oneInFlight()
  const batches = readFranceTravailFile(file.path, {
    kind,
    encoding: flow.format.encoding,
    delimiter: flow.format.delimiter,
    header: flow.format.header,
    fileLabel: file.name,
    signal: options.signal,
    limits: readerLimits(flow.limits),
    meter: report.meter,
  })
  for await (const batch of guardReader(batches, file.name)) {
    const ok: { recordIndex: number; line: number; mapped: ReturnType<typeof mapFranceTravailRow> }[] = []
    const failed: Extract<ParsedRecord<FranceTravailRow>, { ok: false }>[] = []
    for (const r of batch) {
      if (r.ok) ok.push({ recordIndex: r.value.recordIndex, line: r.value.line, mapped: mapFranceTravailRow(r.value, deps.keys.index) })
      else failed.push(r)
    }
    state.total += batch.length
    state.rejected += failed.length
    await staging.next(async () => {
      await stageRegistrations(tx, ok, deps.stored, deps.keys)
      await writeRejections(tx, fileId, failed, issues)
    })
    report.progress(state.total)
    deps.log.debug({ flowId: flow.id, fileId, records: state.total }, 'records staged')
  }
  await staging.drain()
  if (state.total === 0) throw new FileRejection('empty_file', `${file.name}: no data row`)
  // One row per person is stored; the person's other rows in the file are rejections naming the kept one.
  const { superseded } = await mergeRegistrations(tx, ctx)
  const duplicates = superseded.map((r) =>
    duplicateOf(r, { recordIndex: r.keptRecordIndex, line: r.keptLine }, { field: 'nir', rule: 'duplicate_person' }),
  )
  state.rejected += duplicates.length
  await writeRejections(tx, fileId, duplicates, issues)
  return { transmittedAt, referenceDate: null }
}

async function loadOrientations({ tx, deps, flow, file, fileId, state, issues, options, report }: FileLoad): Promise<Loaded> {
  if (flow.format.type !== 'orientations-csv') throw new Error(`flow ${flow.id} is not an orientations flow`)
  state.kind = 'orientations'
  const transmittedAt = file.modifiedAt
  await checkOrder(tx, flow, file, transmittedAt)
  const result = await loadOrientationsFile(
    tx,
    {
      fileId,
      keys: deps.keys,
      transmittedAt,
      onRejected: async (failed) => {
        state.rejected += failed.length
        await writeRejections(tx, fileId, failed, issues)
      },
    },
    {
      path: file.path,
      encoding: flow.format.encoding,
      delimiter: flow.format.delimiter,
      dateFormat: flow.format.date_format,
      fileLabel: file.name,
      signal: options.signal,
      limits: readerLimits(flow.limits),
    },
  )
  state.total = result.total
  report.progress(state.total, true)
  if (state.total === 0) throw new FileRejection('empty_file', `${file.name}: no data row`)
  return { transmittedAt, referenceDate: null }
}

async function recordRejectedFile(
  db: Db,
  flow: Flow,
  file: LocalFile,
  fp: { size: number; sha256: string },
  startedAt: Date,
  state: LoadState,
  issues: Issues,
  rejection: FileRejection,
): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: number }>(
      `insert into files (flow_id, name, size, sha256, status, kind, source, records_total, records_accepted, records_rejected, reason, started_at)
       values ($1, $2, $3, $4, 'rejected', $5, $6, $7, 0, $8, $9, $10)
       on conflict (flow_id, name, size, sha256) do update set reason = excluded.reason
       returning id`,
      [flow.id, file.name, fp.size, fp.sha256, state.kind ?? null, file.source, state.total, state.rejected, `${rejection.code}: ${rejection.message}`, startedAt],
    )
    const fileId = rows[0]!.id
    const fileLevel = rejectionRow(fileId, rejection.where.recordIndex ?? -1, rejection.where.line ?? null, { field: '(file)', rule: rejection.code })
    await tx.copyRows('rejections', REJECTION_COLUMNS, [fileLevel, ...issues.map((i) => rejectionRow(fileId, i.recordIndex, i.line, i.issue, i.numdemrsa ?? null))])
    return fileId
  })
}
