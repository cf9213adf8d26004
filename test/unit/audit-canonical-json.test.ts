import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson, eventHash, eventHashV2, microsecondInstant } from '../../src/audit/chain.ts'

/** The definition the audit chain was first written with: every stored hash was computed this way. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null)
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`
}

describe('canonical JSON of audit events', () => {
  it('is the same text as the reference definition for any JSON-like value (hashes already stored stay valid)', () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined)),
      node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 5 }), fc.dictionary(fc.string({ unit: 'binary' }), tie('node'), { maxKeys: 6 })),
    })).node
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(reference(v))
      }),
      { numRuns: 2000 },
    )
  })

  it('pins the hash of a known event', () => {
    const hash = eventHash(7, '0'.repeat(64), {
      occurredAt: new Date('2026-11-23T10:00:00.000Z'),
      actor: 'referent@example.org',
      organisation: '21750001600019',
      purpose: 'accompagnement-rsa',
      action: 'api.beneficiaire.read',
      subject: 'subj',
      outcome: 'granted',
      requestId: 'r-1',
      clientAddress: '127.0.0.1',
      details: { status: 200, route: '/beneficiaires/:id', z: [1, undefined, { b: 2, a: 1 }], skipped: undefined },
    })
    expect(hash).toBe(HASH)
  })
})
describe('version-2 event hashes', () => {
  const event = {
    occurredAt: new Date('2026-11-23T10:00:00.123Z'),
    actor: 'referent@example.org',
    organisation: '21750001600019',
    purpose: 'accompagnement-rsa',
    action: 'api.beneficiaire.read',
    subject: 'subj',
    outcome: 'granted' as const,
    requestId: 'r-1',
    clientAddress: '127.0.0.1',
    details: { status: 200 },
  }
  it('commit to the instant to the microsecond, and to the key', () => {
    const key = Buffer.alloc(32, 5)
    const instant = microsecondInstant(event.occurredAt)
    expect(instant).toBe('2026-11-23T10:00:00.123000Z')
    const hash = eventHashV2(key, 7, '0'.repeat(64), event, instant)
    expect(eventHashV2(key, 7, '0'.repeat(64), event, '2026-11-23T10:00:00.123400Z')).not.toBe(hash)
    expect(eventHashV2(Buffer.alloc(32, 6), 7, '0'.repeat(64), event, instant)).not.toBe(hash)
    // Not the version-1 hash of the same event: a version label cannot be swapped without breaking the hash.
    expect(eventHash(7, '0'.repeat(64), event)).not.toBe(hash)
  })
})

// Computed with the reference definition before canonicalJson was rewritten.
const HASH = '284a71a2e1f81d814ef70f0ea2ce16347cb7ef12fd08371c53606bc159b9af19'
