import { describe, expect, it } from 'vitest'
import { addMonths, civil, dayNumber, dayOf, firstOfMonth, isoDate, lastOfMonth } from '../../src/fixtures/calendar.ts'
import { cp1252AsLatin1, encodeCp1252, isCp1252 } from '../../src/fixtures/cnaf/cp1252.ts'
import { Random, randomFor, sampleIndices, seedNumber, weightedTable } from '../../src/fixtures/random.ts'

const draws = (random: Random, n: number) => Array.from({ length: n }, () => random.uint32())

describe('seeded random streams', () => {
  it('gives the same sequence for the same seed and stream, another for another seed or stream', () => {
    expect(draws(randomFor(42, 7), 20)).toEqual(draws(randomFor(42, 7), 20))
    expect(draws(randomFor(42, 7), 20)).not.toEqual(draws(randomFor(43, 7), 20))
    expect(draws(randomFor(42, 7), 20)).not.toEqual(draws(randomFor(42, 8), 20))
    expect(draws(randomFor('demo', 1), 5)).toEqual(draws(randomFor('demo', 1), 5))
  })

  it('reads numeric CLI seeds as numbers and hashes other text', () => {
    expect(seedNumber('42')).toBe(42)
    expect(seedNumber(42)).toBe(42)
    expect(seedNumber('demo')).not.toBe(seedNumber('demo2'))
  })

  it('draws floats in [0, 1) and integers within bounds, spread over the range', () => {
    const random = randomFor(1, 2)
    const counts = new Array<number>(10).fill(0)
    let outside = 0
    for (let i = 0; i < 20_000; i++) {
      const x = random.next()
      if (!(x >= 0 && x < 1)) outside++
      const k = random.int(0, 9)
      counts[k] = (counts[k] as number) + 1
    }
    expect(outside).toBe(0)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(20_000)
    for (const count of counts) expect(count).toBeGreaterThan(1700)
  })

  it('follows the weights of a weighted table', () => {
    const table = weightedTable([['a', 9], ['b', 1]] as const)
    const random = randomFor(3)
    let a = 0
    for (let i = 0; i < 10_000; i++) if (random.weighted(table) === 'a') a++
    expect(a).toBeGreaterThan(8700)
    expect(a).toBeLessThan(9300)
  })

  it('samples distinct indices in ascending order', () => {
    const sample = sampleIndices(randomFor(5), 1000, 100)
    expect(sample).toHaveLength(100)
    expect(new Set(sample).size).toBe(100)
    expect([...sample].sort((x, y) => x - y)).toEqual(sample)
    expect(sample.every((i) => i >= 0 && i < 1000)).toBe(true)
    expect(sampleIndices(randomFor(5), 3, 10)).toEqual([0, 1, 2])
  })
})

describe('calendar on day numbers', () => {
  it('round-trips every day from 1900 to 2100 and agrees with Date', () => {
    for (let day = dayOf(1900, 1, 1); day <= dayOf(2100, 12, 31); day += 1) {
      const { year, month, day: d } = civil(day)
      if (dayOf(year, month, d) !== day) throw new Error(`day ${day} does not round-trip`)
    }
    expect(isoDate(dayNumber('2026-11-01'))).toBe('2026-11-01')
    expect(dayNumber('2024-02-29')).toBe(Date.UTC(2024, 1, 29) / 86_400_000)
  })

  it('refuses what is not a calendar date', () => {
    expect(() => dayNumber('2025-02-29')).toThrow(/not a calendar date/)
    expect(() => dayNumber('01/11/2026')).toThrow(/YYYY-MM-DD/)
  })

  it('moves by months, clamping the day', () => {
    expect(isoDate(addMonths(dayNumber('2025-01-31'), 1))).toBe('2025-02-28')
    expect(isoDate(addMonths(dayNumber('2025-03-15'), -3))).toBe('2024-12-15')
    expect(isoDate(firstOfMonth(dayNumber('2025-03-15')))).toBe('2025-03-01')
    expect(isoDate(lastOfMonth(dayNumber('2024-02-10')))).toBe('2024-02-29')
  })
})

describe('windows-1252 encoding', () => {
  it('writes latin1 letters as themselves and œ, Œ, ’, € at their cp1252 places', () => {
    expect([...encodeCp1252('é')]).toEqual([0xe9])
    expect([...encodeCp1252('œŒ’€')]).toEqual([0x9c, 0x8c, 0x92, 0x80])
    // (Node 20's TextDecoder('windows-1252') decodes 0x80–0x9F as latin1 controls: compare bytes instead.)
    expect([...encodeCp1252('Cœur d’Hé')]).toEqual([0x43, 0x9c, 0x75, 0x72, 0x20, 0x64, 0x92, 0x48, 0xe9])
    expect(Buffer.from(cp1252AsLatin1('LEBŒUF'), 'latin1')).toEqual(encodeCp1252('LEBŒUF'))
  })

  it('replaces what cp1252 cannot hold', () => {
    expect(encodeCp1252('Ł').toString('latin1')).toBe('?')
    expect(isCp1252('Zoé Lœuillet')).toBe(true)
    expect(isCp1252('Łódź')).toBe(false)
  })
})
