import type { KeyObject } from 'node:crypto'
import type { Queryable } from '../db/db.ts'
import { completeLines, mirrorFile, readCheckpointFile } from './checkpoint-file.ts'
import { compareWithCheckpoints, readCheckpoints, type Checkpoint } from './checkpoints.ts'
import { keptPurgeReceipts, keptReceiptFindings, verifyAuditChain, verifyRetentionReceipts, type ChainVerdict, type ReceiptsVerdict } from './verify-chain.ts'
import type { CheckpointTarget } from './write-checkpoint.ts'

export interface AuditLogVerdict {
  ok: boolean
  chain: ChainVerdict
  receipts: ReceiptsVerdict
  /** Valid checkpoints the chain was compared with, and the last one. */
  checkpoints: number
  lastCheckpoint: Checkpoint | undefined
  /** Events after the last checkpoint: nothing outside the database vouches for them yet. */
  unattested: number
  /** What is wrong, in words, first the checkpoint files, then the chain against them. */
  findings: string[]
}

const fmt = (n: number) => n.toLocaleString('en-US')

/**
 * `audit verify`: the chain recomputed (hashes, links, versions, free-text digests), the retention receipts kept
 * after purges, and the chain compared with the signed checkpoints of the checkpoint file and its mirror.
 */
export async function verifyAuditLog(db: Queryable, verifyingKey: KeyObject, target: CheckpointTarget, pageSize = 5000): Promise<AuditLogVerdict> {
  const findings: string[] = []
  const primaryText = readCheckpointFile(target.checkpointFile)
  const mirror = mirrorFile(target.checkpointFile, target.checkpointMirrorDir)
  const mirrorText = mirror ? readCheckpointFile(mirror) : undefined
  let text = primaryText ?? ''
  if (mirror) {
    const a = completeLines(primaryText)
    const b = completeLines(mirrorText)
    if (primaryText === undefined && mirrorText !== undefined) findings.push(`the checkpoint file ${target.checkpointFile} is missing; its mirror holds ${b.length} line(s), used instead`)
    else if (mirrorText === undefined && primaryText !== undefined) findings.push(`the checkpoint mirror ${mirror} is missing`)
    const common = a.findIndex((line, i) => line !== b[i])
    const prefix = common === -1 ? a.length : common
    if (prefix < Math.min(a.length, b.length)) findings.push(`the checkpoint file and its mirror differ from line ${prefix + 1}: one of them was changed`)
    else if (b.length > a.length && primaryText !== undefined) findings.push(`the checkpoint file has ${a.length} line(s), its mirror ${b.length}: the file lost its last ${b.length - a.length}`)
    else if (a.length > b.length && mirrorText !== undefined) findings.push(`the checkpoint mirror has ${b.length} line(s), the file ${a.length}: the mirror lost its last ${a.length - b.length}`)
    if (b.length > a.length) text = mirrorText ?? ''
  }
  const read = readCheckpoints(text, verifyingKey)
  findings.push(...read.findings)
  const checkpoints = read.valid.map((v) => v.checkpoint)
  const chain = await verifyAuditChain(db, pageSize, new Set(checkpoints.map((c) => c.seq)))
  const receipts = await verifyRetentionReceipts(db, pageSize)
  findings.push(...compareWithCheckpoints(checkpoints, chain, await keptPurgeReceipts(db)))
  findings.push(...(await keptReceiptFindings(db)))
  const last = checkpoints.at(-1)
  if (!last && chain.head.seq > (chain.base?.seq ?? 0)) {
    findings.push(
      `no checkpoint attests this log (${target.checkpointFile}${mirror ? ` and ${mirror}` : ''} hold none): a rewrite by whoever can write to the database would not be seen; the file was deleted, or no process has written one yet`,
    )
  }
  const unattested = last ? Math.max(0, chain.head.seq - Math.max(last.seq, chain.base?.seq ?? 0)) : chain.head.seq - (chain.base?.seq ?? 0)
  return { ok: chain.ok && receipts.ok && findings.length === 0, chain, receipts, checkpoints: checkpoints.length, lastCheckpoint: last, unattested, findings }
}

export function describeUnattested(verdict: AuditLogVerdict): string | undefined {
  if (verdict.unattested === 0 || !verdict.lastCheckpoint) return undefined
  return `${fmt(verdict.unattested)} event(s) after checkpoint ${verdict.lastCheckpoint.n} (seq ${fmt(verdict.lastCheckpoint.seq)}) are not yet covered by a checkpoint`
}
