import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { GENESIS_HASH } from '../../src/audit/chain.ts'
import { checkpointLine, compareWithCheckpoints, readCheckpoints, type Checkpoint } from '../../src/audit/checkpoints.ts'
import type { ChainFacts } from '../../src/audit/verify-chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'

const { signing, verifying } = testKeys().audit
const base = { seq: 0, hash: GENESIS_HASH }
const h = (n: number) => n.toString(16).padStart(64, '0')

function file(heads: number[]): string[] {
  const lines: string[] = []
  let previous: { line: string; checkpoint: Checkpoint } | undefined
  for (const seq of heads) {
    const line = checkpointLine(signing, previous, { seq, hash: h(seq), count: seq, base }, new Date(Date.UTC(2026, 0, 1, 0, seq)))
    previous = { line, checkpoint: JSON.parse(line) as Checkpoint }
    lines.push(line)
  }
  return lines
}

const facts = (head: number, hashesAt: [number, string][] = [], extra: Partial<ChainFacts> = {}): ChainFacts => ({
  base: null,
  head: { seq: head, hash: h(head) },
  hashesAt: new Map(hashesAt),
  purgeReceipts: new Set(),
  ...extra,
})

describe('audit checkpoints', () => {
  it('reads back signed, numbered, linked checkpoints', () => {
    const read = readCheckpoints(file([10, 20, 30]).join('\n') + '\n', verifying)
    expect(read.findings).toEqual([])
    expect(read.valid.map((v) => [v.checkpoint.n, v.checkpoint.seq])).toEqual([[1, 10], [2, 20], [3, 30]])
  })

  it('names a changed checkpoint, one signed by another key, a removed one and a damaged line', () => {
    const lines = file([10, 20, 30, 40])
    const changed = { ...JSON.parse(lines[1]!), seq: 21 }
    const other = generateKeyPairSync('ed25519').privateKey
    const foreign = checkpointLine(other, undefined, { seq: 5, hash: h(5), count: 5, base }, new Date())
    const read = readCheckpoints([lines[0], JSON.stringify(changed), foreign, lines[3], '{"v":1,"n":'].join('\n'), verifying)
    expect(read.findings).toEqual([
      'checkpoint 2 signature invalid: it was changed after it was signed',
      expect.stringMatching(/^checkpoint 1 signature invalid: signed by another key \([0-9a-f]{16}, this one is [0-9a-f]{16}\)$/),
      'checkpoints 2 to 3 are missing from the file (numbering jumps to 4)',
      'checkpoint file line 5 is not a checkpoint (damaged or truncated)',
    ])
    expect(read.valid.map((v) => v.checkpoint.n)).toEqual([1, 4])
    expect(readCheckpoints([lines[0], lines[2], lines[3]].join('\n'), verifying).findings).toEqual(['checkpoint 2 is missing from the file (numbering jumps to 3)'])
  })

  it('names a checkpoint re-signed by the key holder that no longer links to its predecessor', () => {
    const lines = file([10, 20])
    const first = JSON.parse(lines[0]!) as Checkpoint
    const forged = checkpointLine(signing, { line: '{"some":"other line"}', checkpoint: first }, { seq: 20, hash: h(99), count: 20, base }, new Date())
    const read = readCheckpoints([lines[0], forged].join('\n'), verifying)
    expect(read.findings).toEqual(['checkpoint 2 does not link to the checkpoint before it: an earlier checkpoint was changed or replaced'])
  })

  it('compares the chain with the checkpoints: missing tail, changed head, unattested purge', () => {
    const cps = readCheckpoints(file([10, 20]).join('\n'), verifying).valid.map((v) => v.checkpoint)
    expect(compareWithCheckpoints(cps, facts(20, [[10, h(10)], [20, h(20)]]), new Set())).toEqual([])
    expect(compareWithCheckpoints(cps, facts(19, [[10, h(10)]]), new Set())).toEqual(['events after checkpoint 2 (seq 20) are missing: the head is 19'])
    expect(compareWithCheckpoints(cps, facts(25, [[10, h(10)], [20, h(77)]]), new Set())).toEqual([
      "event 20 differs from checkpoint 2's head: an event after checkpoint 1's head (seq 10), which still matches, up to seq 20, was changed, removed or inserted and the later hashes recomputed",
    ])
    const purged = facts(25, [[20, h(20)]], { base: { seq: 15, hash: h(15) } })
    expect(compareWithCheckpoints(cps, purged, new Set())).toEqual([
      'the log starts after seq 15 (audit_truncations) but neither a checkpoint nor a purge receipt records that purge: events up to seq 15 were deleted outside the retention run',
    ])
    expect(compareWithCheckpoints(cps, purged, new Set([15]))).toEqual([])
    expect(compareWithCheckpoints(cps, { ...purged, purgeReceipts: new Set([15]) }, new Set())).toEqual([])
  })
})
