/**
 * Compact columnar storage for extracts (pure): a million persons are held as typed arrays of small integer
 * codes, not as a million objects. A column of text values is dictionary-encoded: each distinct value gets a
 * code, rows store codes.
 */
export class Dictionary {
  private readonly index = new Map<string, number>()
  readonly values: (string | null)[] = []

  /** The code of a value (null is a value of its own: a missing value is a category). */
  code(value: string | null): number {
    const key = value === null ? '\u0000null' : value
    let code = this.index.get(key)
    if (code === undefined) {
      code = this.values.length
      this.values.push(value)
      this.index.set(key, code)
    }
    return code
  }

  get size(): number {
    return this.values.length
  }
}

/** An Int32Array that grows by doubling. */
export class Int32Column {
  private data: Int32Array
  length = 0

  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity)
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = value
  }

  /** The filled part (shares memory until the next push). */
  view(): Int32Array {
    return this.data.subarray(0, this.length)
  }
}

/** A Float64Array that grows by doubling; NaN stands for a missing value. */
export class Float64Column {
  private data: Float64Array
  length = 0

  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity)
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = value
  }

  view(): Float64Array {
    return this.data.subarray(0, this.length)
  }
}

/** Fixed-width ASCII strings (pseudonyms) packed in one growing Buffer. */
export class FixedWidthColumn {
  private data: Buffer
  length = 0

  constructor(readonly width: number, capacity = 1024) {
    this.data = Buffer.alloc(width * capacity)
  }

  /** Reserves the next slot and returns its byte offset, for the caller to fill. */
  reserve(): number {
    if ((this.length + 1) * this.width > this.data.length) {
      const next = Buffer.alloc(this.data.length * 2)
      this.data.copy(next)
      this.data = next
    }
    return this.width * this.length++
  }

  get buffer(): Buffer {
    return this.data
  }

  get(row: number): string {
    return this.data.toString('latin1', row * this.width, (row + 1) * this.width)
  }
}

/**
 * Dense ids for pairs (a[i], b[i]): the result has one id per distinct pair, numbered from 0, with the number of
 * distinct pairs. Used to combine several coded columns into equivalence classes without per-row objects.
 */
export function combineCodes(a: Int32Array, aCard: number, b: Int32Array, bCard: number): { ids: Int32Array; card: number } {
  const n = a.length
  const ids = new Int32Array(n)
  const range = aCard * bCard
  if (range <= Math.max(1 << 16, 8 * n)) {
    // Direct addressing: a remap table as large as the pair space.
    const remap = new Int32Array(range).fill(-1)
    let next = 0
    for (let i = 0; i < n; i++) {
      const pair = a[i]! * bCard + b[i]!
      let id = remap[pair]!
      if (id < 0) {
        id = next++
        remap[pair] = id
      }
      ids[i] = id
    }
    return { ids, card: next }
  }
  // Sparse pair space: a hash map on the exact pair number (range < 2^53 since both cards ≤ n).
  const remap = new Map<number, number>()
  for (let i = 0; i < n; i++) {
    const pair = a[i]! * bCard + b[i]!
    let id = remap.get(pair)
    if (id === undefined) {
      id = remap.size
      remap.set(pair, id)
    }
    ids[i] = id
  }
  return { ids, card: remap.size }
}

/**
 * Open-addressing hash table from exact integer keys (doubles below 2^53) to dense slots, on typed arrays: several
 * times faster than a Map for the millions of lookups of a lattice search.
 */
export class NumberSlots {
  private keys: Float64Array
  private slots: Int32Array
  private mask: number
  size = 0

  constructor(expected: number) {
    let capacity = 16
    while (capacity < expected * 2) capacity *= 2
    this.keys = new Float64Array(capacity)
    this.slots = new Int32Array(capacity).fill(-1)
    this.mask = capacity - 1
  }

  private hash(key: number): number {
    const lo = key % 4294967296
    const hi = (key - lo) / 4294967296
    let h = Math.imul(lo | 0, 0x9e3779b1) ^ Math.imul(hi | 0, 0x85ebca6b)
    h ^= h >>> 15
    return h & this.mask
  }

  /** The dense slot of `key`, allocated (0, 1, 2...) on first sight. */
  slot(key: number): number {
    let i = this.hash(key)
    for (;;) {
      const s = this.slots[i]!
      if (s === -1) {
        if (this.size * 2 >= this.slots.length) {
          this.grow()
          return this.slot(key)
        }
        this.keys[i] = key
        this.slots[i] = this.size
        return this.size++
      }
      if (this.keys[i] === key) return s
      i = (i + 1) & this.mask
    }
  }

  private grow(): void {
    const keys = this.keys
    const slots = this.slots
    this.keys = new Float64Array(keys.length * 2)
    this.slots = new Int32Array(slots.length * 2).fill(-1)
    this.mask = this.slots.length - 1
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!
      if (s === -1) continue
      let j = this.hash(keys[i]!)
      while (this.slots[j] !== -1) j = (j + 1) & this.mask
      this.keys[j] = keys[i]!
      this.slots[j] = s
    }
  }
}
