import { describe, expect, it } from 'vitest'
import { decideErasure, refusalReason } from '../../src/rights/erasure-decision.ts'
import { parsePurpose, type Purpose } from '../../src/purposes/purpose.ts'

const base = {
  title: 'T',
  title_en: 'T',
  description: 'd',
  description_en: 'd',
  controller: { name: 'Département', contact: 'dpd@test.example' },
  data_subjects: ['Bénéficiaires'],
  recipients: [{ role: 'referent', organisation_types: ['ccas'] }],
  retention: 'rsa-beneficiaires',
}

function purposes(): Map<string, Purpose> {
  const d: Record<string, unknown> = {
    mission: {
      ...base,
      title: 'Accompagnement',
      legal_basis: { gdpr: '6(1)(e)', national: 'CASF art. L.262-1' },
      source_flows: ['caf-beneficiaires', 'france-travail'],
      fields: [{ field: 'personne.nom' }, { field: 'dossier.etatDroit' }, { field: 'adresse.commune' }],
    },
    consentement: {
      ...base,
      title: 'Atelier numérique',
      legal_basis: { gdpr: '6(1)(a)', national: 'Consentement recueilli' },
      erasable: true,
      source_flows: ['caf-beneficiaires'],
      fields: [{ field: 'personne.nom' }, { field: 'personne.prenom2' }, { field: 'adresse.complement' }, { field: 'dossier.etatDroit' }, { field: 'personne.role' }],
    },
    'autre-consentement': {
      ...base,
      title: 'Enquête',
      legal_basis: { gdpr: '6(1)(a)', national: 'Consentement recueilli' },
      erasable: true,
      source_flows: ['msa-beneficiaires'],
      fields: [{ field: 'personne.sexe' }],
    },
  }
  return new Map(Object.entries(d).map(([id, x]) => [id, parsePurpose(x, id)]))
}

const caf = new Set(['caf-beneficiaires'])

describe('erasure decision', () => {
  it('refuses a public-interest purpose, with the legal basis and the complaint route in the reason', () => {
    const d = decideErasure({ type: 'erasure', targets: ['mission'], purposes: purposes(), personFlows: caf, standing: new Set(), legalHold: false })
    expect(d.outcome).toBe('refused')
    expect(d.scope).toBe('none')
    expect(d.refused).toHaveLength(1)
    expect(d.refused[0]!.reason).toMatch(/mission d'intérêt public/)
    expect(d.refused[0]!.reason).toMatch(/CASF art\. L\.262-1/)
    expect(d.refused[0]!.reason).toMatch(/17\.3\.b/)
    expect(d.refused[0]!.reason).toMatch(/CNIL/)
  })

  it('gives an opposition its own reason (art. 21)', () => {
    const p = purposes().get('mission')!
    expect(refusalReason(p, 'opposition')).toMatch(/21\.1/)
    expect(refusalReason(p, 'opposition')).not.toMatch(/17\.3\.b/)
  })

  it('clears only the fields no purpose still processing the person declares, never a key field', () => {
    const d = decideErasure({ type: 'opposition', targets: ['consentement'], purposes: purposes(), personFlows: caf, standing: new Set(), legalHold: false })
    expect(d.outcome).toBe('granted')
    expect(d.scope).toBe('fields')
    expect(d.granted).toEqual(['consentement'])
    // personne.nom and dossier.etatDroit are still used by the mission; personne.role is a key field.
    expect(d.fieldsToClear).toEqual(['adresse.complement', 'personne.prenom2'])
  })

  it('deletes the person in full when no purpose that holds data on them keeps a basis', () => {
    const only = new Map([...purposes()].filter(([id]) => id !== 'mission'))
    const d = decideErasure({ type: 'erasure', targets: 'applicable', purposes: only, personFlows: caf, standing: new Set(), legalHold: false })
    expect(d).toMatchObject({ outcome: 'granted', scope: 'full', granted: ['consentement'], applicable: ['consentement'] })
  })

  it('erases what it may and refuses the rest when no purpose is named', () => {
    const d = decideErasure({ type: 'erasure', targets: 'applicable', purposes: purposes(), personFlows: caf, standing: new Set(), legalHold: false })
    expect(d.outcome).toBe('partially_granted')
    expect(d.granted).toEqual(['consentement'])
    expect(d.refused.map((r) => r.purpose)).toEqual(['mission'])
    expect(d.scope).toBe('fields')
  })

  it('suspends erasure while a legal hold stands', () => {
    const d = decideErasure({ type: 'erasure', targets: ['consentement'], purposes: purposes(), personFlows: caf, standing: new Set(), legalHold: true })
    expect(d.outcome).toBe('refused')
    expect(d.scope).toBe('none')
    expect(d.refused[0]!.reason).toMatch(/17\.3\.e/)
  })

  it('re-applies standing oppositions with no new target', () => {
    const d = decideErasure({ type: 'erasure', targets: [], purposes: purposes(), personFlows: caf, standing: new Set(['consentement']), legalHold: false })
    expect(d).toMatchObject({ outcome: 'granted', scope: 'fields', granted: [], opposed: ['consentement'] })
    expect(d.fieldsToClear).toEqual(['adresse.complement', 'personne.prenom2'])
  })

  it('says nothing is held when no flow brought data on the person', () => {
    const d = decideErasure({ type: 'erasure', targets: 'applicable', purposes: purposes(), personFlows: new Set(), standing: new Set(), legalHold: false })
    expect(d).toMatchObject({ outcome: 'no_data', scope: 'none', granted: [], refused: [] })
  })
})
