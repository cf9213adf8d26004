import type { Db, Queryable } from '../db/db.ts'
import type { AuditKeys } from '../crypto/keys.ts'
import { GENESIS_HASH } from './chain.ts'
import { appendCheckpointLines, completeLines, mirrorFile, readCheckpointFile } from './checkpoint-file.ts'
import { checkpointLine, readCheckpoints, type Checkpoint } from './checkpoints.ts'
import { hasGenuinePurgeReceipt } from './verify-chain.ts'

const CHECKPOINT_LOCK = 'passerelle:audit-checkpoint'

export interface CheckpointTarget {
  checkpointFile: string
  checkpointMirrorDir: string | undefined
}

export type CheckpointOutcome =
  | { written: true; n: number; seq: number; count: number; restored: string[] }
  | { written: false; why: 'unchanged'; n: number; seq: number; restored: string[] }

export class CheckpointRefusedError extends Error {}

interface HeadState {
  seq: number
  hash: string
  count: number
  base: { seq: number; hash: string }
}

async function headState(db: Queryable): Promise<HeadState> {
  const { rows } = await db.query<{ seq: number | null; hash: string | null; count: number; base_seq: number | null; base_hash: string | null }>(
    `with head as (select seq, hash from audit_events order by seq desc limit 1),
          base as (select upto_seq, last_hash from audit_truncations order by upto_seq desc limit 1)
     select (select seq from head) as seq,
            (select hash from head) as hash,
            (select count(*) from audit_events where seq <= coalesce((select seq from head), 0))::int as count,
            (select upto_seq from base) as base_seq,
            (select last_hash from base) as base_hash`,
  )
  const r = rows[0]!
  const base = r.base_seq === null ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(r.base_seq), hash: r.base_hash! }
  return r.seq === null ? { ...base, count: 0, base } : { seq: Number(r.seq), hash: r.hash!, count: Number(r.count), base }
}

/**
 * Takes a signed checkpoint of the audit chain's head and appends it to the checkpoint file (and its mirror).
 * Nothing is written when the head has not moved since the last checkpoint. Never attests a history that no
 * longer agrees with the last checkpoint: when the event it recorded is gone or changed, or the log was purged
 * with no purge receipt, it refuses (CheckpointRefusedError), so the last good checkpoint stays the last one.
 * A file that lost lines its mirror still has (or the reverse) is completed from the other first.
 */
export async function writeAuditCheckpoint(db: Db, keys: Pick<AuditKeys, 'signing' | 'verifying'>, target: CheckpointTarget, now: Date): Promise<CheckpointOutcome> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [CHECKPOINT_LOCK])
    const primaryText = readCheckpointFile(target.checkpointFile)
    const mirror = mirrorFile(target.checkpointFile, target.checkpointMirrorDir)
    const mirrorText = mirror ? readCheckpointFile(mirror) : undefined
    const primary = completeLines(primaryText)
    const copy = completeLines(mirrorText)
    const restored: string[] = []
    // One copy a prefix of the other: complete the shorter one, but only with signed checkpoints that follow each
    // other (a line someone added to one copy is not spread to the other). Copies that diverge are left for
    // `audit verify`.
    const allCheckpoints = (lines: string[]) => {
      const read = readCheckpoints(lines.join('\n'), keys.verifying)
      return read.findings.length === 0 && read.valid.length === lines.length
    }
    if (mirror && copy.length > primary.length && primary.every((l, i) => l === copy[i]) && allCheckpoints(copy)) {
      appendCheckpointLines(target.checkpointFile, copy.slice(primary.length))
      restored.push(`${copy.length - primary.length} checkpoint(s) copied back from the mirror to ${target.checkpointFile}`)
      primary.push(...copy.slice(primary.length))
    } else if (mirror && primary.length > copy.length && copy.every((l, i) => l === primary[i]) && allCheckpoints(primary)) {
      appendCheckpointLines(mirror, primary.slice(copy.length))
      restored.push(`${primary.length - copy.length} checkpoint(s) copied to the mirror ${mirror}`)
      copy.push(...primary.slice(copy.length))
    }
    const { valid } = readCheckpoints(primary.join('\n'), keys.verifying)
    const last = valid.at(-1)
    const state = await headState(tx)
    if (last && last.checkpoint.seq === state.seq && last.checkpoint.hash === state.hash && last.checkpoint.base.seq === state.base.seq) {
      return { written: false, why: 'unchanged', n: last.checkpoint.n, seq: state.seq, restored }
    }
    if (last) await refuseRewrittenHistory(tx, last.checkpoint, state)
    const line = checkpointLine(keys.signing, last, state, now)
    appendCheckpointLines(target.checkpointFile, [line])
    if (mirror && copy.length === primary.length) appendCheckpointLines(mirror, [line])
    return { written: true, n: (last?.checkpoint.n ?? 0) + 1, seq: state.seq, count: state.count, restored }
  })
}

async function refuseRewrittenHistory(db: Queryable, last: Checkpoint, state: HeadState): Promise<void> {
  const refuse = (why: string) => {
    throw new CheckpointRefusedError(`audit checkpoint refused: ${why}; run \`passerelle audit verify\``)
  }
  if (state.seq < last.seq) refuse(`the log ends at seq ${state.seq}, before checkpoint ${last.n} (seq ${last.seq})`)
  if (last.seq > state.base.seq) {
    const { rows } = await db.query<{ hash: string }>('select hash from audit_events where seq = $1', [last.seq])
    if (rows[0]?.hash !== last.hash) refuse(`event ${last.seq} no longer has the hash checkpoint ${last.n} recorded`)
  } else if (last.seq === state.base.seq && last.hash !== state.base.hash) {
    refuse(`the truncation at seq ${last.seq} does not carry the hash checkpoint ${last.n} recorded`)
  }
  if (state.base.seq < last.base.seq) refuse(`audit_truncations goes back to seq ${state.base.seq}, before the purge checkpoint ${last.n} recorded`)
  if (state.base.seq > last.base.seq) {
    if (!(await hasGenuinePurgeReceipt(db, state.base.seq))) {
      refuse(`the log was cut at seq ${state.base.seq} with no purge receipt`)
    }
  }
}

/** The last event's sequence number (0 for an empty log): a cheap way to tell whether a command appended events. */
export async function auditHeadSeq(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ seq: number | null }>('select max(seq) as seq from audit_events')
  return Number(rows[0]?.seq ?? 0)
}

/**
 * Takes a checkpoint for a scheduled run, a shutdown or the end of a CLI command, and logs what happened (counts
 * and numbers only). Never throws: a refused or failed checkpoint is logged as an error and the caller carries on.
 */
export async function checkpointAuditLog(
  deps: { db: Db; keys: { audit: Pick<AuditKeys, 'signing' | 'verifying'> }; config: { audit: CheckpointTarget }; log: { info: LogFn; warn: LogFn; error: LogFn } },
  reason: string,
  now = new Date(),
): Promise<CheckpointOutcome | undefined> {
  try {
    const outcome = await writeAuditCheckpoint(deps.db, deps.keys.audit, deps.config.audit, now)
    for (const restored of outcome.restored) deps.log.warn({ reason }, `audit checkpoint file repaired: ${restored}`)
    if (outcome.written) deps.log.info({ reason, checkpoint: outcome.n, seq: outcome.seq, events: outcome.count }, 'audit checkpoint written')
    return outcome
  } catch (error) {
    deps.log.error({ reason, err: { name: (error as Error).name, message: (error as Error).message } }, 'audit checkpoint not written')
    return undefined
  }
}

type LogFn = (fields: object, message: string) => void
