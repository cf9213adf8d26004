import { combineCodes } from './columns.ts'

/**
 * Aggregate tables of counts of persons with statistical disclosure control (pure).
 *
 * A table crosses row dimensions by column dimensions (each side may cross several dimensions; a table without
 * column dimensions is one-dimensional) and publishes every interior cell, every row total, every column total
 * and the grand total.
 *
 * - Primary suppression: a count from 1 to threshold-1 is never published (INSEE rule for persons: 11). Zero
 *   counts are published.
 * - Secondary suppression, until nothing changes:
 *   1. In every line (a row with its total, a column with its total, the totals row, the totals column), a line
 *      holding a suppressed cell holds at least two, and the suppressed cells of the line add up to at least the
 *      threshold (their sum, which the line total reveals, is not itself a small count).
 *   2. Two-dimensional tables: every suppressed cell lies on a cycle of suppressed cells alternating between rows
 *      and columns. Flipping the signs of the totals turns every line into "cells sum to zero", so the published
 *      figures determine a suppressed cell exactly if and only if it is a bridge of the bipartite graph whose
 *      vertices are the lines and whose edges are the suppressed cells. Every bridge is broken by suppressing one
 *      more cell that closes a cycle through it. With every suppressed cell non-zero, adding and subtracting 1
 *      alternately around the cycle gives other non-negative tables with the same published figures: no
 *      suppressed cell can be recomputed from the margins.
 *   Candidates are chosen among unsuppressed cells: non-zero before zero (a zero is known to be small), interior
 *   cells before totals, the grand total last, then the smallest count that makes the line's suppressed sum reach
 *   the threshold.
 * - Linked tables (several tables of one purpose sharing a margin, e.g. commune × sexe and commune × état du
 *   droit both publish the commune totals): a figure that two tables publish (same dimensions, same values) is
 *   suppressed in every table as soon as one suppresses it, and the tables are protected again until they agree.
 *
 * Limits (documented, not solved): the method is a heuristic, not the optimal (least-loss) suppression that
 * τ-Argus or sdcTable compute with linear programming; it guarantees non-uniqueness, not a minimum width of the
 * interval an attacker can derive for a suppressed cell; tables of one hierarchy at two levels (commune and
 * département) are refused at declaration rather than protected jointly; suppressed figures shared by linked
 * tables are consistent but their feasible intervals are not intersected; tables and microdata delivered to the
 * same recipient are protected separately.
 */
export const TOTAL = 'Total'

export type CellStatus = 0 | 1 | 2
export const PUBLISHED: CellStatus = 0
export const PRIMARY: CellStatus = 1
export const SECONDARY: CellStatus = 2

export interface DimensionCodes {
  column: string
  /** Per person: code of the value. */
  codes: Int32Array
  /** Code → label (null: missing). */
  labels: readonly (string | null)[]
}

export interface CountTable {
  name: string
  threshold: number
  rowDimensions: string[]
  columnDimensions: string[]
  /** Per row category: the label of each row dimension. */
  rowLabels: (string | null)[][]
  /** Per column category (one empty category for a one-dimensional table). */
  columnLabels: (string | null)[][]
  /** (R+1) × (C+1) counts; the last row and the last column are the totals (1-D: one column, the totals). */
  counts: number[][]
}

export interface ProtectedTable extends CountTable {
  status: CellStatus[][]
  primary: number
  secondary: number
}

const collator = new Intl.Collator('fr', { numeric: true })

function compareLabels(a: readonly (string | null)[], b: readonly (string | null)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? ''
    const y = b[i] ?? ''
    const c = collator.compare(x, y)
    if (c !== 0) return c
  }
  return 0
}

