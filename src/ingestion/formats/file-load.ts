import type { Queryable } from '../../db/db.ts'
import type { Flow } from '../../flows/flow.ts'
import { byteMeter, type ByteMeter } from '../byte-meter.ts'
import { FileRejection } from '../file-rejection.ts'
import type { IngestDeps, IngestOptions, LocalFile } from '../ingest-file.ts'
import type { OpenFile } from '../decrypt/decryption-stage.ts'
import type { RecordIssue, RejectedRecord } from '../records/parsed-record.ts'

/**
 * What a format's loader works with, inside the file's transaction (src/ingestion/ingest-file.ts opens it, records
 * the file and decides on the rejection rate), and the few steps every loader shares: writing rejection rows,
 * overlapping staging writes with parsing, refusing a file older than the last one applied.
 */
export interface LoadState {
  total: number
  rejected: number
  /** Records older than their dossier's stored state (CNAF): neither written nor rejected. */
  superseded: number
  kind: string | undefined
  /** Records without a NIR (France Travail, src/matching/): matched by identifier, by identity, queued. */
  matching?: { identifier: number; identity: number; queued: number }
  /** Records kept with warnings (values declared `invalid: warn` that broke a rule, taken as empty). */
  warned?: number
  /** Warnings by `field rule` (never a value), for the file's summary. */
  warnings?: Map<string, number>
  /** Records left out as not for this département (`invalid: skip`): neither stored nor rejected, nor in `total`. */
  skipped?: number
  /** Why, by `field rule` (never a value). */
  skips?: Map<string, number>
}

export type Issues = { recordIndex: number; line: number; issue: RecordIssue; numdemrsa?: string | null }[]

export interface FileLoad<F = Flow['format']> {
  tx: Queryable
  deps: IngestDeps
  flow: Flow
  /** The flow's `format:` block, as its format's declaration schema parsed it. */
  format: F
  file: LocalFile
  /** Opens the file as its reader reads it: deciphered as it streams when the flow declares `decrypt:`. */
  open: OpenFile
  fileId: number
  state: LoadState
  issues: Issues
  options: IngestOptions
  report: Reporter
}

/** Tells `onProgress` the records so far and how far the reader is through the file. */
export interface Reporter {
  meter: ByteMeter
  progress(records: number, finished?: boolean): void
}

export function reporter(options: IngestOptions, size: number): Reporter {
  const meter = byteMeter()
  return {
    meter,
    progress(records, finished = false) {
      options.onProgress?.({ records, bytes: finished ? size : Math.min(meter.bytesRead(), size), size })
    },
  }
}

/** What a loader tells about the file once its records are merged. */
export interface Loaded {
  transmittedAt: Date
  referenceDate: string | null
}

/** Rejected-record rows kept in memory for a file rejected whole (the loaded ones are written as they come). */
const MAX_ISSUES_KEPT = 1000

/**
 * `withDossier` (CNAF): the row names the record's dossier by NUMDEMRSA, for `passerelle rejections dossiers` and a
 * corrected single-dossier file (migration 0251). Other flows' keys are never written.
 */
export async function writeRejections(
  tx: Queryable,
  fileId: number,
  failed: readonly RejectedRecord[],
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

export const REJECTION_COLUMNS = ['file_id', 'record_index', 'line', 'field', 'rule', 'duplicate_of_record_index', 'duplicate_of_line', 'numdemrsa']

export function rejectionRow(fileId: number, recordIndex: number, line: number | null, issue: RecordIssue, numdemrsa: string | null = null): unknown[] {
  return [fileId, recordIndex, line, issue.field, issue.rule, issue.duplicateOf?.recordIndex ?? null, issue.duplicateOf?.line ?? null, numdemrsa]
}

/**
 * Staging writes overlap parsing: the COPY of one batch runs (in the database process) while the next batch is
 * read and validated. At most one write is in flight; its failure surfaces at the next call or at `drain`.
 */
export function oneInFlight(): { next(write: () => Promise<void>): Promise<void>; drain(): Promise<void> } {
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

/**
 * A file transmitted before the last file applied for the flow is refused whole (`out_of_order`). France Travail and
 * orientation files are still applied in file order; a CNAF file is ordered per dossier.
 */
export async function checkOrder(tx: Queryable, flow: Flow, file: LocalFile, transmittedAt: Date): Promise<void> {
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
