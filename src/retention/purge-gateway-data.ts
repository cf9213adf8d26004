import { lstat, readdir, unlink } from 'node:fs/promises'
import path from 'node:path'
import { appendAuditEvents } from '../audit/audit-log.ts'
import type { Queryable } from '../db/db.ts'
import { parisDay } from '../calendar/paris-day.ts'
import type { PolicyCutoffs } from './plan.ts'
import { retentionReceipt } from './receipt.ts'
import { betweenChunks, type RunContext } from './run-context.ts'

/**
 * Retention of the gateway's own data: rejected-record rows (dated by their file's processing), expired or
 * revoked API tokens (dated by their expiry or revocation), files left over in the staging directory and statistical
 * extract files (dated by their modification time). Each deletion ends with a `retention.destroy` receipt.
 */

const REJECTION_DAY = `(f.finished_at at time zone 'Europe/Paris')::date`
const TOKEN_DAY = `(least(coalesce(t.revoked_at, t.expires_at), t.expires_at) at time zone 'Europe/Paris')::date`

export async function countDueRejections(db: Queryable, cutoff: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n
     from rejections r
     join files f on f.id = r.file_id
     where ${REJECTION_DAY} <= $1::date`,
    [cutoff],
  )
  return rows[0]!.n
}

export async function purgeRejections(ctx: RunContext, policyId: string, cutoffs: PolicyCutoffs): Promise<number> {
  return purgeByIds(ctx, policyId, cutoffs, 'rejections', (tx, afterId) =>
    tx.query<{ id: number }>(
      `delete from rejections
       where id in (
         select r.id
         from rejections r
         join files f on f.id = r.file_id
         where ${REJECTION_DAY} <= $1::date
           and r.id > $2
         order by r.id
         limit $3
       )
       returning id`,
      [cutoffs.destroyAnchorCutoff, afterId, ctx.chunkSize],
    ),
  )
}

/** A matching-queue row's day: its resolution, or the last file that brought it while pending. */
const QUEUE_DAY = `(coalesce(q.resolved_at, q.transmitted_at) at time zone 'Europe/Paris')::date`

export async function countDueQueueRows(db: Queryable, cutoff: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from matching_queue q where ${QUEUE_DAY} <= $1::date`, [cutoff])
  return rows[0]!.n
}

/** Deletes the matching-queue rows past their policy (pending ones too: a later file naming the person queues it again). */
export async function purgeMatchingQueue(ctx: RunContext, policyId: string, cutoffs: PolicyCutoffs): Promise<number> {
  return purgeByIds(ctx, policyId, cutoffs, 'matching_queue', (tx, afterId) =>
    tx.query<{ id: number }>(
      `delete from matching_queue
       where id in (
         select q.id
         from matching_queue q
         where ${QUEUE_DAY} <= $1::date
           and q.id > $2
         order by q.id
         limit $3
       )
       returning id`,
      [cutoffs.destroyAnchorCutoff, afterId, ctx.chunkSize],
    ),
  )
}

/** The API tokens table arrives with the partner API (migration 0020); before that there is nothing to purge. */
export async function apiTokensPresent(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ t: string | null }>(`select to_regclass('public.api_tokens')::text as t`)
  return rows[0]?.t !== null && rows[0]?.t !== undefined
}

