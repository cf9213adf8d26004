import type { Keys } from '../crypto/keys.ts'
import type { Queryable } from '../db/db.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { reapplyOppositions } from './erasure.ts'
import { closeRectificationsFixedBy } from './rectification.ts'

/**
 * What data-subject rights need from ingestion, after each loaded file (call it inside the file's transaction,
 * after the merge, so a file and its consequences commit together):
 *  - contested fields the file corrected are closed (rectification, art. 16);
 *  - standing oppositions are applied again to the persons the file brought (or brought back).
 * Cheap when nothing is contested or opposed: two `exists` queries.
 */
export interface RightsAfterFile {
  rectificationsClosed: number
  requestsCorrected: number[]
  oppositionsReapplied: number
  counts: Record<string, number>
}

export async function applyRightsAfterFile(
  tx: Queryable,
  deps: { keys: Keys; purposes: ReadonlyMap<string, Purpose> },
  fileId: number,
  now: Date = new Date(),
): Promise<RightsAfterFile> {
  const rectified = await closeRectificationsFixedBy(tx, deps.keys, fileId, now)
  const reapplied = await reapplyOppositions(tx, deps, fileId, now)
  return { rectificationsClosed: rectified.closed, requestsCorrected: rectified.requests, oppositionsReapplied: reapplied.persons, counts: reapplied.counts }
}
