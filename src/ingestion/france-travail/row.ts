/**
 * What the France Travail CSV parser hands to the loader: one validated row of an inscriptions, cessations,
 * radiations or stock file (flows.md §2.1), dates as `YYYY-MM-DD`, values trimmed.
 */
export type FranceTravailFileKind = 'inscriptions' | 'cessations' | 'radiations' | 'stock'

export interface FranceTravailRow {
  /** 0-based index of the data row (header excluded). */
  recordIndex: number
  /** 1-based physical line of the row in the file. */
  line: number
  nir13: string
  identifiantpe: string
  dtnai: string
  /** State the row puts the person in: inscription (inscriptions and stock), cessation or radiation. */
  etat: 'inscription' | 'cessation' | 'radiation'
  date: string
  code: string
  motif: string | undefined
  codeinsee: string | undefined
  localite: string | undefined
  adresse: string | undefined
  ale: string | undefined
}