function crossCategories(dims: readonly DimensionCodes[], rows: number): { ids: Int32Array; labels: (string | null)[][] } {
  let ids: Int32Array = new Int32Array(rows)
  let card = 1
  for (const dim of dims) {
    const combined = combineCodes(ids, card, dim.codes, Math.max(1, dim.labels.length))
    ids = combined.ids
    card = combined.card
  }
  const labels: (string | null)[][] = new Array(card)
  for (let r = 0; r < rows; r++) {
    const id = ids[r]!
    if (labels[id] === undefined) labels[id] = dims.map((d) => d.labels[d.codes[r]!] ?? null)
  }
  // Sort categories by label, renumbering ids.
  const order = [...labels.keys()].sort((a, b) => compareLabels(labels[a]!, labels[b]!))
  const rank = new Int32Array(card)
  order.forEach((id, i) => (rank[id] = i))
  const sortedIds = new Int32Array(rows)
  for (let r = 0; r < rows; r++) sortedIds[r] = rank[ids[r]!]!
  return { ids: sortedIds, labels: order.map((id) => labels[id]!) }
}

/** Counts persons by the crossed row and column dimensions, with totals. */
export function countTable(
  spec: { name: string; threshold: number },
  rowDims: readonly DimensionCodes[],
  columnDims: readonly DimensionCodes[],
  persons: number,
): CountTable {
  const rows = crossCategories(rowDims, persons)
  const columns = columnDims.length > 0 ? crossCategories(columnDims, persons) : { ids: new Int32Array(persons), labels: [[]] }
  const R = rows.labels.length
  const C = columnDims.length > 0 ? columns.labels.length : 0
  const counts = Array.from({ length: R + 1 }, () => new Array<number>(C + 1).fill(0))
  for (let p = 0; p < persons; p++) {
    const i = rows.ids[p]!
    const j = columnDims.length > 0 ? columns.ids[p]! : 0
    if (C > 0) {
      counts[i]![j]! += 1
      counts[R]![j]! += 1
    }
    counts[i]![C]! += 1
    counts[R]![C]! += 1
  }
  return {
    name: spec.name,
    threshold: spec.threshold,
    rowDimensions: rowDims.map((d) => d.column),
    columnDimensions: columnDims.map((d) => d.column),
    rowLabels: rows.labels,
    columnLabels: C > 0 ? columns.labels : [[]],
    counts,
  }
}

interface Grid {
  R: number
  C: number
  value(i: number, j: number): number
}

/** 0 interior, 1 a total, 2 the grand total. */
function marginLevel(grid: Grid, i: number, j: number): number {
  return (i === grid.R ? 1 : 0) + (j === grid.C && grid.C > 0 ? 1 : 0)
}

function lines(grid: Grid): [number, number][][] {
  const out: [number, number][][] = []
  for (let j = 0; j <= grid.C; j++) out.push(Array.from({ length: grid.R + 1 }, (_, i) => [i, j] as [number, number]))
  if (grid.C > 0) for (let i = 0; i <= grid.R; i++) out.push(Array.from({ length: grid.C + 1 }, (_, j) => [i, j] as [number, number]))
  return out
}

/** Picks the cell to suppress among candidates, so that the suppressed sum reaches `need` if it can. */
function pickCandidate(grid: Grid, status: CellStatus[][], candidates: [number, number][], need: number): [number, number] | undefined {
  const open = candidates.filter(([i, j]) => status[i]![j] === PUBLISHED)
  if (open.length === 0) return undefined
  const rank = ([i, j]: [number, number]) => {
    const v = grid.value(i, j)
    // Non-zero first, interior first, then a count that reaches `need` (smallest such), else the largest.
    return [v > 0 ? 0 : 1, marginLevel(grid, i, j), v >= need ? 0 : 1, v >= need ? v : -v, i, j]
  }
  open.sort((a, b) => {
    const ra = rank(a)
    const rb = rank(b)
    for (let x = 0; x < ra.length; x++) if (ra[x] !== rb[x]) return ra[x]! - rb[x]!
    return 0
  })
  return open[0]
}

