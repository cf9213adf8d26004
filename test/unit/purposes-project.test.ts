import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CANONICAL_FIELDS } from '../../src/model/fields.ts'
import { project, transformValue } from '../../src/purposes/project.ts'
import { TRANSFORMS, exposedName, type PurposeField, type Transform } from '../../src/purposes/purpose.ts'

const AS_OF = new Date('2026-06-15T10:00:00Z')
const f = (field: string, transform: Transform = 'keep', extra: Partial<PurposeField> = {}): PurposeField => ({ field, transform, ...extra })
const t = (value: unknown, transform: Transform, length?: number) =>
  transformValue(value, f('x.y', transform, length === undefined ? {} : { length }), { asOf: AS_OF })

describe('project', () => {
  it('lets out only the declared fields, under their exposed names', () => {
    const record = { 'personne.nom': 'N', 'personne.prenom': 'P', 'personne.nir': 'secret', 'dossier.montantDroitTotal': '500.00' }
    const out = project(record, { fields: [f('personne.nom'), f('personne.prenom', 'keep', { as: 'firstName' })] })
    expect(out).toEqual({ nom: 'N', firstName: 'P' })
  })

  it('gives null for a declared field the record does not hold, and never reads the prototype chain', () => {
    const record = Object.create({ 'personne.nom': 'inherited' }) as Record<string, unknown>
    expect(project(record, { fields: [f('personne.nom')] })).toEqual({ nom: null })
    expect(project({ 'personne.nom': undefined }, { fields: [f('personne.nom')] })).toEqual({ nom: null })
  })

  it('leaves omitted fields out altogether', () => {
    const out = project({ 'personne.nom': 'N', 'dossier.etatDroit': '2' }, { fields: [f('personne.nom'), f('dossier.etatDroit', 'omit')] })
    expect(Object.keys(out)).toEqual(['nom'])
  })

  it('creates own properties even for names such as __proto__ or constructor', () => {
    const out = project({ 'a.__proto__': { polluted: true }, 'b.constructor': 'c' }, { fields: [f('a.__proto__'), f('b.constructor')] })
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'constructor'])
    expect((out as { polluted?: unknown }).polluted).toBeUndefined()
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })
})

describe('transforms', () => {
  it('keep: the value as it is; null when absent', () => {
    expect(t('abc', 'keep')).toBe('abc')
    expect(t(0, 'keep')).toBe(0)
    expect(t(false, 'keep')).toBe(false)
    expect(t(null, 'keep')).toBeNull()
    expect(t(undefined, 'keep')).toBeNull()
  })

  it('year: the year of a date, from text or a Date', () => {
    expect(t('1985-06-12', 'year')).toBe(1985)
    expect(t(new Date('1985-06-12T00:00:00Z'), 'year')).toBe(1985)
    expect(t('unknown', 'year')).toBeNull()
    expect(t(new Date('invalid'), 'year')).toBeNull()
    expect(t({ toString: () => '1985' }, 'year')).toBeNull()
  })

  it('age-band: the band of the age on the reference date, the birthday counting from its day', () => {
    expect(t('1990-06-15', 'age-band')).toBe('30-39') // 36 on its birthday
    expect(t('2000-06-15', 'age-band', 5)).toBe('25-29') // 26 today
    expect(t('2001-06-15', 'age-band', 5)).toBe('25-29') // 25 today, its birthday
    expect(t('2001-06-16', 'age-band', 5)).toBe('20-24') // 24 until tomorrow
    expect(t('2026-06-15', 'age-band')).toBe('0-9')
    expect(t(new Date('1990-01-01T00:00:00Z'), 'age-band')).toBe('30-39')
    expect(t('2027-01-01', 'age-band')).toBeNull() // not born yet
    expect(t('1990-13-01', 'age-band')).toBeNull()
    expect(t('1990', 'age-band')).toBeNull()
  })

  it('postcode-to-departement: metropolitan, overseas, Corsica, and INSEE commune codes', () => {
    expect(t('75011', 'postcode-to-departement')).toBe('75')
    expect(t(' 01000 ', 'postcode-to-departement')).toBe('01')
    expect(t('97411', 'postcode-to-departement')).toBe('974')
    expect(t('20000', 'postcode-to-departement')).toBe('2A')
    expect(t('20200', 'postcode-to-departement')).toBe('2B')
    expect(t('2a004', 'postcode-to-departement')).toBe('2A')
    expect(t('2B033', 'postcode-to-departement')).toBe('2B')
    expect(t('7501', 'postcode-to-departement')).toBeNull()
    expect(t('ABCDE', 'postcode-to-departement')).toBeNull()
    expect(t(['75011'], 'postcode-to-departement')).toBeNull()
  })

  it('truncate: the first characters', () => {
    expect(t('205599000000000', 'truncate', 7)).toBe('2055990')
    expect(t('abc', 'truncate', 7)).toBe('abc')
    expect(t(new Date('2020-05-17T00:00:00Z'), 'truncate', 7)).toBe('2020-05')
    expect(t(123456, 'truncate', 3)).toBe('123')
    expect(t({ a: 1 }, 'truncate', 3)).toBeNull()
  })

  it('omit: nothing', () => {
    expect(t('abc', 'omit')).toBeUndefined()
  })

  it('names a field after the last segment of its id unless `as` is given', () => {
    expect(exposedName(f('adresse.codePostal'))).toBe('codePostal')
    expect(exposedName(f('adresse.codePostal', 'keep', { as: 'cp' }))).toBe('cp')
  })
})

