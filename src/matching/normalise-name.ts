/**
 * The one normalisation of a name before it is compared (identity matching, src/matching/): case, accents,
 * ligatures, spaces, hyphens, apostrophes and every other character that is not a letter are ignored, so that
 * "Lefèvre-Durand", "LEFEVRE DURAND" and "lefevre durand" compare equal, and "D'Almeida" equals "DALMEIDA".
 * Letters only remain (A–Z): digits and punctuation in a name are noise of the producer's entry, not identity.
 * Nothing here is approximate: two names that differ by a letter stay different (matching is never fuzzy).
 */
const LIGATURES: Readonly<Record<string, string>> = { Œ: 'OE', Æ: 'AE', ß: 'SS', Ø: 'O', Đ: 'D', Ł: 'L', Ħ: 'H', Ŧ: 'T', Ð: 'D', Þ: 'TH', ẞ: 'SS' }

export function normaliseName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[ŒÆßØĐŁĦŦÐÞẞ]/g, (c) => LIGATURES[c] ?? c)
    .replace(/[^A-Z]/g, '')
}
