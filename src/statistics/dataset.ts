import type { Projected } from '../purposes/project.ts'
import type { DimensionCodes } from './aggregate-table.ts'
import { Dictionary, FixedWidthColumn, Float64Column, Int32Column } from './columns.ts'
import type { Statistics, QuasiIdentifier } from './declaration.ts'
import { generalise, levelName } from './hierarchies.ts'
import type { QuasiIdentifierCodes } from './k-anonymity.ts'
import { PSEUDONYM_LENGTH, writePseudonym } from './pseudonym.ts'

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

export class ExtractDatasetBuilder {
  private readonly qiDictionaries: Dictionary[]
  private readonly qiCodes: Int32Column[]
  private readonly sensitiveDictionaries: Dictionary[]
  private readonly sensitiveCodes: Int32Column[]
  private readonly measureValues: Float64Column[]
  private readonly pseudonyms: FixedWidthColumn | undefined
  rows = 0

  constructor(private readonly stats: Statistics, private readonly pseudonymKey?: Buffer) {
    this.qiDictionaries = stats.quasi_identifiers.map(() => new Dictionary())
    this.qiCodes = stats.quasi_identifiers.map(() => new Int32Column(1 << 16))
    this.sensitiveDictionaries = stats.sensitive.map(() => new Dictionary())
    this.sensitiveCodes = stats.sensitive.map(() => new Int32Column(1 << 16))
    this.measureValues = stats.measures.map(() => new Float64Column(1 << 16))
    this.pseudonyms = pseudonymKey ? new FixedWidthColumn(PSEUDONYM_LENGTH, 1 << 16) : undefined
  }

  /** Adds one person: their projected record and their stable internal key (persons.match_key). */
  add(record: Projected, personKey: string): void {
    const { stats } = this
    for (let i = 0; i < stats.quasi_identifiers.length; i++) {
      this.qiCodes[i]!.push(this.qiDictionaries[i]!.code(text(record[stats.quasi_identifiers[i]!.column])))
    }
    for (let i = 0; i < stats.sensitive.length; i++) {
      this.sensitiveCodes[i]!.push(this.sensitiveDictionaries[i]!.code(text(record[stats.sensitive[i]!])))
    }
    for (let i = 0; i < stats.measures.length; i++) {
      const value = record[stats.measures[i]!]
      const n = value === null || value === undefined || value === '' ? NaN : Number(value)
      this.measureValues[i]!.push(n)
    }
    if (this.pseudonyms) writePseudonym(this.pseudonymKey!, personKey, this.pseudonyms.buffer, this.pseudonyms.reserve())
    this.rows++
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