/**
 * Bridges of the bipartite graph of suppressed cells (rows 0..R as vertices 0..R, columns 0..C as vertices
 * R+1..R+C+1): the suppressed cells that the published figures determine exactly.
 */
export function determinedCells(R: number, C: number, status: readonly (readonly CellStatus[])[]): [number, number][] {
  const vertices = R + 1 + C + 1
  const adjacency: { to: number; edge: number }[][] = Array.from({ length: vertices }, () => [])
  const edges: [number, number][] = []
  for (let i = 0; i <= R; i++) {
    for (let j = 0; j <= C; j++) {
      if (status[i]![j] === PUBLISHED) continue
      const e = edges.length
      edges.push([i, j])
      adjacency[i]!.push({ to: R + 1 + j, edge: e })
      adjacency[R + 1 + j]!.push({ to: i, edge: e })
    }
  }
  const order = new Int32Array(vertices).fill(-1)
  const low = new Int32Array(vertices)
  const bridges: [number, number][] = []
  let counter = 0
  for (let root = 0; root < vertices; root++) {
    if (order[root] !== -1) continue
    // Iterative DFS: stack of (vertex, edge it was reached by, next neighbour index).
    const stack: [number, number, number][] = [[root, -1, 0]]
    order[root] = low[root] = counter++
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      const [v, parentEdge] = top
      const next = adjacency[v]![top[2]++]
      if (next) {
        if (next.edge === parentEdge) continue
        if (order[next.to] === -1) {
          order[next.to] = low[next.to] = counter++
          stack.push([next.to, next.edge, 0])
        } else {
          low[v] = Math.min(low[v]!, order[next.to]!)
        }
        continue
      }
      stack.pop()
      const parent = stack[stack.length - 1]
      if (parent) {
        const u = parent[0]
        low[u] = Math.min(low[u]!, low[v]!)
        if (low[v]! > order[u]!) bridges.push(edges[parentEdge]!)
      }
    }
  }
  return bridges
}

/** The vertices reachable from `start` without crossing the suppressed cell `cut`. */
function sideOf(R: number, C: number, status: readonly (readonly CellStatus[])[], start: number, cut: [number, number]): Set<number> {
  const seen = new Set<number>([start])
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.pop()!
    const neighbours: number[] = []
    if (v <= R) {
      for (let j = 0; j <= C; j++) if (status[v]![j] !== PUBLISHED && !(v === cut[0] && j === cut[1])) neighbours.push(R + 1 + j)
    } else {
      const j = v - R - 1
      for (let i = 0; i <= R; i++) if (status[i]![j] !== PUBLISHED && !(i === cut[0] && j === cut[1])) neighbours.push(i)
    }
    for (const w of neighbours) {
      if (!seen.has(w)) {
        seen.add(w)
        queue.push(w)
      }
    }
  }
  return seen
}

/**
 * Suppression pattern of one table. `forced` cells (from linked tables) start suppressed (as secondary unless
 * they are primary).
 */
