import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { canonicalJson, GENESIS_HASH } from './chain.ts'
import type { ChainFacts } from './verify-chain.ts'

/**
 * Signed checkpoints of the audit chain, kept outside the database (one JSON line each, append-only): what the
 * chain's head was at a moment, signed with an Ed25519 key that is not in the database, each linked to the one
 * before by its digest. A database administrator can rewrite the events and recompute their hashes, but not the
 * checkpoints: `audit verify` compares the chain with them. Pure rules here; files in checkpoint-file.ts.
 */
export interface CheckpointBody {
  /** Format version. */
  v: 1
  /** Checkpoint number, from 1, one more than the previous line's. */
  n: number
  /** The head: the last event's sequence number and hash (the base's when the log is empty). */
  seq: number
  hash: string
  /** Events in the log at that moment (from base.seq + 1 to seq). */
  count: number
  /** Where the log restarted after its last purge (audit_truncations), { seq: 0, hash: genesis } if never. */
  base: { seq: number; hash: string }
  /** When it was taken (ISO-8601). */
  at: string
  /** SHA-256 of the previous checkpoint's line, the genesis hash for the first. */
  prev: string
  /** Fingerprint of the signing key (SHA-256 of its raw public key, 16 hex characters). */
  key: string
}

export interface Checkpoint extends CheckpointBody {
  /** Ed25519 signature of the canonical JSON of the body, base64. */
  sig: string
}

export function keyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16)
}

export function lineDigest(line: string): string {
  return createHash('sha256').update(line.trimEnd()).digest('hex')
}

/** The next checkpoint's line (without its newline), after the last line of the file (if any). */
export function checkpointLine(
  signingKey: KeyObject,
  previous: { line: string; checkpoint: Checkpoint } | undefined,
  state: { seq: number; hash: string; count: number; base: { seq: number; hash: string } },
  at: Date,
): string {
  const body: CheckpointBody = {
    v: 1,
    n: (previous?.checkpoint.n ?? 0) + 1,
    seq: state.seq,
    hash: state.hash,
    count: state.count,
    base: state.base,
    at: at.toISOString(),
    prev: previous ? lineDigest(previous.line) : GENESIS_HASH,
    key: keyFingerprint(createPublicKey(signingKey)),
  }
  const sig = sign(null, Buffer.from(canonicalJson(body)), signingKey).toString('base64')
  return canonicalJson({ ...body, sig })
}

export interface ReadCheckpoints {
  /** Checkpoints whose signature holds, in file order. */
  valid: { line: string; checkpoint: Checkpoint }[]
  /** Everything wrong with the file itself, in words. */
  findings: string[]
}

function isCheckpoint(value: unknown): value is Checkpoint {
  const c = value as Checkpoint
  return (
    typeof c === 'object' && c !== null && c.v === 1 && Number.isInteger(c.n) && Number.isInteger(c.seq) && typeof c.hash === 'string' &&
    Number.isInteger(c.count) && typeof c.base === 'object' && c.base !== null && Number.isInteger(c.base.seq) && typeof c.base.hash === 'string' &&
    typeof c.at === 'string' && typeof c.prev === 'string' && typeof c.key === 'string' && typeof c.sig === 'string'
  )
}

const fmt = (n: number) => n.toLocaleString('en-US')

/**
 * Parses a checkpoint file and checks each line: its signature under `publicKey`, its number (one more than the
 * previous), its link (the previous line's digest). A line that fails is named and left out of the comparison.
 */
