/**
 * What the CNAF VRSB0801 parser hands to the loader: one validated foyer (InfosFoyerRSA), with every value
 * trimmed, dates as `YYYY-MM-DD`, booleans as booleans, amounts as decimal strings (`1675.00`), and codes
 * checked against the code lists of ../shared/reference/flows.md §1.4. Optional elements stay undefined:
 * the schema allows many of them to be absent and real files omit them.
 *
 * It carries every element some canonical field may come from (src/model/fields.ts); the loader keeps only
 * those the purposes declare.
 */
export interface CnafHeader {
  applieme: string
  numversionapplieme: string
  /** M = monthly stock, I = infra-monthly (daily) movements, R = reprise. */
  typeflux: 'M' | 'I' | 'R'
  /** D = bénéficiaires, I = instruction, R = nouveau recueil (checked against the flow before anything else). */
  natflux: 'D' | 'I' | 'R'
  dtcreaflux: string
  heucreaflux: string | undefined
  dtref: string
}

export interface CnafTrailer {
  nbtotdosrsatransm: number
  nbtotdosrsatransmano: number
}

export interface CnafPersonne {
  qual: string | undefined
  nom: string
  nomnai: string
  prenom: string
  prenom2: string | undefined
  prenom3: string | undefined
  nomcomnai: string | undefined
  dtnai: string
  rgnai: string | undefined
  typedtnai: string | undefined
  /** The NIR's first 13 characters (the key, when present in the file, was checked then dropped). */
  nir13: string | undefined
  sexe: string
  toprespdos: boolean
  /** ROLEPERS of the RSA prestation (Prestations with NATPREST=RSA). */
  rolepers: string
  /** TOPCHAPERS of the RSA prestation. */
  topchapers: boolean
  toppersdrodevorsa: boolean | undefined
  toppersentdrodevorsa: boolean | undefined
  idassedic: string | undefined
  mtpersressmenrsa: string | undefined
  /** ACT of the last Activite (the one with no DFACT, else the latest DDACT). */
  act: string | undefined
}

export interface CnafAdresse {
  pays: string | undefined
  numvoie: string | undefined
  libtypevoie: string | undefined
  nomvoie: string | undefined
  complideadr: string | undefined
  compladr: string | undefined
  lieudist: string | undefined
  codepos: string | undefined
  numcom: string | undefined
  nomcom: string | undefined
  /** AdresseHorsFrance lines, non-empty ones joined with ' / '. */
  horsFrance: string | undefined
}

export interface CnafFoyer {
  /** 0-based index of the InfosFoyerRSA in the file. */
  recordIndex: number
  /** 1-based line where the record starts. */
  line: number
  fonorg: string
  numorg: string
  matricule: string
  numdemrsa: string
  dtdemrsa: string
  personnes: CnafPersonne[]
  sitfam: string
  ddsitfam: string
  /** The current address: RGADR 01 (else the lowest rank). */
  adresse: CnafAdresse | undefined
  etatdosrsa: string
  refus: { motif: string; date: string } | undefined
  /** The latest SuspensionDroit (by DDSUSDRORSA). */
  suspensionDroit: { motif: string; date: string } | undefined
  /** The latest SuspensionVersement (by DDSUSVERSRSA). */
  suspensionVersement: { motif: string; date: string } | undefined
  /** FinDroit, else FinDroitMoisAnterieur. */
  finDroit: { motif: string; date: string } | undefined
  topsansdomfixe: boolean
  nbenfautcha: number | undefined
  oridemrsa: string
  topfoydrodevorsa: boolean | undefined
  mttotdrorsa: string | undefined
}
