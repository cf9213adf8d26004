import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { IngestProgress } from './byte-meter.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import type { Flow } from '../flows/flow.ts'
import type { Logger } from '../log/logger.ts'
import { metrics } from '../metrics/metrics.ts'
import { createStagingTables } from './canonical/staging.ts'
import type { StoredFields } from './canonical/staging.ts'
import { fileOpener, resolveDecryption } from './decrypt/decryption-stage.ts'
import { FileRejection } from './file-rejection.ts'
import { REJECTION_COLUMNS, rejectionRow, reporter, type Issues, type LoadState } from './formats/file-load.ts'
import { formatOf } from './formats/registry.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { applyRightsAfterFile } from '../rights/apply-rights-after-file.ts'
import type { RetentionPolicy } from '../retention/policy.ts'

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
  /** Where a flow's `decrypt:` variables are read (default: the process environment). */
  env?: NodeJS.ProcessEnv
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
  /**
   * Records stored with warnings (a value declared `invalid: warn` broke its rule and was taken as empty), and the
   * warnings by `field rule` (never a value). Loaded files only.
   */
  warned?: number
  warnings?: Record<string, number>
  /**
   * Records left out as not for this département (a value declared `invalid: skip`), and why by `field rule`
   * (never a value): neither stored nor rejected. Loaded files only.
   */
  skipped?: number
  skips?: Record<string, number>
  reason: string | undefined
  /**
   * Flows whose records may come without a NIR (France Travail, src/matching/): how many were matched by a linked
   * France Travail identifier, by identity, and how many went to the matching queue. Absent for other flows.
   */
  matching?: { identifier: number; identity: number; queued: number }
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

  // A flow whose files arrive encrypted: its key is read before the file is touched (a missing or wrong key is
  // configuration, ConfigError: the file stays for the next run instead of being rejected).
  const recipient = flow.decrypt ? resolveDecryption(flow.decrypt, flow.id, deps.env ?? process.env) : undefined
  formatOf(flow.format).checkSettings?.(flow.format, flow.id, deps.env ?? process.env)
  const open = fileOpener(file.path, recipient)
  const issues: Issues = []
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
      const loaded = await formatOf(flow.format).load({ tx, deps, flow, format: flow.format, file, open, fileId, state, issues, options, report: reporter(options, fp.size) })
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
             records_superseded = $8, records_matched_identifier = $9, records_matched_identity = $10, records_queued = $11,
             records_warned = $12, warnings = $13::jsonb, records_skipped = $14, skips = $15::jsonb, finished_at = now()
         where id = $1`,
        [
          fileId,
          state.kind,
          loaded.transmittedAt,
          loaded.referenceDate,
          state.total,
          accepted,
          state.rejected,
          state.superseded,
          state.matching?.identifier ?? 0,
          state.matching?.identity ?? 0,
          state.matching?.queued ?? 0,
          state.warned ?? 0,
          JSON.stringify(countsByRule(state.warnings)),
          state.skipped ?? 0,
          JSON.stringify(countsByRule(state.skips)),
        ],
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
      { flowId: flow.id, fileId: result.fileId, kind: state.kind, accepted: result.accepted, rejected: state.rejected, superseded: state.superseded, warned: state.warned ?? 0, skipped: state.skipped ?? 0, ...(state.matching ? { matching: state.matching } : {}) },
      'file loaded',
    )
    return done({
      status: 'loaded',
      fileId: result.fileId,
      kind: state.kind,
      accepted: result.accepted,
      rejected: state.rejected,
      superseded: state.superseded,
      ...(state.matching ? { matching: state.matching } : {}),
      warned: state.warned ?? 0,
      warnings: countsByRule(state.warnings),
      skipped: state.skipped ?? 0,
      skips: countsByRule(state.skips),
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

/** Warnings or skips of a load by `field rule`, in a stable order (the file's summary). */
function countsByRule(counts: LoadState['warnings']): Record<string, number> {
  return Object.fromEntries([...(counts ?? new Map<string, number>()).entries()].sort(([a], [b]) => a.localeCompare(b)))
}

/** `files.reason` is written `<code>: <message>` (recordRejectedFile). */
function recordedReason(reason: string | null): { code: string | undefined; reason: string | undefined } {
  if (!reason) return { code: undefined, reason: undefined }
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(reason)
  return match ? { code: match[1], reason: match[2] } : { code: undefined, reason }
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
