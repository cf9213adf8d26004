import type { SftpSource } from '../flows/flow.ts'
import type { RemoteFile } from './connect.ts'

export type WaitingReason = 'too_recent' | 'no_ready_marker'

export interface FileSelection {
  /** Files to fetch now, oldest first (then by name). */
  ready: RemoteFile[]
  /** Files of the flow held back this run: still being written, or their ready marker is not there yet. */
  waiting: { file: RemoteFile; reason: WaitingReason }[]
}

/** Suffixes of files that are never data: our acknowledgements and the usual partial-upload names. */
const CONTROL_SUFFIXES = ['.ack', '.nack', '.part', '.partial', '.filepart', '.tmp', '.temp', '.lock', '~']

/**
 * Which files of a remote listing to take this run. A file is taken when its whole name matches the flow's
 * pattern; it is not a control file (`.ack`, `.nack`, the ready marker itself, a hidden or temporary upload name);
 * it was last modified at least `min_age_seconds` before `now` (younger: still being written); and, when the flow
 * declares `ready_marker_suffix`, `<name><suffix>` is in the same listing.
 */
export function selectFiles(
  listing: readonly RemoteFile[],
  source: Pick<SftpSource, 'pattern' | 'min_age_seconds' | 'ready_marker_suffix'>,
  now: Date,
): FileSelection {
  const pattern = new RegExp(`^(?:${source.pattern})$`)
  const names = new Set(listing.map((file) => file.name))
  const marker = source.ready_marker_suffix
  const ready: RemoteFile[] = []
  const waiting: FileSelection['waiting'] = []
  for (const file of listing) {
    if (isControlFile(file.name, marker) || !pattern.test(file.name)) continue
    if (now.getTime() - file.modifiedAt.getTime() < source.min_age_seconds * 1000) {
      waiting.push({ file, reason: 'too_recent' })
    } else if (marker !== undefined && !names.has(file.name + marker)) {
      waiting.push({ file, reason: 'no_ready_marker' })
    } else {
      ready.push(file)
    }
  }
  ready.sort((a, b) => a.modifiedAt.getTime() - b.modifiedAt.getTime() || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { ready, waiting }
}

/** Hidden names, partial uploads, acknowledgements and ready markers are never taken as data files. */
export function isControlFile(name: string, readyMarkerSuffix?: string): boolean {
  if (name.startsWith('.')) return true
  const lower = name.toLowerCase()
  if (CONTROL_SUFFIXES.some((suffix) => lower.endsWith(suffix))) return true
  return readyMarkerSuffix !== undefined && name.endsWith(readyMarkerSuffix)
}
