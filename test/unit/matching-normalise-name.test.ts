import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { identityIndex } from '../../src/crypto/blind-index.ts'
import { normaliseName } from '../../src/matching/normalise-name.ts'

/**
 * The one normalisation of names compared by identity matching: what it ignores (case, accents, ligatures,
 * spaces, hyphens, apostrophes) and what it never ignores (a letter), as properties over generated names.
 */
const KEY = Buffer.alloc(32, 7)
const letters = fc.stringMatching(/^[A-Za-z]{1,12}$/)
const name = fc.array(letters, { minLength: 1, maxLength: 4 }).map((parts) => parts.join(' '))
const SEPARATORS = [' ', '-', "'", '’', '  ', '\t', '‐']
const ACCENTED: Record<string, string[]> = { A: ['À', 'Â', 'Ä', 'á'], E: ['É', 'È', 'Ê', 'Ë', 'é', 'è'], I: ['Î', 'Ï'], O: ['Ô', 'Ö', 'ó'], U: ['Ù', 'Û', 'Ü'], C: ['Ç', 'ç'], N: ['Ñ'], Y: ['Ÿ'] }

describe('normaliseName', () => {
  it('gives letters A–Z only, and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const n = normaliseName(s)
        expect(n).toMatch(/^[A-Z]*$/)
        expect(normaliseName(n)).toBe(n)
      }),
    )
  })

  it('ignores case', () => {
    fc.assert(
      fc.property(name, (s) => {
        expect(normaliseName(s.toLowerCase())).toBe(normaliseName(s.toUpperCase()))
      }),
    )
  })

  it('ignores spaces, hyphens and apostrophes wherever they are', () => {
    fc.assert(
      fc.property(name, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...SEPARATORS)), { maxLength: 5 }), (s, inserts) => {
        let t = s
        for (const [at, sep] of inserts) {
          const i = at % (t.length + 1)
          t = t.slice(0, i) + sep + t.slice(i)
        }
        expect(normaliseName(t)).toBe(normaliseName(s))
      }),
    )
  })

  it('ignores accents, in composed or decomposed form', () => {
    fc.assert(
      fc.property(name, fc.nat(), fc.boolean(), (s, pick, decomposed) => {
        const accented = [...s].map((c, i) => {
          const choices = ACCENTED[c.toUpperCase()]
          return choices ? choices[(pick + i) % choices.length]! : c
        })
        const t = accented.join('').normalize(decomposed ? 'NFD' : 'NFC')
        expect(normaliseName(t)).toBe(normaliseName(s))
      }),
    )
  })

  it('never ignores a letter: changing, adding or removing one changes the name', () => {
    fc.assert(
      fc.property(letters, fc.nat(), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), (s, at, letter) => {
        const upper = s.toUpperCase()
        const i = at % upper.length
        if (upper[i] !== letter) expect(normaliseName(upper.slice(0, i) + letter + upper.slice(i + 1))).not.toBe(normaliseName(upper))
        expect(normaliseName(upper.slice(0, i) + letter + upper.slice(i))).not.toBe(normaliseName(upper))
        if (upper.length > 1) expect(normaliseName(upper.slice(0, i) + upper.slice(i + 1))).not.toBe(normaliseName(upper))
      }),
    )
  })

  it('spells the usual French cases the same', () => {
    expect(normaliseName("Lefèvre-Durand")).toBe('LEFEVREDURAND')
    expect(normaliseName('LEFEVRE DURAND')).toBe('LEFEVREDURAND')
    expect(normaliseName("D'Almeida")).toBe(normaliseName('DALMEIDA'))
    expect(normaliseName('Œillet')).toBe('OEILLET')
    expect(normaliseName('Lætitia')).toBe('LAETITIA')
    expect(normaliseName('Jean-Pierre')).toBe(normaliseName('JEAN PIERRE'))
  })
})

describe('identityIndex', () => {
  it('is the same for the same identity however it is spelt, and differs with any part', () => {
    const a = identityIndex(KEY, { nomNaissance: 'Lefèvre', prenom: 'Anaïs', dateNaissance: '1980-01-15' })
    expect(identityIndex(KEY, { nomNaissance: 'LEFEVRE', prenom: 'anais', dateNaissance: '1980-01-15' })).toBe(a)
    expect(identityIndex(KEY, { nomNaissance: 'LEFEVRE', prenom: 'ANAIS', dateNaissance: '1980-01-16' })).not.toBe(a)
    expect(identityIndex(KEY, { nomNaissance: 'LEFEVRES', prenom: 'ANAIS', dateNaissance: '1980-01-15' })).not.toBe(a)
    expect(identityIndex(KEY, { nomNaissance: 'LEFEVRE', prenom: 'ANAISE', dateNaissance: '1980-01-15' })).not.toBe(a)
    // The name and the first name are not one string: swapping letters between them is another identity.
    expect(identityIndex(KEY, { nomNaissance: 'LEFEVREA', prenom: 'NAIS', dateNaissance: '1980-01-15' })).not.toBe(a)
    expect(identityIndex(Buffer.alloc(32, 8), { nomNaissance: 'LEFEVRE', prenom: 'ANAIS', dateNaissance: '1980-01-15' })).not.toBe(a)
  })

  it('is undefined when a part is missing or empty once normalised', () => {
    expect(identityIndex(KEY, { nomNaissance: ' - ', prenom: 'ANAIS', dateNaissance: '1980-01-15' })).toBeUndefined()
    expect(identityIndex(KEY, { nomNaissance: 'LEFEVRE', prenom: undefined, dateNaissance: '1980-01-15' })).toBeUndefined()
    expect(identityIndex(KEY, { nomNaissance: 'LEFEVRE', prenom: 'ANAIS', dateNaissance: undefined })).toBeUndefined()
  })
})
