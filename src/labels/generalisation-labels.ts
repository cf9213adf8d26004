import type { Transform } from '../purposes/purpose.ts'

/**
 * What was done to a value before it left, in French: a purpose's transform (register, codebook) and a statistics
 * hierarchy level (register, codebook).
 */
export function transformLabel(transform: Transform, length?: number): string {
  switch (transform) {
    case 'keep':
      return 'valeur transmise telle quelle'
    case 'year':
      return 'année seule'
    case 'age-band':
      return `tranche d'âge de ${length ?? 10} ans`
    case 'postcode-to-departement':
      return 'réduit au département'
    case 'truncate':
      return `tronqué à ${length ?? '?'} caractères`
    case 'omit':
      return 'utilisé par Passerelle, jamais transmis'
  }
}

/** Short form for the data map's cells. */
export function transformShortLabel(transform: Transform, length?: number): string {
  switch (transform) {
    case 'keep':
      return '✓'
    case 'year':
      return 'année'
    case 'age-band':
      return `tranche ${length ?? 10} ans`
    case 'postcode-to-departement':
      return 'département'
    case 'truncate':
      return `${length ?? '?'} car.`
    case 'omit':
      return 'interne'
  }
}

/** A generalisation level of a statistics hierarchy, in French (`band-10` → `tranche de 10 ans`). */
export function levelLabel(hierarchy: string, level: string): string {
  if (level === '*') return 'supprimé'
  const band = /^band-(\d+)$/.exec(level)
  if (band) return `tranche de ${band[1]} ans`
  const cap = /^cap-(\d+)$/.exec(level)
  if (cap) return `plafonné à ${cap[1]} (« ${cap[1]}+ » : ${cap[1]} ou plus)`
  switch (level) {
    case 'month':
      return 'mois'
    case 'year':
      return 'année'
    case 'commune':
      return 'commune (code INSEE)'
    case 'departement':
      return 'département'
    case 'exact':
      return 'valeur exacte'
    case 'keep':
      return hierarchy === 'categorical' ? 'codes d’origine' : 'valeur d’origine'
    default:
      return `regroupement « ${level} »`
  }
}
