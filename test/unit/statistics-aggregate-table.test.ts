import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  countTable,
  determinedCells,
  protectLinkedTables,
  protectTable,
  PUBLISHED,
  tableRows,
  type CountTable,
  type DimensionCodes,
} from '../../src/statistics/aggregate-table.ts'

/**
 * An attacker's view of a protected table: the published figures and the additive relations (every line's cells
 * add up to its total). These helpers solve for the suppressed cells without using the protection code.
 */
function relations(table: { counts: number[][] }): [number, number][][] {
  const R = table.counts.length - 1
  const C = table.counts[0]!.length - 1
  const out: [number, number][][] = []
  for (let j = 0; j <= C; j++) out.push(Array.from({ length: R + 1 }, (_, i) => [i, j] as [number, number]))
  if (C > 0) for (let i = 0; i <= R; i++) out.push(Array.from({ length: C + 1 }, (_, j) => [i, j] as [number, number]))
  return out
}

/** True when the published figures determine the suppressed cell exactly (unit vector in the row space). */
function determinedByMargins(table: { counts: number[][]; status: number[][] }, cell: [number, number]): boolean {
  const hidden: [number, number][] = []
  table.status.forEach((row, i) => row.forEach((s, j) => s !== PUBLISHED && hidden.push([i, j])))
  const col = new Map(hidden.map(([i, j], x) => [`${i},${j}`, x]))
  // Each relation: sum(interior cells) - total = 0, restricted to hidden cells.
  const matrix: number[][] = []
  for (const line of relations(table)) {
    const row = new Array<number>(hidden.length).fill(0)
    line.forEach(([i, j], x) => {
      const h = col.get(`${i},${j}`)
      if (h !== undefined) row[h] = x === line.length - 1 ? -1 : 1
    })
    if (row.some((v) => v !== 0)) matrix.push(row)
  }
  const target = col.get(`${cell[0]},${cell[1]}`)!
  const rank = (rows: number[][]) => {
    const m = rows.map((r) => r.slice())
    let r = 0
    for (let c = 0; c < hidden.length && r < m.length; c++) {
      const p = m.findIndex((row, idx) => idx >= r && Math.abs(row[c]!) > 1e-9)
      if (p < 0) continue
      ;[m[r], m[p]] = [m[p]!, m[r]!]
      for (let x = 0; x < m.length; x++) {
        if (x === r) continue
        const f = m[x]![c]! / m[r]![c]!
        if (f !== 0) m[x] = m[x]!.map((v, y) => v - f * m[r]![y]!)
      }
      r++
    }
    return r
  }
  const unit = new Array<number>(hidden.length).fill(0)
  unit[target] = 1
  return rank([...matrix, unit]) === rank(matrix)
}

/**
 * Looks for another non-negative integer table with the same published figures in which `cell` differs: proof
 * that the margins do not give the cell away. Depth-first over the hidden cells with forced values.
 */
function alternativeExists(table: { counts: number[][]; status: number[][] }, cell: [number, number]): boolean {
  const hidden: [number, number][] = []
  table.status.forEach((row, i) => row.forEach((s, j) => s !== PUBLISHED && hidden.push([i, j])))
  const bound = Math.max(...table.counts.flat()) * 2 + 2
  const value = new Map<string, number>()
  const key = (i: number, j: number) => `${i},${j}`
  table.counts.forEach((row, i) => row.forEach((v, j) => table.status[i]![j] === PUBLISHED && value.set(key(i, j), v)))
  const lines = relations(table)
  const consistent = () =>
    lines.every((line) => {
      const vals = line.map(([i, j]) => value.get(key(i, j)))
      if (vals.some((v) => v === undefined)) return true
      const total = vals.pop()!
      return vals.reduce((s, v) => s! + v!, 0) === total
    })
  const truth = table.counts[cell[0]]![cell[1]]!
  let steps = 0
  const order = [cell, ...hidden.filter(([i, j]) => i !== cell[0] || j !== cell[1])]
  const search = (x: number): boolean => {
    if (++steps > 200_000) return false
    if (!consistent()) return false
    if (x === order.length) return true
    const [i, j] = order[x]!
    const candidates = x === 0 ? [truth - 1, truth + 1, ...Array.from({ length: bound }, (_, v) => v)].filter((v) => v >= 0 && v !== truth) : [table.counts[i]![j]!, ...Array.from({ length: bound }, (_, v) => v)]
    for (const v of new Set(candidates)) {
      value.set(key(i, j), v)
      if (search(x + 1)) return true
    }
    value.delete(key(i, j))
    return false
  }
  return search(0)
}

function table2d(counts: number[][], threshold = 11): CountTable {
  const R = counts.length
  const C = counts[0]!.length
  const full = counts.map((row) => [...row, row.reduce((s, v) => s + v, 0)])
  const totals = Array.from({ length: C + 1 }, (_, j) => full.reduce((s, row) => s + row[j]!, 0))
  return {
    name: 't',
    threshold,
    rowDimensions: ['r'],
    columnDimensions: ['c'],
    rowLabels: Array.from({ length: R }, (_, i) => [`r${i}`]),
    columnLabels: Array.from({ length: C }, (_, j) => [`c${j}`]),
    counts: [...full, totals],
  }
}

