import { combineCodes, NumberSlots } from './columns.ts'

/**
 * k-anonymity by global recoding and record suppression (pure), on columnar data.
 *
 * Every quasi-identifier has a hierarchy of levels (0 = least generalised). A node of the lattice picks one level
 * per quasi-identifier; at a node, persons sharing the same generalised values form an equivalence class. A node
 * is acceptable when the classes under k persons (or with fewer than l distinct values of the sensitive attribute,
 * when l-diversity is asked) hold at most `maxSuppressionRate` of the persons: those classes are suppressed.
 *
 * Search: the rows are first compressed to their distinct combinations of base values (with their counts), so a
 * node costs one pass over the distinct combinations, not over the persons. Each level of a hierarchy coarsens the
 * previous one (checked when the dataset is built), so generalising only merges classes: suppression can only go
 * down from a node to its successors, and information loss — the mean normalised level, Sweeney's precision — only
 * goes up. Hence:
 *   1. the most general node is evaluated first: if even it suppresses too many persons, the extract is refused;
 *   2. otherwise nodes are visited by increasing loss, and the first acceptable node loses least; nodes of equal
 *      loss compete on suppression, then on lattice order (deterministic).
 * This finds the same optimum as a full evaluation of the lattice (Samarati's, Incognito's and OLA's searches use
 * the same monotonicity), at the cost of the nodes that lose less than the optimum.
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
  if (product <= Math.max(1 << 16, 4 * n)) {
    // Small key space: direct addressing.
    const remap = new Int32Array(product).fill(-1)
    let card = 0
    for (let i = 0; i < n; i++) {
      const key = keys[i]!
      let id = remap[key]!
      if (id === -1) remap[key] = id = card++
      ids[i] = id
    }
    return { ids, card }
  }
  const slots = new NumberSlots(Math.min(n, product))
  for (let i = 0; i < n; i++) ids[i] = slots.slot(keys[i]!)
  return { ids, card: slots.size }
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

/** Dense class ids of the distinct combinations at a node (mixed-radix keys of the generalised codes, hashed). */
function classIds(input: AnonymiseInput, data: Compressed, levels: readonly number[]): { ids: Int32Array; card: number } {
  const m = data.weight.length
  const cards = input.quasiIdentifiers.map((q, i) => Math.max(1, q.levelCardinalities[levels[i]!]!))
  const product = cards.reduce((p, c) => p * c, 1)
  if (product >= EXACT) {
    const columns = input.quasiIdentifiers.map((q, i) => {
      const map = q.levelMaps[levels[i]!]!
      const base = data.tupleCodes[i]!
      const codes = new Int32Array(m)
      for (let t = 0; t < m; t++) codes[t] = map[base[t]!]!
      return { codes, card: cards[i]! }
    })
    return denseIds(columns, m)
  }
  const keys = new Float64Array(m)
  input.quasiIdentifiers.forEach((q, i) => {
    const map = q.levelMaps[levels[i]!]!
    const base = data.tupleCodes[i]!
    const card = cards[i]!
    for (let t = 0; t < m; t++) keys[t] = keys[t]! * card + map[base[t]!]!
  })
  const ids = new Int32Array(m)
  if (product <= Math.max(1 << 16, 4 * m)) {
    const remap = new Int32Array(product).fill(-1)
    let card = 0
    for (let t = 0; t < m; t++) {
      const key = keys[t]!
      let id = remap[key]!
      if (id === -1) remap[key] = id = card++
      ids[t] = id
    }
    return { ids, card }
  }
  const slots = new NumberSlots(Math.min(m, product))
  for (let t = 0; t < m; t++) ids[t] = slots.slot(keys[t]!)
  return { ids, card: slots.size }
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
  const { ids, card } = classIds(input, data, levels)
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
  let nodesEvaluated = 0
  const verdictOf = (levels: number[]): NodeVerdict => {
    nodesEvaluated++
    const suppressed = evaluate(input, data, levels).suppressed
    return { levels, suppressed, suppressionRate: input.rows ? suppressed / input.rows : 0 }
  }
  // The most general node suppresses least: when even it is not acceptable, nothing is.
  const top = verdictOf(levelCounts.map((count) => count - 1))
  if (top.suppressed > allowed) return { ok: false, best: top, nodesEvaluated }
  // Visit nodes by increasing loss: the first acceptable one loses least (loss grows along every generalisation),
  // then the nodes of equal loss compete on suppression.
  const nodes = latticeNodes(levelCounts, floor)
    .map((levels) => ({ levels, loss: precisionLoss(levels, levelCounts) }))
    .sort((a, b) => a.loss - b.loss || compareLex(a.levels, b.levels))
  const acceptable: { levels: number[]; suppressed: number }[] = []
  let bestLoss = Infinity
  for (const node of nodes) {
    if (node.loss > bestLoss + 1e-12) break
    const verdict = node.levels.every((l, i) => l === levelCounts[i]! - 1) ? top : verdictOf(node.levels)
    if (verdict.suppressed <= allowed) {
      acceptable.push({ levels: node.levels, suppressed: verdict.suppressed })
      bestLoss = Math.min(bestLoss, node.loss)
    }
  }
  acceptable.sort((a, b) => a.suppressed - b.suppressed || compareLex(a.levels, b.levels))
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
