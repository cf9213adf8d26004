import { LockLostError } from '../db/advisory-lock.ts'
import { CmsDecryptionError } from './decrypt/cms-decrypt.ts'
import { asDecryptionRejection } from './decrypt/decryption-stage.ts'
import { FileRejection } from './file-rejection.ts'

/**
 * Whatever goes wrong while a file is read becomes a file rejection, so that the file is recorded (files row,
 * status rejected), answered (.nack) and not read again, instead of an exception that leaves no trace and is
 * retried at every pull. A reader's own rejections pass as they are; an abort (the scheduler stopping, the job's
 * lock lost), and a system error (the staging file unreadable: infrastructure, the next run retries) are rethrown.
 * Anything else (a RangeError of a string grown too long, a parser's TypeError, a worker that died) is
 * `reader_failed`, named by its class only: the message of an unexpected error may quote the content.
 */
export async function* guardReader<T>(events: AsyncIterable<T>, fileLabel: string): AsyncGenerator<T> {
  try {
    yield* events
  } catch (error) {
    throw asReaderRejection(error, fileLabel)
  }
}

export function asReaderRejection(error: unknown, fileLabel: string): unknown {
  if (error instanceof FileRejection || isInfrastructureError(error)) return error
  if (error instanceof CmsDecryptionError) return asDecryptionRejection(error, fileLabel)
  const kind = error instanceof Error && /^[A-Za-z]{1,40}$/.test(error.name) ? error.name : 'unknown error'
  return new FileRejection('reader_failed', `file "${fileLabel}": the reader failed (${kind}) (rule reader_failed)`, {})
}

/** An abort, or a failure of the system or database rather than of the file (retried at the next run). */
export function isInfrastructureError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (error.name === 'AbortError' || error instanceof LockLostError) return true
  const { syscall, code } = error as { syscall?: unknown; code?: unknown }
  if (typeof syscall === 'string') return true
  // PostgreSQL connection, resource and operator-intervention classes (08, 53, 57).
  return typeof code === 'string' && /^(08|53|57)[0-9A-Z]{3}$/.test(code)
}