export function readCheckpoints(text: string, publicKey: KeyObject): ReadCheckpoints {
  const valid: ReadCheckpoints['valid'] = []
  const findings: string[] = []
  const fingerprint = keyFingerprint(publicKey)
  let previous: { line: string; checkpoint: Checkpoint } | undefined
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    const line = raw.trimEnd()
    if (line === '') return
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      findings.push(`checkpoint file line ${index + 1} is not a checkpoint (damaged or truncated)`)
      return
    }
    if (!isCheckpoint(parsed)) {
      findings.push(`checkpoint file line ${index + 1} is not a checkpoint (fields missing)`)
      return
    }
    const { sig, ...body } = parsed
    const signed = verify(null, Buffer.from(canonicalJson(body)), publicKey, Buffer.from(sig, 'base64'))
    if (!signed) {
      findings.push(
        parsed.key === fingerprint
          ? `checkpoint ${parsed.n} signature invalid: it was changed after it was signed`
          : `checkpoint ${parsed.n} signature invalid: signed by another key (${parsed.key}, this one is ${fingerprint})`,
      )
      return
    }
    const expectedN = (previous?.checkpoint.n ?? 0) + 1
    if (parsed.n !== expectedN) {
      findings.push(
        parsed.n > expectedN
          ? `${parsed.n - 1 > expectedN ? `checkpoints ${expectedN} to ${parsed.n - 1} are` : `checkpoint ${expectedN} is`} missing from the file (numbering jumps to ${parsed.n})`
          : `checkpoint ${parsed.n} appears again after checkpoint ${expectedN - 1}`,
      )
    } else if (parsed.prev !== (previous ? lineDigest(previous.line) : GENESIS_HASH)) {
      findings.push(`checkpoint ${parsed.n} does not link to the checkpoint before it: an earlier checkpoint was changed or replaced`)
    }
    previous = { line, checkpoint: parsed }
    valid.push(previous)
  })
  return { valid, findings }
}

/**
 * Compares the chain as it is now with the signed checkpoints: every head a checkpoint recorded must still be in
 * the chain with the same hash (unless a later, attested purge removed it), the log must not end before the last
 * checkpoint, and the log's start (the last purge) must be attested by a checkpoint or by a verified purge receipt.
 */
export function compareWithCheckpoints(checkpoints: readonly Checkpoint[], facts: ChainFacts, keptReceipts: ReadonlySet<number>): string[] {
  const findings: string[] = []
  const baseSeq = facts.base?.seq ?? 0
  const last = checkpoints.at(-1)
  if (last && last.seq > facts.head.seq) {
    findings.push(`events after checkpoint ${last.n} (seq ${fmt(last.seq)}) are missing: the head is ${fmt(facts.head.seq)}`)
  }
  let matching: Checkpoint | undefined
  for (const cp of checkpoints) {
    if (cp.seq > facts.head.seq) break
    if (cp.seq < baseSeq) continue
    const found = cp.seq === baseSeq ? facts.base?.hash ?? GENESIS_HASH : facts.hashesAt.get(cp.seq)
    if (found === undefined) continue // the chain walk stopped before it: already reported
    if (found !== cp.hash) {
      const since = matching ? `after checkpoint ${matching.n}'s head (seq ${fmt(matching.seq)}), which still matches` : 'at or before it'
      findings.push(
        `event ${fmt(cp.seq)} differs from checkpoint ${cp.n}'s head: an event ${since}, up to seq ${fmt(cp.seq)}, was changed, removed or inserted and the later hashes recomputed`,
      )
      break
    }
    matching = cp
  }
  const attestedBase = last?.base.seq ?? 0
  if (baseSeq > attestedBase) {
    const receipt = facts.purgeReceipts.has(baseSeq) || keptReceipts.has(baseSeq)
    if (!receipt) {
      findings.push(
        `the log starts after seq ${fmt(baseSeq)} (audit_truncations) but neither a checkpoint nor a purge receipt records that purge: events up to seq ${fmt(baseSeq)} were deleted outside the retention run`,
      )
    }
  } else if (last && baseSeq < attestedBase) {
    findings.push(`checkpoint ${last.n} records a purge up to seq ${fmt(attestedBase)} but the log's last truncation is at seq ${fmt(baseSeq)}: audit_truncations was changed`)
  } else if (last && facts.base && last.base.seq === baseSeq && last.base.hash !== facts.base.hash) {
    findings.push(`the truncation at seq ${fmt(baseSeq)} differs from the one checkpoint ${last.n} recorded: audit_truncations was changed`)
  }
  return findings
}
