import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { checkStatistics, readStatistics, statisticsOf } from '../../src/statistics/declaration.ts'
import { extractJobs } from '../../src/statistics/extract-jobs.ts'
import { extractTargets } from '../../src/statistics/run-extract.ts'

const shipped = loadPurposes(path.resolve(import.meta.dirname, '../../mappings')).get('statistiques')!

const base = {
  id: 'etude',
  fields: [
    { field: 'personne.dateNaissance', as: 'anneeNaissance', transform: 'year' },
    { field: 'personne.sexe', as: 'sexe', transform: 'keep' },
    { field: 'dossier.etatDroit', as: 'etatDroit', transform: 'keep' },
    { field: 'dossier.montantDroitTotal', as: 'montant', transform: 'keep' },
  ],
}
const statistics = {
  quasi_identifiers: [
    { column: 'anneeNaissance', hierarchy: 'date', levels: ['year', 'band-10'] },
    { column: 'sexe', hierarchy: 'categorical', levels: ['keep'] },
  ],
  sensitive: ['etatDroit'],
  measures: ['montant'],
  recipients: [{ id: 'drees', name: 'DREES' }],
}

describe('statistics declaration', () => {
  it('accepts the shipped statistiques purpose, with the defaults of the INSEE rule', () => {
    expect(checkStatistics(shipped)).toEqual([])
    const s = statisticsOf(shipped)
    expect(s.k).toBe(11)
    expect(s.max_suppression_rate).toBe(0.05)
    expect(s.aggregates.every((a) => a.threshold === 11)).toBe(true)
  })

  it('accepts a sound declaration', () => {
    expect(checkStatistics({ ...base, statistics })).toEqual([])
  })

  it('refuses a direct identifier in a statistical purpose, whatever its transform', () => {
    const fields = [...base.fields, { field: 'personne.nom', as: 'nom', transform: 'truncate', length: 1 }]
    expect(checkStatistics({ ...base, fields, statistics: { ...statistics, sensitive: ['etatDroit', 'nom'] } })).toContain(
      'purpose "etude": field "personne.nom" identifies a person directly and may not be declared by a statistical purpose',
    )
  })

  it('refuses the ways to reach a person and the identity of their adviser: phone, e-mail, France Travail adviser', () => {
    for (const [field, as] of [['dossier.email', 'courriel'], ['dossier.telephone', 'telephone'], ['franceTravail.conseiller', 'conseiller'], ['franceTravail.conseillerPrenom', 'conseillerPrenom'], ['franceTravail.conseillerEmail', 'conseillerEmail']]) {
      const fields = [...base.fields, { field: field!, as: as!, transform: 'keep' }]
      expect(checkStatistics({ ...base, fields, statistics: { ...statistics, sensitive: ['etatDroit', as!] } }), field).toContain(
        `purpose "etude": field "${field}" identifies a person directly and may not be declared by a statistical purpose`,
      )
    }
  })

  it('names a misspelt disclosure setting instead of leaving its default in force', () => {
    const typo = { ...statistics, K: 50, max_supression_rate: 0.01, recipients: [{ id: 'drees', name: 'DREES', organisaton: 'x' }], l_diversty: { attribute: 'etatDroit', l: 3 } }
    expect(readStatistics({ ...base, statistics: typo }).problems.sort()).toEqual([
      expect.stringMatching(/^purpose "etude": statistics\.K: unknown key, did you mean "k"\? \(known: k, /),
      expect.stringMatching(/^purpose "etude": statistics\.l_diversty: unknown key, did you mean "l_diversity"\?/),
      expect.stringMatching(/^purpose "etude": statistics\.max_supression_rate: unknown key, did you mean "max_suppression_rate"\?/),
      expect.stringMatching(/^purpose "etude": statistics\.recipients\.0\.organisaton: unknown key, did you mean "organisation"\? \(known: id, name, organisation, sftp\)/),
    ])
  })

  it('refuses a consent-conditioned field (an extract projects column by column)', () => {
    const fields = base.fields.map((f) => (f.field === 'dossier.montantDroitTotal' ? { ...f, consent: { field: 'dossier.accordTelephone', given: 'A' } } : f))
    expect(checkStatistics({ ...base, fields, statistics })).toContain(
      'purpose "etude": field "dossier.montantDroitTotal" is conditioned on consent (dossier.accordTelephone); a statistical purpose declares no consent-conditioned field',
    )
  })

  it('asks for every column to be classified', () => {
    expect(checkStatistics({ ...base, statistics: { ...statistics, measures: [] } })).toContain(
      'purpose "etude": statistics: column "montant" (field "dossier.montantDroitTotal") is neither a quasi-identifier, a sensitive attribute nor a measure: classify it',
    )
  })

  it('keeps personal attributes as quasi-identifiers, never as plain sensitive columns', () => {
    const problems = checkStatistics({
      ...base,
      statistics: { ...statistics, quasi_identifiers: [statistics.quasi_identifiers[1]], sensitive: ['etatDroit', 'anneeNaissance'] },
    })
    expect(problems).toContain('purpose "etude": statistics: "anneeNaissance" (etat-civil, date) must be a quasi-identifier with a hierarchy, not a sensitive attribute')
  })

  it('names unknown columns and levels with what is known', () => {
    const problems = checkStatistics({
      ...base,
      statistics: { ...statistics, quasi_identifiers: [{ column: 'age', hierarchy: 'date', levels: ['decade'] }, statistics.quasi_identifiers[1]] },
    })
    expect(problems).toContain('purpose "etude": statistics.quasi_identifiers[0]: "age" is not a column of the purpose (known: anneeNaissance, sexe, etatDroit, montant)')
    expect(problems).toContain(
      'purpose "etude": statistics.quasi_identifiers[0].levels[0]: "decade" is not a level of hierarchy "date" (known levels: month, year, band-5, band-10, band-20, *)',
    )
  })

  it('never lets a birth date out finer than the year', () => {
    const fields = base.fields.map((f) => (f.field === 'personne.dateNaissance' ? { ...f, transform: 'keep' } : f))
    const qi = [{ column: 'anneeNaissance', hierarchy: 'date', levels: ['month', 'year'] }, statistics.quasi_identifiers[1]]
    expect(checkStatistics({ ...base, fields, statistics: { ...statistics, quasi_identifiers: qi } })).toContain(
      'purpose "etude": statistics.quasi_identifiers[0]: a birth date leaves at most as a year (no level "month")',
    )
  })

  it('refuses aggregate tables of one hierarchy at two levels (they would not be protected jointly)', () => {
    const aggregates = [
      { name: 'par-annee', rows: [{ column: 'anneeNaissance', level: 'year' }], columns: [{ column: 'sexe' }] },
      { name: 'par-decennie', rows: [{ column: 'anneeNaissance', level: 'band-10' }] },
    ]
    expect(checkStatistics({ ...base, statistics: { ...statistics, aggregates } }).join('\n')).toMatch(
      /"anneeNaissance" is used at level "band-10" here and "year" in "par-annee"; tables of one hierarchy at two levels are not protected jointly/,
    )
  })

  it('checks l-diversity names a sensitive attribute, and the schema names bad keys', () => {
    expect(checkStatistics({ ...base, statistics: { ...statistics, l_diversity: { attribute: 'sexe', l: 2 } } })).toContain(
      'purpose "etude": statistics.l_diversity.attribute: "sexe" is not a sensitive attribute (declared: etatDroit)',
    )
    expect(readStatistics({ ...base, statistics: { ...statistics, k: 1 } }).problems).toEqual([expect.stringMatching(/^purpose "etude": statistics\.k: /)])
  })

  it('lists one monthly job per statistical purpose and recipient', () => {
    const purposes = loadPurposes(path.resolve(import.meta.dirname, '../../mappings'))
    expect(extractTargets(purposes).map((t) => t.job)).toEqual(['extract:statistiques:observatoire', 'extract:statistiques:drees'])
    const jobs = extractJobs({ db: undefined as never, log: undefined as never, env: {} }, purposes, { outDir: '/tmp/extracts' })
    expect(jobs.map((j) => [j.name, j.schedule])).toEqual([
      ['extract:statistiques:observatoire', '0 5 1 * *'],
      ['extract:statistiques:drees', '0 5 1 * *'],
    ])
  })
})
