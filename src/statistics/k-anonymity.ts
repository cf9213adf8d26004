import { combineCodes } from './columns.ts'

/**
 * k-anonymity by global recoding and record suppression (pure), on columnar data.
 *
 * Every quasi-identifier has a hierarchy of levels (0 = least generalised). A node of the lattice picks one level
 * per quasi-identifier; at a node, persons sharing the same generalised values form an equivalence class. A node
 * is acceptable when the classes under k persons (or with fewer than l distinct values of the sensitive attribute,
 * when l-diversity is asked) hold at most `maxSuppressionRate` of the persons: those classes are suppressed.
 *
 * Search: the rows are first compressed to their distinct combinations of base values (with their counts), so a
 * node costs one pass over the distinct combinations, not over the persons. Nodes are visited from the least
 * generalised upwards (by height, then in order); since generalising only merges classes, every successor of an
 * acceptable node is acceptable too and is skipped (it loses more information). Among the minimal acceptable
 * nodes, the one losing least is chosen: smallest mean normalised level (Sweeney's precision), then fewest
 * suppressed persons, then the first in lattice order (deterministic). This is the full-lattice variant of
 * Samarati's and Incognito's searches; the lattices of declared purposes are small (a few hundred nodes at most).
 */
export interface QuasiIdentifierCodes {
  name: string
  /** Base code of each row (level 0 input). */
  codes: Int32Array
  /** Per level: base code → code at that level. */
  levelMaps: readonly Int32Array[]
  /** Per level: number of distinct codes at that level. */
  levelCardinalities: readonly number[]
}

export interface AnonymiseInput {
  rows: number
  quasiIdentifiers: readonly QuasiIdentifierCodes[]
  k: number
  maxSuppressionRate: number
  /** Distinct l-diversity on one sensitive attribute (codes per row). */
  lDiversity?: { codes: Int32Array; cardinality: number; l: number } | undefined
  /** The lowest level allowed per quasi-identifier (e.g. the levels of the previous extract to this recipient). */
  floor?: readonly number[] | undefined
}

export interface NodeVerdict {
  levels: number[]
  suppressed: number
  suppressionRate: number
}

export type AnonymiseResult =
  | {
      ok: true
      levels: number[]
      /** 1 when the row is kept, 0 when it is suppressed. */
      keep: Uint8Array
      kept: number
      suppressed: number
      suppressionRate: number
      /** Size of the smallest published class (null when nothing is published). */
      kReached: number | null
      /** Fewest distinct sensitive values in a published class, when l-diversity is asked. */
      lReached: number | null
      classes: number
      nodesEvaluated: number
    }
  | { ok: false; best: NodeVerdict; nodesEvaluated: number }

interface Compressed {
  /** Row → distinct combination. */
  tupleOfRow: Int32Array
  /** Per combination: number of rows. */
  weight: Int32Array
  /** Per quasi-identifier: base code of each combination. */
  tupleCodes: Int32Array[]
  /** Sensitive code of each combination (when l-diversity is asked). */
  tupleSensitive: Int32Array | undefined
}

const EXACT = 2 ** 53

/**
 * Dense ids (0..card-1) for the combinations of several coded columns: a mixed-radix number per item when the
 * product of the cardinalities stays exact in a double, pairwise combination otherwise.
 */
function denseIds(columns: readonly { codes: Int32Array; card: number }[], n: number): { ids: Int32Array; card: number } {
  const product = columns.reduce((p, c) => p * Math.max(1, c.card), 1)
  if (product >= EXACT) {
    let ids: Int32Array = new Int32Array(n)
    let card = 1
    for (const column of columns) ({ ids, card } = combineCodes(ids, card, column.codes, Math.max(1, column.card)))
    return { ids, card }
  }
  const keys = mixedRadix(columns, n)
  const ids = new Int32Array(n)
  const remap = new Map<number, number>()
  for (let i = 0; i < n; i++) {
    const key = keys[i]!
    let id = remap.get(key)
    if (id === undefined) {
      id = remap.size
      remap.set(key, id)
    }
    ids[i] = id
  }
  return { ids, card: remap.size }
}

function mixedRadix(columns: readonly { codes: Int32Array; card: number }[], n: number): Float64Array {
  const keys = new Float64Array(n)
  for (const column of columns) {
    const card = Math.max(1, column.card)
    const codes = column.codes
    for (let i = 0; i < n; i++) keys[i] = keys[i]! * card + codes[i]!
  }
  return keys
}

function compress(input: AnonymiseInput): Compressed {
  const n = input.rows
  const columns: { codes: Int32Array; card: number }[] = input.quasiIdentifiers.map((q) => ({ codes: q.codes, card: q.levelMaps[0]!.length }))
  if (input.lDiversity) columns.push({ codes: input.lDiversity.codes, card: input.lDiversity.cardinality })
  const { ids, card } = denseIds(columns, n)
  const weight = new Int32Array(card)
  const firstRow = new Int32Array(card).fill(-1)
  for (let r = 0; r < n; r++) {
    const t = ids[r]!
    weight[t]! += 1
    if (firstRow[t] === -1) firstRow[t] = r
  }
  const pick = (codes: Int32Array) => {
    const out = new Int32Array(card)
    for (let t = 0; t < card; t++) out[t] = codes[firstRow[t]!]!
    return out
  }
  return {
    tupleOfRow: ids,
    weight,
    tupleCodes: input.quasiIdentifiers.map((q) => pick(q.codes)),
    tupleSensitive: input.lDiversity ? pick(input.lDiversity.codes) : undefined,
  }
}