export async function countDueTokens(db: Queryable, cutoff: string): Promise<number> {
  if (!(await apiTokensPresent(db))) return 0
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from api_tokens t where ${TOKEN_DAY} <= $1::date`, [cutoff])
  return rows[0]!.n
}

export async function purgeExpiredTokens(ctx: RunContext, policyId: string, cutoffs: PolicyCutoffs): Promise<number> {
  if (!(await apiTokensPresent(ctx.db))) return 0
  return purgeByIds(ctx, policyId, cutoffs, 'api_tokens', (tx, afterId) =>
    tx.query<{ id: number }>(
      `delete from api_tokens
       where id in (
         select t.id
         from api_tokens t
         where ${TOKEN_DAY} <= $1::date
           and t.id > $2
         order by t.id
         limit $3
       )
       returning id`,
      [cutoffs.destroyAnchorCutoff, afterId, ctx.chunkSize],
    ),
  )
}

async function purgeByIds(
  ctx: RunContext,
  policyId: string,
  cutoffs: PolicyCutoffs,
  table: string,
  remove: (tx: Queryable, afterId: number) => Promise<{ rows: { id: number }[]; rowCount: number }>,
): Promise<number> {
  let total = 0
  let afterId = 0
  for (let index = 0; ; index++) {
    const done = await ctx.db.transaction(async (tx) => {
      const { rows } = await remove(tx, afterId)
      if (rows.length === 0) return undefined
      const ids = rows.map((r) => r.id).sort((a, b) => a - b)
      await appendAuditEvents(tx, [
        retentionReceipt({
          action: 'retention.destroy',
          runId: ctx.runId,
          policyId,
          phase: 'active',
          anchorCutoff: cutoffs.destroyAnchorCutoff,
          today: ctx.today,
          counts: { [table]: ids.length },
          keys: ids.map((id) => `${table}:${id}`),
          occurredAt: ctx.now,
          chunk: index,
        }),
      ])
      await ctx.onChunk?.({ step: `destroy.${table}`, policyId, index, rows: ids.length })
      return ids
    })
    if (!done) break
    total += done.length
    afterId = done.at(-1)!
    await betweenChunks(ctx)
  }
  return total
}

export interface ExpiredFile {
  /** Path relative to the swept directory. */
  name: string
  size: number
}

/** Files (not directories, not symbolic links' targets) under `dir` last modified on or before `cutoff`. */
export async function listExpiredFiles(dir: string, cutoff: string): Promise<ExpiredFile[]> {
  const found: ExpiredFile[] = []
  async function walk(sub: string): Promise<void> {
    let entries
    try {
      entries = await readdir(path.join(dir, sub), { withFileTypes: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw error
    }
    for (const entry of entries) {
      const rel = path.join(sub, entry.name)
      if (entry.isDirectory()) await walk(rel)
      else {
        const stat = await lstat(path.join(dir, rel))
        if ((stat.isFile() || stat.isSymbolicLink()) && parisDay(stat.mtime) <= cutoff) found.push({ name: rel, size: stat.size })
      }
    }
  }
  await walk('')
  return found.sort((a, b) => (a.name < b.name ? -1 : 1))
}

/** Files per receipt of a sweep: a receipt is committed before its files are deleted. */
const FILES_PER_RECEIPT = 1000

/**
 * Deletes the files of a directory past the policy (staging leftovers after a crash, statistical extract files), in
 * chunks, each recorded first: one receipt per chunk (count, bytes and a hash of the file names) is committed,
 * then its files are deleted. A run killed mid-chunk leaves files its receipt names, which the next run deletes
 * and names again: a file may be named twice, never deleted unrecorded. `kind` names the counts (`staging_files`,
 * `staging_bytes`; `extract_files`, `extract_bytes`).
 */
export async function sweepExpiredFiles(
  ctx: RunContext,
  policyId: string,
  cutoffs: PolicyCutoffs,
  dir: string,
  kind: 'staging' | 'extract',
): Promise<{ files: number; bytes: number }> {
  const files = await listExpiredFiles(dir, cutoffs.destroyAnchorCutoff)
  let count = 0
  let bytes = 0
  for (let index = 0; index * FILES_PER_RECEIPT < files.length; index++) {
    if (index > 0) await betweenChunks(ctx)
    const chunk = files.slice(index * FILES_PER_RECEIPT, (index + 1) * FILES_PER_RECEIPT)
    const chunkBytes = chunk.reduce((sum, f) => sum + f.size, 0)
    await ctx.db.transaction(async (tx) => {
      await appendAuditEvents(tx, [
        retentionReceipt({
          action: 'retention.destroy',
          runId: ctx.runId,
          policyId,
          phase: 'active',
          anchorCutoff: cutoffs.destroyAnchorCutoff,
          today: ctx.today,
          counts: { [`${kind}_files`]: chunk.length, [`${kind}_bytes`]: chunkBytes },
          keys: chunk.map((f) => `${kind}:${f.name}`),
          occurredAt: ctx.now,
          chunk: index,
        }),
      ])
      await ctx.onChunk?.({ step: `destroy.${kind}_files`, policyId, index, rows: chunk.length })
    })
    for (const file of chunk) {
      try {
        await unlink(path.join(dir, file.name))
      } catch (error) {
        // Gone already (another sweep, an operator): what the receipt says holds.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
    }
    count += chunk.length
    bytes += chunkBytes
  }
  return { files: count, bytes }
}
