import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'

/** The audit subject of a person, computed again or taken from the pseudonyms kept: the same keyed hash, per key. */
describe('audit subject pseudonyms', () => {
  const expected = (key: Buffer, matchKey: string) => 'p_' + createHmac('sha256', key).update(`audit-subject|${matchKey}`).digest('base64url').slice(0, 32)

  it('answers the keyed hash, the first time and from the kept ones, and never one key for another', () => {
    const a = randomBytes(32)
    const b = randomBytes(32)
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 100; i++) {
        expect(auditSubject(a, `mk-${i}`)).toBe(expected(a, `mk-${i}`))
        expect(auditSubject(b, `mk-${i}`)).toBe(expected(b, `mk-${i}`))
      }
    }
    expect(auditSubject(a, 'mk-1')).not.toBe(auditSubject(b, 'mk-1'))
  })

  it('keeps answering right past the number it keeps', () => {
    const key = randomBytes(32)
    for (let i = 0; i < 45_000; i += 1) auditSubject(key, `mk-${i}`)
    for (const i of [0, 19_999, 20_000, 44_999]) expect(auditSubject(key, `mk-${i}`)).toBe(expected(key, `mk-${i}`))
  })
})
