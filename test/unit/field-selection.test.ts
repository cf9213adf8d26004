import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { fieldSelection } from '../../src/http/field-selection.ts'
import { purposeFields } from '../../src/model/canonical-records.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { project } from '../../src/purposes/project.ts'

const purposes = loadPurposes(path.resolve('mappings'))
const referent = purposes.get('accompagnement-rsa')!
const fieldsOf = purposeFields

describe('fieldSelection', () => {
  it('is the whole purpose without champs', () => {
    const whole = fieldSelection(referent, undefined, fieldsOf)
    expect('unknown' in whole).toBe(false)
    if ('unknown' in whole) return
    expect(whole.purpose).toBe(referent)
    expect(whole.names).toBeUndefined()
  })

  it('reads the consent a chosen field depends on, without serving it, and still withholds the field without consent', () => {
    const selection = fieldSelection(referent, 'telephone', fieldsOf)
    if ('unknown' in selection) throw new Error('telephone is a field of accompagnement-rsa')
    expect(selection.read.map((f) => f.id).sort()).toEqual(['dossier.accordTelephone', 'dossier.telephone'])
    const given = project({ 'dossier.telephone': '0600000000', 'dossier.accordTelephone': 'A' }, selection.purpose)
    expect(given).toEqual({ telephone: '0600000000' })
    for (const refused of ['R', 'I', null]) {
      expect(project({ 'dossier.telephone': '0600000000', 'dossier.accordTelephone': refused }, selection.purpose)).toEqual({ telephone: null })
    }
  })

  it('reads a consent only when the whole purpose reads it: a selection never lets out what the whole record withholds', () => {
    const consentOmitted = { ...referent, fields: referent.fields.map((f) => (f.field === 'dossier.accordTelephone' ? { ...f, transform: 'omit' as const } : f)) }
    const selection = fieldSelection(consentOmitted, 'telephone', fieldsOf)
    if ('unknown' in selection) throw new Error('telephone is still exposed')
    expect(selection.read.map((f) => f.id)).toEqual(['dossier.telephone'])
    const stored = { 'dossier.telephone': '0600000000', 'dossier.accordTelephone': 'A' }
    const narrowed = Object.fromEntries(selection.read.map((f) => [f.id, stored[f.id as keyof typeof stored]]))
    const whole = Object.fromEntries(fieldsOf(consentOmitted).filter((f) => f.id in stored).map((f) => [f.id, stored[f.id as keyof typeof stored]]))
    expect(project(narrowed, selection.purpose).telephone).toBe(project(whole, consentOmitted).telephone)
  })

  it('counts the names the purpose does not expose, whatever else is asked', () => {
    expect(fieldSelection(referent, 'nom,nir,1800175000001', fieldsOf)).toEqual({ unknown: 2 })
  })

  it('gives the same selection for the same names in any order, and keeps the purpose’s order', () => {
    const a = fieldSelection(referent, 'etatDroit,nom', fieldsOf)
    const b = fieldSelection(referent, 'nom,etatDroit,nom', fieldsOf)
    expect(b).toBe(a)
    if ('unknown' in a) throw new Error('both are fields of accompagnement-rsa')
    const order = referent.fields.map((f) => f.field)
    const chosen = a.purpose.fields.map((f) => f.field)
    expect([...chosen].sort((x, y) => order.indexOf(x) - order.indexOf(y))).toEqual(chosen)
  })
})
