import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { foyer as populationFoyer } from '../../src/fixtures/population.ts'
import { mapCnafFoyer } from '../../src/ingestion/canonical/map-records.ts'
import { allocataireNumber } from '../../src/ingestion/cnaf/allocataire-number.ts'
import type { CnafFoyer } from '../../src/ingestion/cnaf/foyer.ts'
import { readCnafFile } from '../../src/ingestion/cnaf/read-cnaf-file.ts'
import { nirKey } from '../../src/ingestion/validation/nir.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { project } from '../../src/purposes/project.ts'
import { VRSB0801_XSD } from '../helpers/xsd.ts'

/**
 * MSA files as they are: the allocataire number per organisme (the CAF's 7-digit cut is meaningless on an MSA
 * matricule), a MATRICULE that is the person's NIR (rdv-insertion #87) withheld from every purpose, 10-character
 * NUMDEMRSA and 15-digit NIRs with their key accepted.
 */
const purposes = loadPurposes(path.resolve(import.meta.dirname, '../../mappings'))
const keys = testKeys()
/** A planted NIR (valid format, born abroad): it must come out of no purpose that may not see the NIR. */
const SENTINEL_NIR13 = '1850299123456'
const SENTINEL_NIR15 = SENTINEL_NIR13 + nirKey(SENTINEL_NIR13)
const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-msa-ids-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function msaFoyer(matricule: string, nir13: string | undefined = SENTINEL_NIR13): CnafFoyer {
  const person = {
    qual: 'MR', nom: 'NOM', nomnai: 'NOM', prenom: 'PRENOM', prenom2: undefined, prenom3: undefined, nomcomnai: undefined,
    dtnai: '1985-02-01', rgnai: undefined, typedtnai: undefined, nir13, sexe: '1', toprespdos: true, rolepers: 'DEM',
    topchapers: true, toppersdrodevorsa: true, toppersentdrodevorsa: undefined, idassedic: undefined, mtpersressmenrsa: undefined, act: undefined,
  }
  return {
    recordIndex: 0, line: 1, fonorg: 'MSA', numorg: '017', matricule, numdemrsa: '2000000001', dtdemrsa: '2024-01-01',
    personnes: [person], sitfam: 'CEL', ddsitfam: '2020-01-01', adresse: undefined, etatdosrsa: '2', refus: undefined,
    suspensionDroit: undefined, suspensionVersement: undefined, finDroit: undefined, topsansdomfixe: false, nbenfautcha: undefined,
    oridemrsa: 'DEM', topfoydrodevorsa: true, mttotdrorsa: undefined, dernierEvenement: undefined,
  }
}

describe('the allocataire number, per organisme', () => {
  it('keeps an MSA MATRICULE as sent, not cut to the CAF 7 digits', () => {
    expect(allocataireNumber('MSA', '993123456789017', [undefined])).toEqual({ matricule: '993123456789017', nirAsMatricule: false })
    const record = { ...mapCnafFoyer(msaFoyer('993123456789017'), keys.index).dossier }
    expect(project(record, purposes.get('accompagnement-rsa')!)).toMatchObject({ organisme: 'MSA', numeroAllocataire: '993123456789017' })
  })

  it('gives the CAF 7-digit number of a padded CAF MATRICULE, and keeps any other CAF layout whole', () => {
    expect(allocataireNumber('CAF', '123456700000000', [undefined]).matricule).toBe('1234567')
    expect(allocataireNumber('CAF', '123456700000001', [undefined]).matricule).toBe('123456700000001')
    expect(allocataireNumber('CAF', '1234567', [undefined]).matricule).toBe('1234567')
  })
})

