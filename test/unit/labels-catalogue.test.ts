import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as enforced from '../../src/ingestion/cnaf/code-lists.ts'
import { CODE_LISTS, codeLabel, ENFORCED_CODE_LISTS, FIELD_CODE_LISTS, fieldCodes, type CodeListName } from '../../src/labels/code-labels.ts'
import { exposedLabel, frenchFieldValue } from '../../src/labels/field-labels.ts'
import { durationInWords, euros, ISO_DURATION_PATTERN, plural } from '../../src/labels/french-format.ts'
import { FIELDS_BY_ID } from '../../src/model/fields.ts'

describe('the label catalogue', () => {
  it('labels every code of every code list the ingestion enforces', () => {
    const lists = Object.entries(enforced) as [string, readonly string[]][]
    expect(lists.length).toBeGreaterThan(10)
    for (const [name, codes] of lists) {
      expect(Object.hasOwn(CODE_LISTS, name), `${name} is in the catalogue`).toBe(true)
      for (const code of codes) {
        const label = codeLabel(name as CodeListName, code)
        expect(label, `${name} ${code}`).toBeTruthy()
        expect(label!.length).toBeGreaterThan(1)
      }
      expect(ENFORCED_CODE_LISTS[name as CodeListName]).toBe(codes)
    }
  })

  it('labels the codes of flows.md §1.4 the ingestion does not enforce, and the France Travail states', () => {
    for (const code of ['F02', 'F04', 'F09', 'F85', 'F97', 'FDD', 'DSD', 'FDB', 'PCG']) expect(codeLabel('MOTIREFURSA', code)).toBeTruthy()
    for (const code of ['0', '1']) expect(codeLabel('TOPPERSDRODEVORSA', code)).toBeTruthy()
    for (const code of ['inscription', 'cessation', 'radiation']) expect(codeLabel('FT_ETAT', code)).toBeTruthy()
    for (const code of ['A', 'B', 'C', 'D', 'E', '1', '2', '3', '4', '5', '6', '7', '8']) expect(codeLabel('FT_CATEGORIE', code)).toBeTruthy()
    expect(codeLabel('ETATDOSRSA', '2')).toBe('Droit ouvert et versable')
    expect(codeLabel('SITFAM', 'DIV')).toBe('Divorcé(e)')
    expect(codeLabel('SEXE', '1')).toBe('Homme')
    expect(codeLabel('ROLEPERS', 'DEM')).toBe('Demandeur')
    expect(codeLabel('QUAL', 'MR')).toBe('Monsieur')
  })

  it('knows no code by accident (prototype keys are not codes)', () => {
    for (const name of Object.keys(CODE_LISTS) as CodeListName[]) {
      for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(codeLabel(name, key)).toBeUndefined()
    }
  })

  it('ties each coded field to an existing list, whose codes a codebook can list', () => {
    for (const [fieldId, list] of Object.entries(FIELD_CODE_LISTS)) {
      expect(FIELDS_BY_ID.get(fieldId)?.type, fieldId).toBe('code')
      expect(fieldCodes(fieldId).map((c) => c.code)).toEqual(Object.keys(CODE_LISTS[list]))
    }
  })
})

describe('French values', () => {
  it('shows a code with its label, an amount in euros, a boolean in words, a date as DD/MM/YYYY', () => {
    expect(frenchFieldValue('dossier.etatDroit', '2')).toBe('2 — Droit ouvert et versable')
    expect(frenchFieldValue('personne.sexe', '2')).toBe('2 — Femme')
    expect(frenchFieldValue('dossier.situationFamiliale', 'DIV')).toBe('DIV — Divorcé(e)')
    expect(frenchFieldValue('dossier.etatDroit', 'Z')).toBe('Z')
    expect(frenchFieldValue('dossier.montantDroitTotal', '568.94')).toBe('568,94\u00a0€')
    expect(frenchFieldValue('dossier.montantDroitTotal', '0001675.00')).toBe('1\u202f675,00\u00a0€')
    expect(frenchFieldValue('dossier.sansDomicileFixe', true)).toBe('oui')
    expect(frenchFieldValue('personne.dateNaissance', '1984-02-29')).toBe('29/02/1984')
    expect(frenchFieldValue('personne.dateNaissance', 1984, 'year')).toBe('1984')
    expect(frenchFieldValue('dossier.etatDroit', null)).toBe('—')
  })

  it('names a value after the transform it left through', () => {
    expect(exposedLabel('adresse.codePostal', 'postcode-to-departement')).toBe('Département')
    expect(exposedLabel('personne.dateNaissance', 'year')).toBe('Année de naissance')
    expect(exposedLabel('personne.dateNaissance', 'age-band', 10)).toBe("Tranche d'âge de 10 ans")
    expect(exposedLabel('adresse.codePostal', 'keep')).toBe('Code postal')
  })

  it('formats euros the French way', () => {
    expect(euros(568.94)).toBe('568,94\u00a0€')
    expect(euros('not a number')).toBe('not a number')
  })

  it('writes durations in words, never as ISO-8601, and French plurals', () => {
    expect(durationInWords({ years: 0, months: 5, days: 0 })).toBe('5 mois')
    expect(durationInWords({ years: 6, months: 0, days: 0 })).toBe('6 ans')
    expect(durationInWords({ years: 1, months: 6, days: 0 })).toBe('1 an et 6 mois')
    expect(durationInWords({ years: 0, months: 36, days: 0 })).toBe('36 mois')
    expect(durationInWords({ years: 0, months: 0, days: 0 })).toBe('aucun délai')
    expect(plural(0, 'champ')).toBe('0 champ')
    expect(plural(1, 'champ')).toBe('1 champ')
    expect(plural(2, 'champ')).toBe('2 champs')
    fc.assert(
      fc.property(fc.nat(200), fc.nat(200), fc.nat(400), (years, months, days) => {
        const words = durationInWords({ years, months, days })
        expect(words).not.toMatch(ISO_DURATION_PATTERN)
        expect(words).not.toMatch(/\b1 ans\b|\b1 jours\b|\b0 ans\b/)
      }),
    )
  })
})