describe('aggregate tables: primary and secondary suppression', () => {
  it('suppresses every count under the threshold and publishes zeros', () => {
    const t = protectTable(table2d([
      [40, 5, 30],
      [25, 0, 60],
      [33, 12, 47],
    ]))
    expect(t.status[0]![1]).toBe(1)
    expect(t.status[1]![1]).toBe(0)
    for (const row of tableRows(t)) if (row.count !== null) expect(row.count === 0 || row.count >= 11).toBe(true)
  })

  it('a single suppressed cell would be recomputed from its row total (the attack works without secondary suppression)', () => {
    const t = table2d([
      [40, 5, 30],
      [25, 20, 60],
      [33, 12, 47],
    ])
    const primaryOnly = { ...t, status: t.counts.map((row) => row.map((v) => (v > 0 && v < 11 ? 1 : 0))) }
    expect(determinedByMargins(primaryOnly, [0, 1])).toBe(true)
    expect(alternativeExists(primaryOnly, [0, 1])).toBe(false)
  })

  it('secondary suppression cannot be undone from the margins', () => {
    const t = protectTable(table2d([
      [40, 5, 30],
      [25, 20, 60],
      [33, 12, 47],
    ]))
    expect(t.secondary).toBeGreaterThan(0)
    t.status.forEach((row, i) =>
      row.forEach((s, j) => {
        if (s === PUBLISHED) return
        expect(determinedByMargins(t, [i, j])).toBe(false)
        expect(alternativeExists(t, [i, j])).toBe(true)
      }),
    )
  })

  it('breaks a bridge between two cycles (two suppressed cells per line are not enough)', () => {
    // Two 2×2 blocks of small cells joined by one more small cell: every line has two suppressed cells, but the
    // joining cell is a bridge of the suppression graph, hence exactly recomputable.
    const status = [
      [1, 1, 0, 0, 0],
      [1, 1, 1, 0, 0],
      [0, 0, 1, 1, 0],
      [0, 0, 1, 1, 0],
      [0, 0, 0, 0, 0],
    ]
    expect(determinedCells(3, 4, status as (0 | 1 | 2)[][])).toEqual([[1, 2]])
  })

  it('protects random tables so that no suppressed cell is determined (property)', () => {
    let withSuppression = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((R) =>
          fc.integer({ min: 2, max: 5 }).chain((C) =>
            fc.array(fc.array(fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 11, max: 80 })), { minLength: C, maxLength: C }), { minLength: R, maxLength: R }),
          ),
        ),
        (counts) => {
          const t = protectTable(table2d(counts))
          if (t.primary > 0) withSuppression++
          return t.status.every((row, i) => row.every((s, j) => s === PUBLISHED || !determinedByMargins(t, [i, j])))
        },
      ),
      { numRuns: 150 },
    )
    expect(withSuppression).toBeGreaterThan(50)
  })

  it('finds exactly the cells the margins determine (bridge criterion against linear algebra, property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), { minLength: 4, maxLength: 4 }), (pattern) => {
        const t = table2d([
          [20, 30, 40],
          [25, 35, 45],
          [12, 13, 14],
        ])
        const status = pattern.map((row) => row.map((b) => (b ? 1 : 0))) as (0 | 1 | 2)[][]
        const bridges = new Set(determinedCells(3, 3, status).map(([i, j]) => `${i},${j}`))
        return status.every((row, i) => row.every((s, j) => s === 0 || bridges.has(`${i},${j}`) === determinedByMargins({ ...t, status }, [i, j])))
      }),
      { numRuns: 300 },
    )
  })

  it('keeps the suppressed cells of a line at least at the threshold when the line total is published', () => {
    const t = protectTable(table2d([
      [1, 1, 50, 60],
      [30, 40, 50, 60],
    ]))
    const hiddenInRow0 = t.status[0]!.slice(0, 4).map((s, j) => (s ? t.counts[0]![j]! : 0))
    if (t.status[0]![4] === PUBLISHED) expect(hiddenInRow0.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(11)
    expect(t.status[0]!.filter((s) => s !== PUBLISHED).length).toBeGreaterThanOrEqual(2)
  })

  it('protects a one-dimensional table: two hidden cells at least', () => {
    const dim: DimensionCodes = { column: 'commune', codes: Int32Array.from([...Array(30).fill(0), ...Array(4).fill(1), ...Array(25).fill(2)]), labels: ['93001', '93002', '93003'] }
    const t = protectTable(countTable({ name: 'par-commune', threshold: 11 }, [dim], [], 59))
    expect(t.counts.map((r) => r[0])).toEqual([30, 4, 25, 59])
    expect(t.status.map((r) => r[0])).toEqual([0, 1, 2, 0])
    expect(determinedByMargins(t, [1, 0])).toBe(false)
    expect(tableRows(t).map((r) => [r.values[0], r.count])).toEqual([
      ['93001', 30],
      ['93002', null],
      ['93003', null],
      ['Total', 59],
    ])
  })

  it('suppresses a figure shared by linked tables in both', () => {
    const commune: DimensionCodes = { column: 'commune', codes: Int32Array.from([0, 0, 1, 1, 2, 2].flatMap((c) => Array(9).fill(c))), labels: ['a', 'b', 'c'] }
    const sexe: DimensionCodes = { column: 'sexe', codes: Int32Array.from({ length: 54 }, (_, i) => i % 2), labels: ['1', '2'] }
    const etat: DimensionCodes = { column: 'etat', codes: Int32Array.from({ length: 54 }, (_, i) => (i % 3 === 0 ? 0 : 1)), labels: ['2', '5'] }
    const [a, b] = protectLinkedTables([
      countTable({ name: 'a', threshold: 11 }, [commune], [sexe], 54),
      countTable({ name: 'b', threshold: 11 }, [commune], [etat], 54),
    ])
    // The commune totals (last column) are the same figures in both tables: same suppression in both.
    expect(a!.status.map((r) => r.at(-1)! !== PUBLISHED)).toEqual(b!.status.map((r) => r.at(-1)! !== PUBLISHED))
  })
})
