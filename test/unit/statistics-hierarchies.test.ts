import { describe, expect, it } from 'vitest'
import { departementOfCommune, generalise, levelProblem } from '../../src/statistics/hierarchies.ts'

describe('generalisation hierarchies', () => {
  it('climbs a birth date from year to 5-year and 10-year bands of birth years', () => {
    expect(generalise('date', 'year', '1987-06-15')).toBe('1987')
    expect(generalise('date', 'band-5', '1987-06-15')).toBe('1985-1989')
    expect(generalise('date', 'band-10', '1987-06-15')).toBe('1980-1989')
    expect(generalise('date', 'band-20', '1987-06-15')).toBe('1980-1999')
    expect(generalise('date', 'month', '1987-06-15')).toBe('1987-06')
  })

  it('accepts a year already reduced by the purpose transform', () => {
    expect(generalise('date', 'year', 1987)).toBe('1987')
    expect(generalise('date', 'band-5', '1987')).toBe('1985-1989')
    expect(generalise('date', 'month', 1987)).toBe('1987')
  })

  it('maps a commune INSEE code to its département, Corsica and overseas included', () => {
    expect(generalise('commune', 'commune', '75056')).toBe('75056')
    expect(generalise('commune', 'departement', '75056')).toBe('75')
    expect(generalise('commune', 'departement', '2A004')).toBe('2A')
    expect(generalise('commune', 'departement', '97411')).toBe('974')
    expect(departementOfCommune('974')).toBe('974')
    expect(generalise('commune', 'commune', 'rue de la paix')).toBeNull()
  })

  it('caps household sizes', () => {
    expect(generalise('count', 'exact', 7)).toBe('7')
    expect(generalise('count', 'cap-5', 7)).toBe('5+')
    expect(generalise('count', 'cap-5', '4')).toBe('4')
    expect(generalise('count', 'cap-3', 3)).toBe('3+')
  })

  it('groups codes and suppresses a whole attribute at *', () => {
    const level = { name: 'ouvert-ferme', map: { '2': 'ouvert', '3': 'ouvert', '4': 'ouvert', '5': 'clos', '6': 'clos' } }
    expect(generalise('categorical', level, '3')).toBe('ouvert')
    expect(generalise('categorical', level, '0')).toBe('autre')
    expect(generalise('categorical', 'keep', '0')).toBe('0')
    expect(generalise('date', '*', '1987-06-15')).toBe('*')
  })

  it('keeps a missing value missing', () => {
    expect(generalise('date', 'year', null)).toBeNull()
    expect(generalise('count', 'cap-5', undefined)).toBeNull()
  })

  it('names the known levels of a hierarchy', () => {
    expect(levelProblem('date', 'decade')).toMatch(/known levels: month, year/)
    expect(levelProblem('count', 'cap-6')).toBeUndefined()
    expect(levelProblem('count', 'cap-x')).toMatch(/cap-N/)
  })
})
