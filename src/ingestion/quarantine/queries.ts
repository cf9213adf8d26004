import type { Queryable } from '../../db/db.ts'
import type { QuarantineEntry } from './decide-quarantine.ts'

/** A remote file as listed: what identifies it before it is downloaded. */
export interface RemoteFileKey {
  flowId: string
  name: string
  size: number
  modifiedAt: Date
}

export interface QuarantineRow {
  id: number
  flowId: string
  name: string
  size: number
  modifiedAt: Date
  status: QuarantineEntry['status']
  unfinishedAttempts: number
  lastError: string | null
  firstAttemptAt: Date
  lastAttemptAt: Date
  quarantinedAt: Date | null
  releasedAt: Date | null
}

type Row = {
  id: string | number
  flow_id: string
  name: string
  size: string | number
  modified_at: Date
  status: QuarantineEntry['status']
  unfinished_attempts: number
  last_error: string | null
  first_attempt_at: Date
  last_attempt_at: Date
  quarantined_at: Date | null
  released_at: Date | null
}

const COLUMNS = `id, flow_id, name, size, modified_at, status, unfinished_attempts, last_error, first_attempt_at, last_attempt_at, quarantined_at, released_at`

function toRow(r: Row): QuarantineRow {
  return {
    id: Number(r.id),
    flowId: r.flow_id,
    name: r.name,
    size: Number(r.size),
    modifiedAt: new Date(r.modified_at),
    status: r.status,
    unfinishedAttempts: r.unfinished_attempts,
    lastError: r.last_error,
    firstAttemptAt: new Date(r.first_attempt_at),
    lastAttemptAt: new Date(r.last_attempt_at),
    quarantinedAt: r.quarantined_at && new Date(r.quarantined_at),
    releasedAt: r.released_at && new Date(r.released_at),
  }
}

export async function findQuarantineEntry(db: Queryable, key: RemoteFileKey): Promise<QuarantineRow | undefined> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS}
     from file_quarantine
     where flow_id = $1 and name = $2 and size = $3 and modified_at = $4`,
    [key.flowId, key.name, key.size, key.modifiedAt],
  )
  return rows[0] && toRow(rows[0])
}

/** Counts one more attempt at the file (committed at once: a process that dies reading it leaves it counted). */
export async function countAttempt(db: Queryable, key: RemoteFileKey): Promise<number> {
  const { rows } = await db.query<{ id: string | number }>(
    `insert into file_quarantine (flow_id, name, size, modified_at, unfinished_attempts)
     values ($1, $2, $3, $4, 1)
     on conflict (flow_id, name, size, modified_at) do update
     set unfinished_attempts = file_quarantine.unfinished_attempts + 1, last_attempt_at = now()
     returning id`,
    [key.flowId, key.name, key.size, key.modifiedAt],
  )
  return Number(rows[0]!.id)
}

/** The attempt ended with an outcome (loaded, rejected, skipped): nothing is kept about the file. */
export async function forgetAttempts(db: Queryable, id: number): Promise<void> {
  await db.query(
    `delete from file_quarantine
     where id = $1 and status <> 'quarantined'`,
    [id],
  )
}

/** The attempt failed for a reason outside the file (database, network, abort): it is not counted. */
export async function uncountAttempt(db: Queryable, id: number): Promise<void> {
  await db.query(
    `update file_quarantine
     set unfinished_attempts = greatest(unfinished_attempts - 1, 0)
     where id = $1`,
    [id],
  )
}

/** The attempt failed with an unexpected error: it stays counted, with the error's class. */
export async function noteAttemptError(db: Queryable, id: number, errorClass: string): Promise<void> {
  await db.query(
    `update file_quarantine
     set last_error = $2
     where id = $1`,
    [id, errorClass],
  )
}

export async function quarantineFile(db: Queryable, id: number): Promise<void> {
  await db.query(
    `update file_quarantine
     set status = 'quarantined', quarantined_at = now()
     where id = $1`,
    [id],
  )
}

/** Releases a quarantined file: the next pull fetches it again (and counts its attempts afresh). */
export async function releaseQuarantinedFile(db: Queryable, id: number): Promise<QuarantineRow | undefined> {
  const { rows } = await db.query<Row>(
    `update file_quarantine
     set status = 'released', released_at = now(), unfinished_attempts = 0
     where id = $1 and status = 'quarantined'
     returning ${COLUMNS}`,
    [id],
  )
  return rows[0] && toRow(rows[0])
}

export async function listQuarantine(db: Queryable, options: { all?: boolean } = {}): Promise<QuarantineRow[]> {
  const { rows } = await db.query<Row>(
    `select ${COLUMNS}
     from file_quarantine
     where $1 or status = 'quarantined'
     order by id`,
    [options.all === true],
  )
  return rows.map(toRow)
}
