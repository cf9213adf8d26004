import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectFranceTravailKind, shippedCsvFormat } from '../helpers/declared-flows.ts'

const kinds = shippedCsvFormat('france-travail').kinds ?? []

describe('detectFranceTravailKind with the shipped flow patterns', () => {
  it.each([
    ['RSA_INSCRIPTION_202611_DPT93.csv', 'inscriptions'],
    ['RSA_INSCRIPTION_201002_DPT34.csv', 'inscriptions'],
    ['rsa_inscription_20261115.CSV', 'inscriptions'],
    ['RSA_CESSATION_202611_DPT93.csv', 'cessations'],
    ['RSA_RADIATION_202611_DPT93.csv', 'radiations'],
    ['RSA_STOCK_202611_DPT93.csv', 'stock'],
    ['Liste_BeneficiairesRSA_Inscrits_16_12_2010_1_840.csv', 'stock'],
  ] as const)('%s is a file of %s', (name, kind) => {
    expect(detectFranceTravailKind(name, kinds)).toBe(kind)
  })

  it('finds no kind in a name that matches no pattern', () => {
    expect(detectFranceTravailKind('RSA_MOUVEMENTS_202611.csv', kinds)).toBeUndefined()
  })

  it('takes the first matching pattern', () => {
    expect(detectFranceTravailKind('STOCK_INSCRIPTION.csv', kinds)).toBe('stock')
    expect(detectFranceTravailKind('x.csv', [{ kind: 'radiations', pattern: 'x' }, { kind: 'stock', pattern: 'x' }])).toBe('radiations')
  })
})

describe('detectFranceTravailKind with a broken pattern', () => {
  it('says which pattern to fix', () => {
    expect(() => detectFranceTravailKind('x.csv', [{ kind: 'stock', pattern: 'stock(' }])).toThrow(/pattern "stock\(" is not a valid regular expression/)
  })
})
