/**
 * How far a reader is through its file: the reader sets `bytesRead` when it opens the file, the caller reads it when
 * it reports progress (bytes out of the known file size give a percentage and an ETA).
 */
export interface ByteMeter {
  bytesRead: () => number
}

export function byteMeter(): ByteMeter {
  return { bytesRead: () => 0 }
}

/** Progress of one file being loaded: records so far, bytes read out of the file's size. */
export interface IngestProgress {
  records: number
  bytes: number
  size: number
}
