import type { Queryable } from '../db/db.ts'

/** Recent job runs and file imports, as `passerelle runs` and GET /v1/admin/runs show them. */
export interface JobRunRow {
  id: number
  job: string
  started_at: Date
  finished_at: Date | null
  outcome: string | null
  counts: unknown
  error: string | null
}

export interface FileRunRow {
  id: number
  flow_id: string
  name: string
  status: string
  kind: string | null
  records_accepted: number
  records_rejected: number
  reason: string | null
  finished_at: Date
}

export async function listJobRuns(db: Queryable, limit: number): Promise<JobRunRow[]> {
  const { rows } = await db.query<JobRunRow>(
    `select id, job, started_at, finished_at, outcome, counts, error
     from job_runs
     order by id desc
     limit $1`,
    [limit],
  )
  return rows
}

export async function listRecentFiles(db: Queryable, limit: number): Promise<FileRunRow[]> {
  const { rows } = await db.query<FileRunRow>(
    `select id, flow_id, name, status, kind, records_accepted, records_rejected, reason, finished_at
     from files
     order by id desc
     limit $1`,
    [limit],
  )
  return rows
}
