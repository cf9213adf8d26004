import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AuditTextError, checkAuditText, hasNirShape } from '../../src/audit/free-text.ts'

const digit = fc.integer({ min: 0, max: 9 }).map(String)
const digits = (n: number) => fc.array(digit, { minLength: n, maxLength: n }).map((d) => d.join(''))
/** A NIR's 13 characters: five digits, a département (two digits, or 2A/2B), six digits; and optionally its key. */
const nir = fc
  .tuple(digits(5), fc.oneof(digits(2), fc.constantFrom('2A', '2B', '2a', '2b')), digits(6), fc.option(digits(2), { nil: undefined }))
  .map(([a, dep, b, key]) => a + dep + b + (key ?? ''))
/** Written with or without separators between its characters, as people type it. */
const written = (value: string) =>
  fc.array(fc.constantFrom('', '', '', ' ', '.', '  '), { minLength: value.length - 1, maxLength: value.length - 1 }).map((seps) =>
    value.split('').map((c, i) => c + (seps[i] ?? '')).join(''),
  )
const words = fc.array(fc.constantFrom('Demande', 'de', 'SAINT-JUST', 'Maëlle', 'NIR', 'complexe', 'dossier', 'n°', 'le'), { maxLength: 5 }).map((w) => w.join(' '))

describe('NIR-shaped free text', () => {
  it('finds a NIR written any way, anywhere in a text', () => {
    fc.assert(
      fc.property(words, nir.chain(written), words, (before, n, after) => {
        expect(hasNirShape(`${before} ${n} ${after}`)).toBe(true)
        expect(hasNirShape(`${before}${n}`)).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })

  it('lets through numbers of other lengths: dates, SIRET, court references, amounts', () => {
    for (const text of [
      'contentieux TA-2026-001 devant le tribunal',
      'SIRET 21930001100011', // 14 digits
      'recours n° 2023-17 du 12/03/2024',
      'montant 1234,56 € le 2026-03-10',
      'dossier 123456789012', // 12 digits
      'référence 1234567890123456', // 16 digits
    ]) expect(hasNirShape(text), text).toBe(false)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }).filter((n) => n !== 13 && n !== 15), (n) => {
        expect(hasNirShape(`ref ${'7'.repeat(n)} fin`)).toBe(false)
      }),
    )
  })

  it('refuses a NIR-shaped text naming the field, never quoting the text', () => {
    const text = 'Demande de SAINT-JUST Maëlle NIR 294089378997978 complexe'
    try {
      checkAuditText('reason', text)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(AuditTextError)
      expect((error as AuditTextError).field).toBe('reason')
      expect((error as Error).message).toMatch(/^reason: contains a number shaped like a NIR/)
      for (const part of ['294089378997978', '2940893789979', 'SAINT-JUST', 'Maëlle']) expect((error as Error).message).not.toContain(part)
    }
    expect(() => checkAuditText('reason', 'demandes simultanées nombreuses, recherche en archive')).not.toThrow()
  })
})
