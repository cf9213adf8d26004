import { createHmac, timingSafeEqual } from 'node:crypto'
import { badRequest } from './api-error.ts'

/**
 * Opaque, tamper-evident page cursors: a row id (keyset pagination) and a MAC tying it to one list (`kind`), so a
 * cursor of one list cannot be replayed on another and internal ids cannot be walked by hand.
 */
function mac(key: Buffer, kind: string, id: number): string {
  return createHmac('sha256', key).update(`cursor|${kind}|${id}`).digest('base64url').slice(0, 16)
}

export function encodeCursor(key: Buffer, kind: string, id: number): string {
  return `${id.toString(36)}.${mac(key, kind, id)}`
}

/** The id a cursor carries; 400 `invalid_cursor` when it was not issued for this list. */
export function decodeCursor(key: Buffer, kind: string, cursor: string | undefined): number {
  if (cursor === undefined) return 0
  const m = /^([0-9a-z]{1,13})\.([A-Za-z0-9_-]{16})$/.exec(cursor)
  const id = m ? parseInt(m[1]!, 36) : NaN
  if (!m || !Number.isSafeInteger(id) || id < 0) throw badRequest('invalid_cursor', 'cursor: not a cursor of this list')
  const expected = Buffer.from(mac(key, kind, id))
  const given = Buffer.from(m[2]!)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw badRequest('invalid_cursor', 'cursor: not a cursor of this list')
  return id
}
