import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ExtractDatasetBuilder } from '../../src/statistics/dataset.ts'
import { StatisticsSchema } from '../../src/statistics/declaration.ts'
import { anonymise, latticeNodes, precisionLoss } from '../../src/statistics/k-anonymity.ts'
import { csvLine } from '../../src/statistics/csv-file.ts'
import { microdataChunks, microdataRows, orderByPseudonym } from '../../src/statistics/microdata.ts'

const stats = StatisticsSchema.parse({
  k: 5,
  max_suppression_rate: 0.05,
  quasi_identifiers: [
    { column: 'naissance', hierarchy: 'date', levels: ['year', 'band-5', 'band-10'] },
    { column: 'commune', hierarchy: 'commune', levels: ['commune', 'departement'] },
    { column: 'taille', hierarchy: 'count', levels: ['exact', 'cap-4', 'cap-2'] },
    { column: 'sexe', hierarchy: 'categorical', levels: ['keep'] },
  ],
  sensitive: ['etat'],
  measures: ['montant'],
  recipients: [{ id: 'drees', name: 'DREES' }],
})

function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function population(n: number, seed: number, communes = 40) {
  const r = rng(seed)
  const builder = new ExtractDatasetBuilder(stats, Buffer.alloc(32, 9))
  for (let i = 0; i < n; i++) {
    const dept = r() < 0.5 ? '93' : '94'
    builder.add(
      {
        naissance: `${1950 + Math.floor(r() * 55)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}`,
        commune: `${dept}${String(Math.floor(r() * communes)).padStart(3, '0')}`,
        taille: 1 + Math.floor(r() * r() * 9),
        sexe: r() < 0.5 ? '1' : '2',
        etat: String(Math.floor(r() * 4) + 2),
        montant: Math.round(r() * 60000) / 100,
      },
      `person-${seed}-${i}`,
    )
  }
  return builder.build()
}

/** Groups published rows by their quasi-identifier values (columns 1..4 of a microdata row). */
function classSizes(rows: (string | number | null)[][]): Map<string, number> {
  const sizes = new Map<string, number>()
  for (const row of rows) {
    const key = JSON.stringify(row.slice(1, 5))
    sizes.set(key, (sizes.get(key) ?? 0) + 1)
  }
  return sizes
}

