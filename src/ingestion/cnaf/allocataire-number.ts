import { checkNir, nirKey } from '../validation/nir.ts'

/**
 * The allocataire number of a dossier, per organisme, from Organisme/MATRICULE (xsd:integer, up to 15 digits).
 *
 * - CAF: the matricule is the 7-digit allocataire number padded with 8 zeros (../shared/reference/flows.md §3, a
 *   CAF fact); the number is its first 7 digits. A CAF matricule of another layout is kept as sent, never cut.
 * - MSA: the layout is not documented publicly, and the CAF cut gives a meaningless number: kept as sent.
 * - Either: a matricule that is the NIR of a person of the foyer (the MSA uses the NIR as matricule, rdv-insertion
 *   #87), with or without its key, or (MSA) any 15 digits that form a NIR with a valid key, is withheld: the dossier
 *   is stored without a matricule. The matricule is a plain-text identifier any purpose may declare; a NIR there
 *   would reach purposes that may not see the NIR, and escape the NIR's encryption. A purpose that may see the NIR
 *   has it as `personne.nir`, so nothing is lost.
 */
export type AllocataireNumber = { matricule: string; nirAsMatricule: false } | { matricule: undefined; nirAsMatricule: true }

const CAF_PADDED = /^(\d{7})0{8}$/

export function allocataireNumber(fonorg: string, matricule: string, personNirs13: readonly (string | undefined)[]): AllocataireNumber {
  if (isNirOfFoyer(fonorg, matricule, personNirs13)) return { matricule: undefined, nirAsMatricule: true }
  if (fonorg === 'CAF') {
    const padded = CAF_PADDED.exec(matricule)
    if (padded) return { matricule: padded[1]!, nirAsMatricule: false }
  }
  return { matricule, nirAsMatricule: false }
}

/** 13 digits equal to a person's NIR, or 15 whose first 13 are (key right or wrong); for the MSA, also any valid 15-digit NIR. */
function isNirOfFoyer(fonorg: string, matricule: string, personNirs13: readonly (string | undefined)[]): boolean {
  if (matricule.length !== 13 && matricule.length !== 15) return false
  const first13 = matricule.slice(0, 13)
  for (const nir13 of personNirs13) {
    if (nir13 === undefined) continue
    // A Corsican NIR (2A/2B) written as digits, as its key is computed (2A → 19, 2B → 18).
    const digits = nir13.toUpperCase().replace('2A', '19').replace('2B', '18')
    if (first13 === nir13 || first13 === digits) return true
  }
  if (fonorg === 'MSA' && matricule.length === 15) {
    const asNir = checkNir(matricule)
    if (asNir.ok && asNir.nir13 + nirKey(asNir.nir13) === matricule) return true
  }
  return false
}
