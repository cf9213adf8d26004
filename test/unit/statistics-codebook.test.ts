import path from 'node:path'
import { parse as parseCsv } from 'csv-parse/sync'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { aggregateCodebook, codebookCsv, CODEBOOK_HEADER, microdataCodebook, PANDAS_DTYPES } from '../../src/statistics/codebook.ts'
import { statisticsOf } from '../../src/statistics/declaration.ts'
import { levelName } from '../../src/statistics/hierarchies.ts'

const purpose = loadPurposes(path.resolve('mappings')).get('statistiques')!
const stats = statisticsOf(purpose)

/** Any choice of one declared level per quasi-identifier, as an extract may end up with. */
const levels = fc.tuple(...stats.quasi_identifiers.map((qi) => fc.constantFrom(...qi.levels.map(levelName)))).map((chosen) =>
  Object.fromEntries(stats.quasi_identifiers.map((qi, i) => [qi.column, chosen[i]!])),
)

describe('the codebook of the shipped statistical purpose', () => {
  it('types a birth year as an integer, and a band, a capped count or a suppressed value as text', () => {
    const finest = microdataCodebook(purpose, stats, { anneeNaissance: 'year', nombrePersonnesFoyer: 'cap-6', organisme: 'keep' })
    const col = (cb: typeof finest, name: string) => cb.find((c) => c.name === name)!
    expect(col(finest, 'anneeNaissance')).toMatchObject({ type: 'integer', dtypePandas: 'Int64', label: 'Année de naissance', generalisation: 'année seule' })
    expect(col(finest, 'nombrePersonnesFoyer')).toMatchObject({ type: 'string', codes: [{ code: '6+', label: '6 ou plus' }] })
    expect(col(finest, 'organisme').codes.map((c) => c.code)).toEqual(['CAF', 'MSA'])
    const coarse = microdataCodebook(purpose, stats, { anneeNaissance: 'band-10', organisme: '*' })
    expect(col(coarse, 'anneeNaissance')).toMatchObject({ type: 'string', label: 'Année de naissance, tranche de 10 ans', generalisation: 'année seule ; tranche de 10 ans' })
    expect(col(coarse, 'organisme')).toMatchObject({ type: 'string', label: 'Organisme payeur (supprimé)', codes: [{ code: '*', label: 'valeur supprimée (généralisation maximale)' }] })
  })

  it('declares every column, whatever the levels reached, with a pandas dtype, and départements as text', () => {
    fc.assert(
      fc.property(levels, (generalisation) => {
        const cb = microdataCodebook(purpose, stats, generalisation)
        expect(cb.map((c) => c.name)).toEqual([stats.pseudonym_column, ...stats.quasi_identifiers.map((q) => q.column), ...stats.sensitive, ...stats.measures])
        for (const c of cb) {
          expect(PANDAS_DTYPES[c.type]).toBe(c.dtypePandas)
          expect(c.label.length).toBeGreaterThan(2)
          for (const code of c.codes) expect(code.label.length).toBeGreaterThan(1)
        }
        expect(cb.find((c) => c.name === 'departement')).toMatchObject({ type: 'string', label: 'Département' })
        for (const qi of stats.quasi_identifiers) expect(cb.find((c) => c.name === qi.column)!.level).toBe(generalisation[qi.column])
      }),
    )
  })

  it('writes a CSV a spreadsheet and csv-parse read back, labels with commas and quotes included', () => {
    for (const delimiter of [',', ';'] as const) {
      const cb = microdataCodebook(purpose, stats, { anneeNaissance: 'band-5' })
      const rows = parseCsv(codebookCsv(cb, delimiter), { columns: true, delimiter }) as Record<string, string>[]
      expect(Object.keys(rows[0]!)).toEqual([...CODEBOOK_HEADER])
      expect(rows.map((r) => r.colonne)).toEqual(cb.map((c) => c.name))
      expect(rows.map((r) => r.libelle)).toEqual(cb.map((c) => c.label))
      expect(rows.find((r) => r.colonne === 'etatDroit')!.codes).toContain('2 = Droit ouvert et versable')
    }
  })

  it('describes each aggregate table with text dimensions, their Total, the count and the secret flag', () => {
    for (const table of stats.aggregates) {
      const cb = aggregateCodebook(purpose, stats, table)
      expect(cb.map((c) => c.name)).toEqual([...table.rows.map((d) => d.column), ...table.columns.map((d) => d.column), 'effectif', 'secret'])
      for (const d of cb.slice(0, -2)) {
        expect(d.type).toBe('string')
        expect(d.codes.at(-1)).toEqual({ code: 'Total', label: 'total (marge du tableau)' })
      }
    }
  })
})