export function protectTable(table: CountTable, forced: readonly [number, number][] = []): ProtectedTable {
  const R = table.counts.length - 1
  const C = table.counts[0]!.length - 1
  const grid: Grid = { R, C, value: (i, j) => table.counts[i]![j]! }
  const t = table.threshold
  const status: CellStatus[][] = table.counts.map((row) => row.map((v) => (v > 0 && v < t ? PRIMARY : PUBLISHED)))
  for (const [i, j] of forced) if (status[i]![j] === PUBLISHED) status[i]![j] = SECONDARY
  const allLines = lines(grid)
  for (;;) {
    let changed = false
    for (const line of allLines) {
      const hidden = line.filter(([i, j]) => status[i]![j] !== PUBLISHED)
      if (hidden.length === 0) continue
      // The line's total is its last cell. When it is published, it reveals the sum of the hidden cells.
      const [ti, tj] = line[line.length - 1]!
      const totalHidden = status[ti]![tj] !== PUBLISHED
      const sum = totalHidden ? t : hidden.reduce((s, [i, j]) => s + grid.value(i, j), 0)
      if (hidden.length >= 2 && sum >= t) continue
      const cell = pickCandidate(grid, status, line, t - sum)
      if (!cell) continue
      status[cell[0]]![cell[1]] = SECONDARY
      changed = true
    }
    if (changed) continue
    if (C > 0) {
      const bridge = determinedCells(R, C, status)[0]
      if (bridge) {
        const sideA = sideOf(R, C, status, bridge[0], bridge)
        const candidates: [number, number][] = []
        for (let i = 0; i <= R; i++) {
          if (sideA.has(i)) continue
          for (let j = 0; j <= C; j++) if (sideA.has(R + 1 + j)) candidates.push([i, j])
        }
        const cell = pickCandidate(grid, status, candidates, 0)
        // A candidate always exists once every line holds two suppressed cells (see the module comment).
        if (!cell) throw new Error(`table "${table.name}": no cell closes a cycle through a determined cell (bug)`)
        status[cell[0]]![cell[1]] = SECONDARY
        continue
      }
    }
    break
  }
  let primary = 0
  let secondary = 0
  for (const row of status) for (const s of row) s === PRIMARY ? primary++ : s === SECONDARY ? secondary++ : 0
  return { ...table, status, primary, secondary }
}

/** The identity of a published figure across tables: its dimensions and their values (totals drop out). */
function figureKeys(table: CountTable): string[][] {
  const R = table.counts.length - 1
  const C = table.counts[0]!.length - 1
  return table.counts.map((row, i) =>
    row.map((_, j) => {
      const parts: string[] = []
      if (i < R) table.rowDimensions.forEach((d, x) => parts.push(`${d}=${table.rowLabels[i]![x] ?? ''}`))
      if (j < C) table.columnDimensions.forEach((d, x) => parts.push(`${d}=${table.columnLabels[j]![x] ?? ''}`))
      return parts.sort().join('\u0001')
    }),
  )
}

/** Protects tables published together so that a figure they share is suppressed in all or in none. */
export function protectLinkedTables(tables: readonly CountTable[]): ProtectedTable[] {
  const keys = tables.map(figureKeys)
  const forced: [number, number][][] = tables.map(() => [])
  for (let round = 0; ; round++) {
    const protectedTables = tables.map((t, x) => protectTable(t, forced[x]))
    const hidden = new Set<string>()
    protectedTables.forEach((t, x) => t.status.forEach((row, i) => row.forEach((s, j) => s !== PUBLISHED && hidden.add(keys[x]![i]![j]!))))
    let changed = false
    protectedTables.forEach((t, x) =>
      t.status.forEach((row, i) =>
        row.forEach((s, j) => {
          if (s === PUBLISHED && hidden.has(keys[x]![i]![j]!)) {
            forced[x]!.push([i, j])
            changed = true
          }
        }),
      ),
    )
    if (!changed || round > 1000) return protectedTables
  }
}

/** Long-format rows of a protected table: dimension values (or `Total`), the count (null when secret), secret. */
export function tableRows(table: ProtectedTable): { values: (string | null)[]; count: number | null; secret: boolean }[] {
  const R = table.counts.length - 1
  const C = table.counts[0]!.length - 1
  const out: { values: (string | null)[]; count: number | null; secret: boolean }[] = []
  for (let i = 0; i <= R; i++) {
    for (let j = 0; j <= C; j++) {
      if (C > 0 || j === 0) {
        const rowValues = i < R ? table.rowLabels[i]! : table.rowDimensions.map(() => TOTAL)
        const colValues = C === 0 ? [] : j < C ? table.columnLabels[j]! : table.columnDimensions.map(() => TOTAL)
        const secret = table.status[i]![j] !== PUBLISHED
        out.push({ values: [...rowValues, ...colValues], count: secret ? null : table.counts[i]![j]!, secret })
      }
    }
  }
  return out
}