describe('k-anonymity search', () => {
  it('generalises until every combination of quasi-identifiers holds at least k persons', () => {
    const data = population(20_000, 1)
    const result = anonymise({ rows: data.rows, quasiIdentifiers: data.quasiIdentifiers, k: 5, maxSuppressionRate: 0.05 })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    const rows = [...microdataRows(data, result.levels, orderByPseudonym(data, result.keep))]
    expect(rows.length).toBe(result.kept)
    const sizes = classSizes(rows)
    expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(5)
    expect(result.kReached).toBe(Math.min(...sizes.values()))
    expect(result.suppressionRate).toBeLessThanOrEqual(0.05)
    // Every sub-combination holds k as well (it is a union of classes).
    const byCommune = new Map<unknown, number>()
    for (const row of rows) byCommune.set(row[2], (byCommune.get(row[2]) ?? 0) + 1)
    expect(Math.min(...byCommune.values())).toBeGreaterThanOrEqual(5)
  })

  it('chooses a minimal node: no less generalised node is acceptable', () => {
    const data = population(5_000, 2)
    const input = { rows: data.rows, quasiIdentifiers: data.quasiIdentifiers, k: 5, maxSuppressionRate: 0.05 }
    const result = anonymise(input)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    result.levels.forEach((level, i) => {
      if (level === 0) return
      const lower = result.levels.slice()
      lower[i] = level - 1
      const verdict = anonymise({ ...input, floor: lower, maxSuppressionRate: 0.05 })
      // From the lower node the search must climb again: the lower node itself is not acceptable.
      if (verdict.ok) expect(verdict.levels).not.toEqual(lower)
    })
    expect(result.levels.some((l) => l > 0)).toBe(true)
  })

  it('refuses when even the most general levels would suppress too many persons', () => {
    const data = population(300, 3, 400)
    const result = anonymise({ rows: data.rows, quasiIdentifiers: data.quasiIdentifiers, k: 50, maxSuppressionRate: 0.01 })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.best.levels).toEqual([2, 1, 2, 0])
    expect(result.best.suppressionRate).toBeGreaterThan(0.01)
  })

  it('never goes below the floor (the levels of the previous extract)', () => {
    const data = population(20_000, 4)
    const result = anonymise({ rows: data.rows, quasiIdentifiers: data.quasiIdentifiers, k: 5, maxSuppressionRate: 0.05, floor: [2, 1, 0, 0] })
    expect(result.ok && result.levels.slice(0, 2)).toEqual([2, 1])
  })

  it('suppresses classes with fewer than l distinct sensitive values', () => {
    const data = population(20_000, 5)
    const etat = data.sensitive[0]!
    const l = 4
    const result = anonymise({
      rows: data.rows,
      quasiIdentifiers: data.quasiIdentifiers,
      k: 5,
      maxSuppressionRate: 0.05,
      lDiversity: { codes: etat.codes, cardinality: etat.labels.length, l },
    })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    const rows = [...microdataRows(data, result.levels, orderByPseudonym(data, result.keep))]
    const distinct = new Map<string, Set<unknown>>()
    for (const row of rows) {
      const key = JSON.stringify(row.slice(1, 5))
      if (!distinct.has(key)) distinct.set(key, new Set())
      distinct.get(key)!.add(row[5])
    }
    expect(Math.min(...[...distinct.values()].map((s) => s.size))).toBeGreaterThanOrEqual(l)
    expect(result.lReached).toBeGreaterThanOrEqual(l)
  })

  it('writes the same CSV bytes from pre-encoded labels as from rows', () => {
    const data = population(2_000, 7)
    const keep = new Uint8Array(data.rows).fill(1)
    keep[3] = 0
    const order = orderByPseudonym(data, keep)
    const fromRows = [...microdataRows(data, [1, 1, 1, 0], order)].map((r) => csvLine(r, ',')).join('')
    // Small chunks, to cross chunk boundaries.
    expect(Buffer.concat([...microdataChunks(data, [1, 1, 1, 0], order, ',', 4096)]).toString('utf8')).toBe(fromRows)
  })

  it('orders rows by pseudonym', () => {
    const data = population(3_000, 6)
    const keep = new Uint8Array(data.rows).fill(1)
    const pseudonyms = [...microdataRows(data, [0, 0, 0, 0], orderByPseudonym(data, keep))].map((r) => r[0] as string)
    expect(pseudonyms).toEqual([...pseudonyms].sort())
    expect(new Set(pseudonyms).size).toBe(data.rows)
  })

  it('holds k on any small population (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 12 }), (n, seed, k) => {
        const data = population(n, seed, 5)
        const result = anonymise({ rows: data.rows, quasiIdentifiers: data.quasiIdentifiers, k, maxSuppressionRate: 0.2 })
        if (!result.ok) return result.best.suppressionRate > 0.2
        const rows = [...microdataRows(data, result.levels, orderByPseudonym(data, result.keep))]
        return [...classSizes(rows).values()].every((size) => size >= k) && result.suppressed <= Math.floor(0.2 * n + 1e-9)
      }),
      { numRuns: 60 },
    )
  })

  it('finds the node a full evaluation of the lattice would choose (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 600 }), fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 8 }), (n, seed, k) => {
        const data = population(n, seed, 6)
        const input = { rows: data.rows, quasiIdentifiers: data.quasiIdentifiers, k, maxSuppressionRate: 0.1 }
        const result = anonymise(input)
        const counts = data.quasiIdentifiers.map((q) => q.levelMaps.length)
        // A node is acceptable exactly when the search floored at it stays there (every other node above loses more).
        const acceptable = latticeNodes(counts, counts.map(() => 0)).flatMap((node) => {
          const r = anonymise({ ...input, floor: node })
          return r.ok && r.levels.join() === node.join() ? [{ node, loss: precisionLoss(node, counts), suppressed: r.suppressed }] : []
        })
        if (!result.ok) return acceptable.length === 0
        const best = Math.min(...acceptable.map((a) => a.loss))
        const ties = acceptable.filter((a) => Math.abs(a.loss - best) < 1e-12)
        return Math.abs(precisionLoss(result.levels, counts) - best) < 1e-12 && result.suppressed === Math.min(...ties.map((t) => t.suppressed))
      }),
      { numRuns: 25 },
    )
  })

  it('refuses levels declared out of order (a level must group what the previous one groups)', () => {
    const wrong = StatisticsSchema.parse({
      quasi_identifiers: [{ column: 'taille', hierarchy: 'count', levels: ['cap-3', 'cap-5'] }],
      recipients: [{ id: 'drees', name: 'DREES' }],
    })
    const builder = new ExtractDatasetBuilder(wrong)
    for (const taille of [1, 3, 4, 6]) builder.add({ taille }, `p${taille}`)
    expect(() => builder.build()).toThrow('quasi-identifier "taille": level "cap-5" splits values that level "cap-3" groups')
  })

  it('enumerates the lattice by height', () => {
    expect(latticeNodes([2, 3], [0, 1])).toEqual([
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
    ])
  })
})
