import type { FranceTravailFileKind } from './row.ts'

/**
 * The column layouts of the France Travail CSV files (flows.md §2.1). Movements of registration (inscriptions)
 * and the stock share one layout; cessations and radiations add `motif`. From November 2011 four columns are
 * appended (`codeinsee; localite; adresse; ale`): both the legacy and the extended layouts are accepted.
 */
export type FranceTravailColumn =
  | 'nir'
  | 'identifiantpe'
  | 'nom'
  | 'prenom'
  | 'dtnai'
  | 'date'
  | 'code'
  | 'motif'
  | 'nir2'
  | 'codeinsee'
  | 'localite'
  | 'adresse'
  | 'ale'

export interface FranceTravailLayout {
  /** `legacy` (before November 2011) or `extended` (with the four address columns). */
  name: 'legacy' | 'extended'
  columns: readonly FranceTravailColumn[]
}

const INSCRIPTION_COLUMNS = ['nir', 'identifiantpe', 'nom', 'prenom', 'dtnai', 'date', 'code', 'nir2'] as const
const END_COLUMNS = ['nir', 'identifiantpe', 'nom', 'prenom', 'dtnai', 'date', 'code', 'motif', 'nir2'] as const
const ADDRESS_COLUMNS = ['codeinsee', 'localite', 'adresse', 'ale'] as const

function layoutPair(base: readonly FranceTravailColumn[]): readonly FranceTravailLayout[] {
  return [
    { name: 'legacy', columns: base },
    { name: 'extended', columns: [...base, ...ADDRESS_COLUMNS] },
  ]
}

const INSCRIPTION_LAYOUTS = layoutPair(INSCRIPTION_COLUMNS)
const END_LAYOUTS = layoutPair(END_COLUMNS)

/** The layouts a file of this kind may have, legacy first (the same objects on every call). */
export function layoutsFor(kind: FranceTravailFileKind): readonly FranceTravailLayout[] {
  return kind === 'cessations' || kind === 'radiations' ? END_LAYOUTS : INSCRIPTION_LAYOUTS
}

/** A header cell as compared: lowercase, no accents, letters and digits only (`Identifiant PE` → `identifiantpe`). */
export function normaliseHeaderCell(cell: string): string {
  return cell
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
}

/** Spellings seen for a column besides its own name (after normalisation). */
const ALIASES: Partial<Record<FranceTravailColumn, readonly string[]>> = {
  identifiantpe: ['identifiantft', 'idpe', 'identifiantfrancetravail', 'identifiantpoleemploi'],
  codeinsee: ['insee', 'codecommune', 'codecommuneinsee'],
}

function matchesColumn(cell: string, column: FranceTravailColumn): boolean {
  return cell === column || (ALIASES[column]?.includes(cell) ?? false)
}

/** Drops empty cells at the end of a record, down to `minimum` cells (the format strips trailing separators). */
export function dropTrailingEmptyCells(cells: string[], minimum = 0): string[] {
  let end = cells.length
  while (end > minimum && (cells[end - 1] ?? '').trim() === '') end--
  return end === cells.length ? cells : cells.slice(0, end)
}

/** The layout a header line announces for this kind of file, or undefined when it matches none. */
export function layoutFromHeader(kind: FranceTravailFileKind, headerCells: string[]): FranceTravailLayout | undefined {
  const cells = dropTrailingEmptyCells(headerCells).map(normaliseHeaderCell)
  return layoutsFor(kind).find(
    (layout) => layout.columns.length === cells.length && layout.columns.every((column, i) => matchesColumn(cells[i] ?? '', column)),
  )
}

/** The layout a header-less file of this kind has, told from the number of cells of a record. */
export function layoutFromCellCount(kind: FranceTravailFileKind, cells: string[]): FranceTravailLayout | undefined {
  const layouts = layoutsFor(kind)
  const exact = layouts.find((layout) => layout.columns.length === cells.length)
  if (exact) return exact
  // Trailing separators: extra empty cells at the end do not make a different layout (the longest that fits wins).
  const trimmed = dropTrailingEmptyCells(cells).length
  return [...layouts].reverse().find((layout) => layout.columns.length >= trimmed && layout.columns.length < cells.length)
}