interface Evaluation {
  /** Per distinct combination: 1 when its class is published. */
  keepTuple: Uint8Array
  suppressed: number
  classes: number
  kReached: number | null
  lReached: number | null
}

/**
 * Classes at one node: the generalised codes of each distinct combination, numbered densely, then counted
 * (weights) and, for l-diversity, the distinct sensitive values counted per class.
 */
function evaluate(input: AnonymiseInput, data: Compressed, levels: readonly number[]): Evaluation {
  const m = data.weight.length
  const columns = input.quasiIdentifiers.map((q, i) => {
    const map = q.levelMaps[levels[i]!]!
    const base = data.tupleCodes[i]!
    const codes = new Int32Array(m)
    for (let t = 0; t < m; t++) codes[t] = map[base[t]!]!
    return { codes, card: q.levelCardinalities[levels[i]!]! }
  })
  const { ids, card } = denseIds(columns, m)
  const size = new Int32Array(card)
  for (let t = 0; t < m; t++) size[ids[t]!]! += data.weight[t]!
  let distinct: Int32Array | undefined
  if (input.lDiversity && data.tupleSensitive) {
    // Each combination holds one sensitive value: count distinct (class, value) pairs per class.
    const pairs = denseIds([{ codes: ids, card }, { codes: data.tupleSensitive, card: input.lDiversity.cardinality }], m)
    const seen = new Uint8Array(pairs.card)
    distinct = new Int32Array(card)
    for (let t = 0; t < m; t++) {
      const p = pairs.ids[t]!
      if (seen[p] === 0) {
        seen[p] = 1
        distinct[ids[t]!]! += 1
      }
    }
  }
  const keepClass = new Uint8Array(card)
  let suppressed = 0
  let classes = 0
  let kReached: number | null = null
  let lReached: number | null = null
  for (let c = 0; c < card; c++) {
    const n = size[c]!
    const d = distinct?.[c]
    if (n >= input.k && (d === undefined || d >= input.lDiversity!.l)) {
      keepClass[c] = 1
      classes++
      kReached = kReached === null ? n : Math.min(kReached, n)
      if (d !== undefined) lReached = lReached === null ? d : Math.min(lReached, d)
    } else suppressed += n
  }
  const keepTuple = new Uint8Array(m)
  for (let t = 0; t < m; t++) keepTuple[t] = keepClass[ids[t]!]!
  return { keepTuple, suppressed, classes, kReached, lReached }
}

/** Every node of the lattice within the floor, by height then in lexicographic order. */
export function latticeNodes(levelCounts: readonly number[], floor: readonly number[]): number[][] {
  const nodes: number[][] = []
  const current = floor.slice()
  const walk = (i: number) => {
    if (i === levelCounts.length) {
      nodes.push(current.slice())
      return
    }
    for (let level = floor[i]!; level < levelCounts[i]!; level++) {
      current[i] = level
      walk(i + 1)
    }
  }
  walk(0)
  const height = (v: number[]) => v.reduce((s, x) => s + x, 0)
  return nodes.sort((a, b) => height(a) - height(b) || compareLex(a, b))
}

function compareLex(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

function dominates(node: readonly number[], other: readonly number[]): boolean {
  return node.every((level, i) => level >= other[i]!)
}

/** Mean normalised generalisation level: 0 = nothing generalised, 1 = every attribute at its top level. */
export function precisionLoss(levels: readonly number[], levelCounts: readonly number[]): number {
  if (levels.length === 0) return 0
  return levels.reduce((sum, level, i) => sum + (levelCounts[i]! > 1 ? level / (levelCounts[i]! - 1) : 0), 0) / levels.length
}

export function anonymise(input: AnonymiseInput): AnonymiseResult {
  const levelCounts = input.quasiIdentifiers.map((q) => q.levelMaps.length)
  const floor = levelCounts.map((count, i) => Math.min(Math.max(0, input.floor?.[i] ?? 0), count - 1))
  const allowed = Math.floor(input.maxSuppressionRate * input.rows + 1e-9)
  const data = compress(input)
  const nodes = latticeNodes(levelCounts, floor)
  const acceptable: { levels: number[]; suppressed: number }[] = []
  let best: NodeVerdict | undefined
  let nodesEvaluated = 0
  for (const node of nodes) {
    if (acceptable.some((a) => dominates(node, a.levels))) continue
    const verdict = evaluate(input, data, node)
    nodesEvaluated++
    if (!best || verdict.suppressed <= best.suppressed) {
      best = { levels: node, suppressed: verdict.suppressed, suppressionRate: input.rows ? verdict.suppressed / input.rows : 0 }
    }
    if (verdict.suppressed <= allowed) acceptable.push({ levels: node, suppressed: verdict.suppressed })
  }
  if (acceptable.length === 0) return { ok: false, best: best!, nodesEvaluated }
  acceptable.sort(
    (a, b) => precisionLoss(a.levels, levelCounts) - precisionLoss(b.levels, levelCounts) || a.suppressed - b.suppressed || compareLex(a.levels, b.levels),
  )
  const chosen = acceptable[0]!.levels
  const verdict = evaluate(input, data, chosen)
  const keep = new Uint8Array(input.rows)
  let kept = 0
  for (let r = 0; r < input.rows; r++) {
    const k = verdict.keepTuple[data.tupleOfRow[r]!]!
    keep[r] = k
    kept += k
  }
  return {
    ok: true,
    levels: chosen,
    keep,
    kept,
    suppressed: input.rows - kept,
    suppressionRate: input.rows ? (input.rows - kept) / input.rows : 0,
    kReached: verdict.kReached,
    lReached: verdict.lReached,
    classes: verdict.classes,
    nodesEvaluated,
  }
}
