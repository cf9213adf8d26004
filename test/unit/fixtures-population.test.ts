import { describe, expect, it } from 'vitest'
import { isCp1252 } from '../../src/fixtures/cnaf/cp1252.ts'
import { adultsOf, dailyChange, foyer, nir15, POPULATION_EPOCH, type Foyer } from '../../src/fixtures/population.ts'
import { checkNir, isNir13, nirKey } from '../../src/ingestion/validation/nir.ts'

const SEED = 20_261_101
const N = 4000
const caf: Foyer[] = Array.from({ length: N }, (_, i) => foyer(SEED, i))
const msa: Foyer[] = Array.from({ length: 1000 }, (_, i) => foyer(SEED, i, { organisme: 'MSA', departement: '34' }))
const everyone = [...caf, ...msa]
const persons = everyone.flatMap((f) => f.personnes.map((p) => ({ f, p })))

/** Failures are named by foyer and person index, never by value. */
function failing(check: (f: Foyer, p: Foyer['personnes'][number]) => boolean): string[] {
  return persons.filter(({ f, p }) => !check(f, p)).map(({ f, p }) => `${f.fonorg}:${f.index}/${p.personIndex}`)
}

describe('synthetic population', () => {
  it('gives the same foyer for the same (seed, index, options), whatever was generated before', () => {
    expect(foyer(SEED, 1234)).toEqual(caf[1234])
    expect(foyer(SEED, 17, { organisme: 'MSA', departement: '34' })).toEqual(msa[17])
    expect(JSON.stringify(foyer(SEED + 1, 1234))).not.toBe(JSON.stringify(caf[1234]))
    expect(foyer(SEED, 3, { organisme: 'MSA', departement: '34' }).numdemrsa).not.toBe(caf[3]?.numdemrsa)
  })

  it('composes foyers of 1 to 6 persons: one DEM first, at most one CJT, children younger than the DEM', () => {
    const bad = everyone.filter((f) => {
      const roles = f.personnes.map((p) => p.role)
      const dem = f.personnes[0]
      return (
        roles.length < 1 ||
        roles.length > 6 ||
        roles[0] !== 'DEM' ||
        roles.filter((r) => r === 'DEM').length !== 1 ||
        roles.filter((r) => r === 'CJT').length > 1 ||
        f.personnes.some((p) => p.role === 'ENF' && dem !== undefined && p.dtnai <= dem.dtnai)
      )
    })
    expect(bad.map((f) => f.index)).toEqual([])
    const sizes = new Set(everyone.map((f) => f.personnes.length))
    for (const size of [1, 2, 3, 4, 5]) expect(sizes.has(size)).toBe(true)
    expect(everyone.some((f) => f.personnes.some((p) => p.role === 'AUT'))).toBe(true)
    const average = persons.length / everyone.length
    expect(average).toBeGreaterThan(1.5)
    expect(average).toBeLessThan(1.9)
  })

  it('gives valid NIRs consistent with sex, birth year, month and département', () => {
    expect(failing((_, p) => p.nir13 === undefined || (isNir13(p.nir13) && p.nirKey === nirKey(p.nir13)))).toEqual([])
    expect(failing((_, p) => p.nir13 === undefined || checkNir(nir15(p) as string).ok)).toEqual([])
    expect(failing((_, p) => p.nir13 === undefined || p.nir13[0] === p.sexe)).toEqual([])
    expect(failing((_, p) => p.nir13 === undefined || p.nir13.slice(1, 3) === p.dtnai.slice(2, 4))).toEqual([])
    expect(
      failing((_, p) => p.nir13 === undefined || p.nir13.slice(3, 5) === (p.typedtnai === 'O' ? '20' : p.dtnai.slice(5, 7))),
    ).toEqual([])
    const deps = persons.filter(({ p }) => p.nir13 !== undefined).map(({ p }) => ({ dep: (p.nir13 as string).slice(5, 7), year: Number(p.dtnai.slice(0, 4)) }))
    expect(deps.some((d) => d.dep === '2A' || d.dep === '2B')).toBe(true)
    expect(deps.filter((d) => d.dep === '2A' || d.dep === '2B').every((d) => d.year >= 1976)).toBe(true)
    expect(deps.some((d) => d.dep === '99')).toBe(true)
    expect(deps.some((d) => d.dep === '93')).toBe(true)
  })

  it('leaves some persons without a NIR, mostly children', () => {
    const without = persons.filter(({ p }) => p.nir13 === undefined)
    const children = without.filter(({ p }) => p.role === 'ENF').length
    expect(without.length).toBeGreaterThan(0)
    expect(children / without.length).toBeGreaterThan(0.6)
    const adults = persons.filter(({ p }) => p.role === 'DEM' || p.role === 'CJT')
    expect(adults.filter(({ p }) => p.nir13 === undefined).length / adults.length).toBeLessThan(0.03)
  })

  it('has some partial birth dates (TYPEDTNAI J and O) shaped as the CNAF writes them', () => {
    const partial = persons.filter(({ p }) => p.typedtnai !== 'N')
    expect(partial.some(({ p }) => p.typedtnai === 'J')).toBe(true)
    expect(partial.some(({ p }) => p.typedtnai === 'O')).toBe(true)
    expect(partial.filter(({ p }) => !p.dtnai.endsWith(p.typedtnai === 'O' ? '-01-01' : '-01')).length).toBe(0)
  })

  it('identifies persons uniquely by NIR13 and birth date among those born in France', () => {
    const keys = persons.filter(({ p }) => p.nir13 !== undefined && p.nir13.slice(5, 7) !== '99').map(({ f, p }) => `${f.fonorg}${p.nir13}${p.dtnai}`)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('gives unique, well-shaped dossier identifiers', () => {
    expect(new Set(caf.map((f) => f.numdemrsa)).size).toBe(caf.length)
    expect(new Set(caf.map((f) => f.matricule)).size).toBe(caf.length)
    expect(everyone.every((f) => /^\d{11}$/.test(f.numdemrsa))).toBe(true)
    expect(caf.every((f) => /^\d{7}0{8}$/.test(f.matricule) && f.numorg === '931' && f.ideparte === '093')).toBe(true)
    expect(msa.every((f) => /^\d{15}$/.test(f.matricule) && f.ideparte === '034' && f.regagrifam !== undefined)).toBe(true)
    expect(new Set(msa.map((f) => f.numorg)).size).toBeGreaterThan(3)
  })

  it('writes French names with accents, ligatures, apostrophes, hyphens and particles, all in cp1252 and within XSD lengths', () => {
    const names = persons.flatMap(({ p }) => [p.nom, p.nomnai, p.prenom, p.prenom2 ?? '', p.prenom3 ?? ''])
    const all = names.join('|')
    for (const mark of ['é', 'è', 'ç', 'ï', 'Œ', "'", '-', 'É', 'ë']) expect(all.includes(mark), mark).toBe(true)
    expect(names.some((n) => /^(DE|DU|LE|DA|DOS) /.test(n))).toBe(true)
    expect(isCp1252(all)).toBe(true)
    expect(failing((_, p) => p.nom.length <= 28 && p.nomnai.length <= 28 && p.prenom.length <= 32)).toEqual([])
    expect(failing((_, p) => (p.prenom2 ?? '').length <= 15 && (p.prenom3 ?? '').length <= 15 && p.nomcomnai.length <= 26)).toEqual([])
  })

  it('places foyers at addresses of their département, current one first', () => {
    const bad = everyone.filter(
      (f) =>
        f.adresses.length < 1 ||
        f.adresses.length > 3 ||
        f.adresses.some((a, i) => a.rgadr !== i + 1 || !a.numcom.startsWith(f.departement) || !/^\d{5}$/.test(a.codepos)) ||
        f.adresses.some((a) => a.nomvoie.length > 32 || a.nomcom.length > 32 || a.numvoie.length > 6 || a.compladr.length > 38),
    )
    expect(bad.map((f) => f.index)).toEqual([])
  })

  it('mostly sends open rights (ETATDOSRSA 2), with the block each other state implies', () => {
    const share = (etat: string) => everyone.filter((f) => f.etatdosrsa === etat).length / everyone.length
    expect(share('2')).toBeGreaterThan(0.65)
    for (const etat of ['0', '1', '3', '4', '5', '6']) expect(share(etat), etat).toBeGreaterThan(0.005)
    const inconsistent = everyone.filter(
      (f) =>
        (f.etatdosrsa === '1') !== (f.refus !== undefined) ||
        (f.etatdosrsa === '3') !== (f.suspensionDroit !== undefined) ||
        (f.etatdosrsa === '4') !== (f.suspensionVersement !== undefined) ||
        (f.etatdosrsa === '5') !== (f.finDroit !== undefined) ||
        (f.etatdosrsa === '6') !== (f.finDroitMoisAnterieur !== undefined),
    )
    expect(inconsistent.map((f) => f.index)).toEqual([])
    expect(everyone.every((f) => f.dtdemrsa <= POPULATION_EPOCH)).toBe(true)
  })

  it('subjects open-right adults to droits et devoirs, never children', () => {
    expect(persons.filter(({ p }) => p.role === 'ENF' && p.toppersdrodevorsa).length).toBe(0)
    const open = persons.filter(({ f, p }) => p.role === 'DEM' && f.etatdosrsa === '2')
    expect(open.filter(({ p }) => p.toppersdrodevorsa).length / open.length).toBeGreaterThan(0.7)
  })

  it('registers some adults at France Travail, the IDASSEDIC being the identifiant’s first 8 characters', () => {
    const registered = everyone.flatMap((f) => adultsOf(f)).filter((p) => p.franceTravail !== undefined)
    expect(registered.length).toBeGreaterThan(everyone.length * 0.3)
    expect(registered.every((p) => /^[0-9]{7}[A-Z0-9][0-9]{3}$/.test(p.franceTravail?.identifiantpe ?? ''))).toBe(true)
    expect(registered.every((p) => p.franceTravail?.idassedic === p.franceTravail?.identifiantpe.slice(0, 8))).toBe(true)
    expect(everyone.flatMap((f) => f.personnes).filter((p) => p.role === 'ENF' && p.franceTravail !== undefined)).toHaveLength(0)
  })
})

describe('daily changes', () => {
  const date = '2026-11-05'
  const changed = caf.slice(0, 1500).map((f) => dailyChange(f, SEED, date))

  it('is deterministic and keeps the identities', () => {
    expect(dailyChange(caf[10] as Foyer, SEED, date)).toEqual(changed[10])
    expect(changed.every((c, i) => JSON.stringify(c.personnes) === JSON.stringify(caf[i]?.personnes))).toBe(true)
    expect(changed.every((c, i) => c.numdemrsa === caf[i]?.numdemrsa)).toBe(true)
  })

  it('dates Evenement blocks on the file day and keeps each state with its implied block', () => {
    expect(changed.every((c) => c.evenements.length > 0 && c.evenements.every((e) => e.dtliq === date && e.fg.length <= 9))).toBe(true)
    expect(changed.every((c) => c.evenements.every((e) => /^\d{2}:\d{2}:\d{2}$/.test(e.heuliq)))).toBe(true)
    const inconsistent = changed.filter(
      (f) =>
        (f.etatdosrsa === '4') !== (f.suspensionVersement !== undefined) ||
        (f.etatdosrsa === '5') !== (f.finDroit !== undefined) ||
        (f.etatdosrsa === '1') !== (f.refus !== undefined),
    )
    expect(inconsistent.map((f) => f.index)).toEqual([])
    const moved = changed.filter((c, i) => c.etatdosrsa !== caf[i]?.etatdosrsa).length
    expect(moved / changed.length).toBeGreaterThan(0.4)
  })
})