describe('a MATRICULE that is the NIR', () => {
  it.each([
    ['13 digits, no key', SENTINEL_NIR13],
    ['15 digits with the key', SENTINEL_NIR15],
    ['15 digits with a wrong key', `${SENTINEL_NIR13}00`],
  ])('is withheld (%s): no purpose without the NIR sees it, through project() or the stored row', (_, matricule) => {
    const mapped = mapCnafFoyer(msaFoyer(matricule), keys.index)
    expect(mapped.dossier['dossier.matricule']).toBeUndefined()
    for (const [id, purpose] of purposes) {
      if (purpose.fields.some((f) => f.field === 'personne.nir')) continue
      const out = JSON.stringify(project({ ...mapped.dossier, ...mapped.persons[0]!.values }, purpose))
      expect(out, id).not.toContain(SENTINEL_NIR13)
    }
  })

  it('is withheld for a CAF dossier too, and for an MSA one whose 15 digits are a NIR with its key even when no person carries it', () => {
    expect(allocataireNumber('CAF', SENTINEL_NIR13, [SENTINEL_NIR13]).nirAsMatricule).toBe(true)
    expect(allocataireNumber('MSA', SENTINEL_NIR15, [undefined]).nirAsMatricule).toBe(true)
  })

  it('is detected for a Corsican NIR written in digits', () => {
    const corsican = '1850220123456'.replace('20', '2A')
    expect(allocataireNumber('MSA', '1850219123456', [corsican]).nirAsMatricule).toBe(true)
  })

  it('never lets a NIR of the foyer out as the matricule (property over NIRs and matricule spellings)', () => {
    const nir13 = fc.tuple(fc.constantFrom('1', '2'), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 95 }), fc.integer({ min: 1, max: 999_999 })).map(
      ([s, y, m, d, rest]) => `${s}${String(y).padStart(2, '0')}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}${String(rest).padStart(6, '0')}`,
    )
    fc.assert(
      fc.property(nir13, fc.constantFrom('CAF', 'MSA'), fc.constantFrom('none', 'key', 'other'), fc.integer({ min: 0, max: 99 }), (nir, fonorg, suffix, other) => {
        const matricule = suffix === 'none' ? nir : suffix === 'key' ? nir + nirKey(nir) : nir + String(other).padStart(2, '0')
        const result = allocataireNumber(fonorg, matricule, [undefined, nir])
        expect(result.matricule ?? '').not.toContain(nir)
      }),
    )
  })
})

const hasXmllint = spawnSync('xmllint', ['--version']).status === 0 && existsSync(VRSB0801_XSD)

describe('MSA-shaped generated files', () => {
  it('are read whole: 10-character NUMDEMRSA, 15-digit NIRs with their key, matricules equal to the NIR', async () => {
    const file = path.join(dir, 'MSABEM.xml')
    const report = await writeCnafFile(file, {
      flow: 'msa', seed: 'msa-ids', typeflux: 'M', foyers: 30, dtcreaflux: '2026-11-02', msaIdentifiers: { nirMatriculeEvery: 3, numdemrsa10: true },
    })
    expect(report.nirAsMatricule?.length).toBeGreaterThan(3)
    expect(report.nirAsMatricule?.some((h) => h.withKey)).toBe(true)
    const foyers: CnafFoyer[] = []
    for await (const event of readCnafFile(file, { fallbackEncoding: 'windows-1252', organismes: ['MSA'], fileLabel: 'MSABEM.xml' })) {
      if (event.type !== 'records') continue
      for (const r of event.records) {
        expect(r.ok, r.ok ? '' : JSON.stringify(r.issues)).toBe(true)
        if (r.ok) foyers.push(r.value)
      }
    }
    expect(foyers).toHaveLength(30)
    expect(foyers.every((f) => f.numdemrsa.length === 10)).toBe(true)
    for (const hit of report.nirAsMatricule!) {
      const f = foyers[hit.recordIndex]!
      const nir = populationFoyer('msa-ids', hit.foyerIndex, { organisme: 'MSA' }).personnes.find((p) => p.role === 'DEM')!.nir13!
      expect(f.matricule.slice(0, 13)).toBe(nir)
      expect(f.matricule.length).toBe(hit.withKey ? 15 : 13)
      expect(mapCnafFoyer(f, keys.index).dossier['dossier.matricule']).toBeUndefined()
    }
    const others = foyers.filter((_, i) => !report.nirAsMatricule!.some((h) => h.recordIndex === i))
    expect(others.every((f) => mapCnafFoyer(f, keys.index).dossier['dossier.matricule'] === f.matricule)).toBe(true)
  })

  it.skipIf(!hasXmllint)('validate against vrsb0801.xsd', async () => {
    const file = path.join(dir, 'MSABEI.xml')
    await writeCnafFile(file, {
      flow: 'msa', seed: 'msa-ids', typeflux: 'I', indices: [1, 4, 7, 9, 12], dtcreaflux: '2026-11-03', msaIdentifiers: { nirMatriculeEvery: 2, numdemrsa10: true },
    })
    const result = spawnSync('xmllint', ['--noout', '--schema', VRSB0801_XSD, file], { encoding: 'utf8' })
    expect(result.stderr.trim().split('\n').at(-1)).toBe(`${file} validates`)
    expect(result.status).toBe(0)
  })
})
