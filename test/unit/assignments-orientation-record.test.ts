import { describe, expect, it } from 'vitest'
import { orientationColumnsFromHeader, validateOrientationRecord, type OrientationColumn } from '../helpers/declared-flows.ts'

const COLUMNS: OrientationColumn[] = ['numdemrsa', 'rolepers', 'nir', 'dtnai', 'siret', 'email', 'debut', 'fin']
const at = { columns: COLUMNS, dateFormat: 'DD/MM/YYYY' as const, recordIndex: 0, line: 2 }
const SIRET = '73282932000074'
// A synthetic NIR with its key (97 - n mod 97).
const NIR13 = '1800175123456'
const NIR15 = NIR13 + String(97 - Number(BigInt(NIR13) % 97n)).padStart(2, '0')

describe('orientations records', () => {
  it('reads a person by dossier and role', () => {
    const r = validateOrientationRecord(['00012345678', 'dem', '', '', SIRET, 'Ref@Example.org', '01/02/2026', ''], at)
    expect(r).toEqual({
      ok: true,
      value: {
        recordIndex: 0,
        line: 2,
        person: { by: 'dossier', numdemrsa: '00012345678', rolepers: 'DEM', organisme: undefined },
        siret: SIRET,
        referentEmail: 'ref@example.org',
        startsOn: '2026-02-01',
        endsOn: undefined,
      },
    })
  })

  it('reads a person by NIR (13 or 15 characters) and birth date', () => {
    for (const nir of [NIR13, NIR15]) {
      const r = validateOrientationRecord(['', '', nir, '15/01/1980', SIRET, '', '01/02/2026', '30/06/2026'], at)
      expect(r.ok && r.value.person).toEqual({ by: 'nir', nir13: NIR13, dtnai: '1980-01-15' })
      expect(r.ok && r.value.endsOn).toBe('2026-06-30')
    }
  })

  it('names the field and the rule of each problem, never the value', () => {
    const cases: [string[], string[]][] = [
      [['', '', '', '', SIRET, '', '01/02/2026', ''], ['person/person_identifier_missing']],
      [['123', '', '', '', SIRET, '', '01/02/2026', ''], ['rolepers/required']],
      [['123', 'XXX', '', '', SIRET, '', '01/02/2026', ''], ['rolepers/rolepers_code']],
      [['', '', NIR13.slice(0, 12), '15/01/1980', SIRET, '', '01/02/2026', ''], ['nir/nir_format']],
      [['', '', `${NIR13}00`, '15/01/1980', SIRET, '', '01/02/2026', ''], ['nir/nir_key']],
      [['', '', NIR13, '', SIRET, '', '01/02/2026', ''], ['dtnai/required']],
      [['123', 'DEM', '', '', '73282932000075', '', '01/02/2026', ''], ['siret/siret_invalid']],
      [['123', 'DEM', '', '', '', '', '01/02/2026', ''], ['siret/required']],
      [['123', 'DEM', '', '', SIRET, 'not-an-email', '01/02/2026', ''], ['email/email_format']],
      [['123', 'DEM', '', '', SIRET, '', '2026-02-01', ''], ['debut/date_format']],
      [['123', 'DEM', '', '', SIRET, '', '', ''], ['debut/required']],
      [['123', 'DEM', '', '', SIRET, '', '01/02/2026', '31/01/2026'], ['fin/end_before_start']],
      [['123', 'DEM', '', '', SIRET, '', '01/02/2026'], ['record/column_count']],
    ]
    for (const [cells, expected] of cases) {
      const r = validateOrientationRecord(cells, at)
      expect(r.ok).toBe(false)
      if (!r.ok) {
        expect(r.issues.map((i) => `${i.field}/${i.rule}`)).toEqual(expected)
        expect(JSON.stringify(r)).not.toContain(NIR13)
      }
    }
  })

  it('finds the columns from a header in any order, spelling and case', () => {
    expect(orientationColumnsFromHeader(['NUMDEMRSA', 'Rôle', 'SIRET structure', 'Date début', 'Date fin', 'E-mail référent'])).toEqual({
      ok: true,
      columns: ['numdemrsa', 'rolepers', 'siret', 'debut', 'fin', 'email'],
    })
    expect(orientationColumnsFromHeader(['nir', 'date_naissance', 'siret_structure', 'date_debut', ''])).toMatchObject({ ok: true })
    expect(orientationColumnsFromHeader(['numdemrsa', 'siret_structure', 'date_debut'])).toMatchObject({ ok: false })
    expect(orientationColumnsFromHeader(['nir', 'date_naissance', 'date_debut'])).toMatchObject({ ok: false })
    expect(orientationColumnsFromHeader(['nir', 'date_naissance', 'siret', 'date_debut', 'nom'])).toMatchObject({ ok: false })
  })
})
