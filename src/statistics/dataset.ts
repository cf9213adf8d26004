import type { Projected } from '../purposes/project.ts'
import type { DimensionCodes } from './aggregate-table.ts'
import { Dictionary, FixedWidthColumn, Float64Column, Int32Column } from './columns.ts'
import type { Statistics, QuasiIdentifier } from './declaration.ts'
import { generalise, levelName } from './hierarchies.ts'
import type { QuasiIdentifierCodes } from './k-anonymity.ts'
import type { ColumnProjection } from './fieldwise-projection.ts'
import { encodePseudonym, PSEUDONYM_DIGEST_BYTES, PSEUDONYM_LENGTH, writePseudonym } from './pseudonym.ts'

/**
 * The persons of one extract as columns (pure): every projected record is folded into dictionary-encoded
 * quasi-identifiers and sensitive attributes, numeric measures and packed pseudonyms, then dropped. A million
 * persons take a few tens of megabytes.
 */
export interface QuasiIdentifierData extends QuasiIdentifierCodes {
  spec: QuasiIdentifier
  /** Per level: level code → label. */
  levelLabels: (string | null)[][]
}

export interface ExtractDataset {
  rows: number
  quasiIdentifiers: QuasiIdentifierData[]
  sensitive: { column: string; codes: Int32Array; labels: (string | null)[] }[]
  measures: { column: string; values: Float64Array }[]
  /** Packed pseudonyms (PSEUDONYM_LENGTH ASCII bytes per row), when a pseudonym key was given. */
  pseudonyms: FixedWidthColumn | undefined
}

function text(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null
  return String(value)
}

function measure(value: unknown): number {
  return value === null || value === undefined || value === '' ? NaN : Number(value)
}

/**
 * `pseudonymKey`: a derived key, to compute each pseudonym as the person is added; `'deferred'`: slots are
 * reserved and filled later from digests (`setPseudonymDigests`, e.g. computed by a worker thread); undefined: no
 * pseudonym column (aggregate tables).
 */
export class ExtractDatasetBuilder {
  private readonly qiDictionaries: Dictionary[]
  private readonly qiCodes: Int32Column[]
  private readonly sensitiveDictionaries: Dictionary[]
  private readonly sensitiveCodes: Int32Column[]
  private readonly measureValues: Float64Column[]
  private readonly pseudonyms: FixedWidthColumn | undefined
  /** Per column: stored value → code (or number, for measures), for `addStored`. */
  private readonly storedMemo: Map<unknown, number>[]
  /** The columns in the order `addValues` takes them: quasi-identifiers, sensitive attributes, measures. */
  readonly columns: readonly string[]
  rows = 0

  constructor(private readonly stats: Statistics, private readonly pseudonymKey?: Buffer | 'deferred') {
    this.qiDictionaries = stats.quasi_identifiers.map(() => new Dictionary())
    this.qiCodes = stats.quasi_identifiers.map(() => new Int32Column(1 << 16))
    this.sensitiveDictionaries = stats.sensitive.map(() => new Dictionary())
    this.sensitiveCodes = stats.sensitive.map(() => new Int32Column(1 << 16))
    this.measureValues = stats.measures.map(() => new Float64Column(1 << 16))
    this.pseudonyms = pseudonymKey ? new FixedWidthColumn(PSEUDONYM_LENGTH, 1 << 16) : undefined
    this.columns = [...stats.quasi_identifiers.map((q) => q.column), ...stats.sensitive, ...stats.measures]
    this.storedMemo = this.columns.map(() => new Map())
  }

  /** Adds one person: their projected record and their stable internal key (persons.match_key). */
  add(record: Projected, personKey: string): void {
    this.addValues(
      this.columns.map((c) => record[c]),
      personKey,
    )
  }

  /** Adds one person from their projected values, in the order of `columns`. */
  addValues(values: readonly unknown[], personKey?: string): void {
    const qis = this.qiCodes.length
    const sensitive = this.sensitiveCodes.length
    for (let i = 0; i < qis; i++) this.qiCodes[i]!.push(this.qiDictionaries[i]!.code(text(values[i])))
    for (let i = 0; i < sensitive; i++) this.sensitiveCodes[i]!.push(this.sensitiveDictionaries[i]!.code(text(values[qis + i])))
    for (let i = 0; i < this.measureValues.length; i++) this.measureValues[i]!.push(measure(values[qis + sensitive + i]))
    this.addPseudonym(personKey)
  }