describe('project, whatever the record holds (property-based)', () => {
  const DANGEROUS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']
  const catalogueId = fc.constantFrom(...CANONICAL_FIELDS.map((c) => c.id))
  const anyKey = fc.oneof(
    catalogueId,
    fc.constantFrom(...DANGEROUS),
    fc.constantFrom(...DANGEROUS.map((d) => `x.${d}`)),
    fc.string(),
  )
  const weirdValue = fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    withBoxedValues: true,
    withSparseArray: true,
  })
  const declaredField: fc.Arbitrary<PurposeField> = fc.record(
    {
      field: fc.oneof(catalogueId, fc.constantFrom(...DANGEROUS.map((d) => `x.${d}`)), fc.string({ minLength: 1 })),
      as: fc.oneof(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,12}$/), fc.constantFrom(...DANGEROUS)),
      transform: fc.constantFrom(...TRANSFORMS),
      length: fc.integer({ min: 1, max: 20 }),
    },
    { requiredKeys: ['field', 'transform'] },
  )
  const purposeFields = fc.array(declaredField, { maxLength: 12 })
  /** Records as own properties, `__proto__` included (as JSON.parse or a database driver would build them). */
  const record = fc.array(fc.tuple(anyKey, weirdValue), { maxLength: 20 }).map((entries) => {
    const r: Record<string, unknown> = {}
    for (const [k, v] of entries) Object.defineProperty(r, k, { value: v, enumerable: true, writable: true, configurable: true })
    return r
  })

  it('outputs exactly the exposed names of the declared, non-omitted fields', () => {
    fc.assert(
      fc.property(record, purposeFields, (r, fields) => {
        const out = project(r, { fields }, { asOf: AS_OF })
        const expected = new Set(fields.filter((x) => x.transform !== 'omit').map(exposedName))
        expect(new Set(Reflect.ownKeys(out))).toEqual(expected)
        expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
      }),
      { numRuns: 500 },
    )
  })

  it('never lets out a value held under an undeclared key', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(anyKey, fc.uuid()), { minLength: 1, maxLength: 20 }),
        record,
        purposeFields,
        (secrets, r, fields) => {
          const declared = new Set(fields.map((x) => x.field))
          const sentinels: string[] = []
          for (const [k, uuid] of secrets) {
            if (declared.has(k)) continue
            const sentinel = `SECRET-${uuid}`
            sentinels.push(sentinel)
            Object.defineProperty(r, k, { value: sentinel, enumerable: true, writable: true, configurable: true })
          }
          const out = project(r, { fields }, { asOf: AS_OF })
          const seen = JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
          for (const s of sentinels) expect(seen).not.toContain(s)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('hands a declared value out only through its own transform: generalising transforms give scalars', () => {
    fc.assert(
      fc.property(record, purposeFields, (r, fields) => {
        const out = project(r, { fields }, { asOf: AS_OF })
        for (const field of fields) {
          if (field.transform === 'omit' || field.transform === 'keep') continue
          // The last declaration of a name wins; check only names declared once.
          if (fields.filter((x) => x.transform !== 'omit' && exposedName(x) === exposedName(field)).length > 1) continue
          const value = out[exposedName(field)]
          expect(value === null || typeof value === 'string' || typeof value === 'number').toBe(true)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('never pollutes Object.prototype', () => {
    fc.assert(
      fc.property(record, purposeFields, (r, fields) => {
        project(r, { fields }, { asOf: AS_OF })
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES)
      }),
      { numRuns: 300 },
    )
  })
})

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort()