  /**
   * Adds one person from a stored row (canonical field ids → stored values), each column through its projection
   * (`projections`, in the order of `columns`). Each distinct stored value of a column is projected and encoded
   * once.
   */
  addStored(row: Readonly<Record<string, unknown>>, projections: readonly ColumnProjection[], personKey?: string): void {
    const qis = this.qiCodes.length
    const sensitive = this.sensitiveCodes.length
    for (let c = 0; c < projections.length; c++) {
      const projection = projections[c]!
      const raw = row[projection.fieldId]
      const memo = this.storedMemo[c]!
      let code = raw !== null && typeof raw === 'object' ? undefined : memo.get(raw)
      if (code === undefined) {
        const value = projection.value(raw)
        code =
          c < qis ? this.qiDictionaries[c]!.code(text(value)) : c < qis + sensitive ? this.sensitiveDictionaries[c - qis]!.code(text(value)) : measure(value)
        if ((raw === null || typeof raw !== 'object') && memo.size < 100_000) memo.set(raw, code)
      }
      if (c < qis) this.qiCodes[c]!.push(code)
      else if (c < qis + sensitive) this.sensitiveCodes[c - qis]!.push(code)
      else this.measureValues[c - qis - sensitive]!.push(code)
    }
    this.addPseudonym(personKey)
  }

  private addPseudonym(personKey: string | undefined): void {
    if (this.pseudonyms) {
      const offset = this.pseudonyms.reserve()
      if (this.pseudonymKey !== 'deferred') writePseudonym(this.pseudonymKey!, personKey!, this.pseudonyms.buffer, offset)
    }
    this.rows++
  }

  /** Fills deferred pseudonyms of rows `from`, `from + 1`... from their digests (PSEUDONYM_DIGEST_BYTES each). */
  setPseudonymDigests(from: number, digests: Uint8Array): void {
    const count = digests.length / PSEUDONYM_DIGEST_BYTES
    for (let i = 0; i < count; i++) encodePseudonym(digests, i * PSEUDONYM_DIGEST_BYTES, this.pseudonyms!.buffer, (from + i) * PSEUDONYM_LENGTH)
  }

  build(): ExtractDataset {
    const quasiIdentifiers = this.stats.quasi_identifiers.map((spec, i): QuasiIdentifierData => {
      const base = this.qiDictionaries[i]!.values
      const levelMaps: Int32Array[] = []
      const levelLabels: (string | null)[][] = []
      const levelCardinalities: number[] = []
      for (const level of spec.levels) {
        const dictionary = new Dictionary()
        const map = new Int32Array(base.length)
        base.forEach((value, code) => (map[code] = dictionary.code(generalise(spec.hierarchy, level, value))))
        levelMaps.push(map)
        levelLabels.push(dictionary.values)
        levelCardinalities.push(dictionary.size)
      }
      checkCoarsening(spec, levelMaps, levelCardinalities)
      return { name: spec.column, spec, codes: this.qiCodes[i]!.view(), levelMaps, levelLabels, levelCardinalities }
    })
    return {
      rows: this.rows,
      quasiIdentifiers,
      sensitive: this.stats.sensitive.map((column, i) => ({
        column,
        codes: this.sensitiveCodes[i]!.view(),
        labels: this.sensitiveDictionaries[i]!.values,
      })),
      measures: this.stats.measures.map((column, i) => ({ column, values: this.measureValues[i]!.view() })),
      pseudonyms: this.pseudonyms,
    }
  }
}

/**
 * Each level must group what the previous level groups (a hierarchy): values together at one level stay together
 * at the next. The search relies on it; levels declared in the wrong order (cap-4 before cap-6) break it.
 */
function checkCoarsening(spec: QuasiIdentifier, levelMaps: readonly Int32Array[], cardinalities: readonly number[]): void {
  for (let l = 1; l < levelMaps.length; l++) {
    const up = new Int32Array(cardinalities[l - 1]!).fill(-1)
    const lower = levelMaps[l - 1]!
    const upper = levelMaps[l]!
    for (let base = 0; base < lower.length; base++) {
      const from = lower[base]!
      if (up[from] === -1) up[from] = upper[base]!
      else if (up[from] !== upper[base]) {
        throw new Error(
          `quasi-identifier "${spec.column}": level "${levelName(spec.levels[l]!)}" splits values that level "${levelName(spec.levels[l - 1]!)}" groups; ` +
            'declare the levels from the finest to the coarsest, each grouping the previous one',
        )
      }
    }
  }
}

/** The codes of a dimension of an aggregate table: a quasi-identifier at a level, or a sensitive attribute. */
export function dimensionCodes(dataset: ExtractDataset, column: string, level: string | undefined): DimensionCodes {
  const qi = dataset.quasiIdentifiers.find((q) => q.name === column)
  if (qi) {
    const index = level === undefined ? 0 : qi.spec.levels.findIndex((l) => levelName(l) === level)
    if (index < 0) throw new Error(`dimension "${column}": unknown level "${level}"`)
    const map = qi.levelMaps[index]!
    const codes = new Int32Array(dataset.rows)
    for (let r = 0; r < dataset.rows; r++) codes[r] = map[qi.codes[r]!]!
    return { column, codes, labels: qi.levelLabels[index]! }
  }
  const sensitive = dataset.sensitive.find((s) => s.column === column)
  if (!sensitive) throw new Error(`dimension "${column}" is neither a quasi-identifier nor a sensitive attribute`)
  return { column, codes: sensitive.codes, labels: sensitive.labels }
}
