/**
 * What the orientations reader hands to the loader: one validated row of the département's orientation file
 * (who follows a beneficiary, from when to when). The person is named either by their RSA dossier and role in it
 * (NUMDEMRSA + ROLEPERS, optionally the organisme CAF/MSA), or by NIR and birth date.
 */
export type OrientationPerson =
  | { by: 'dossier'; numdemrsa: string; rolepers: string; organisme: 'CAF' | 'MSA' | undefined }
  | { by: 'nir'; nir13: string; dtnai: string }

export interface OrientationRow {
  /** 0-based index of the data row (header excluded). */
  recordIndex: number
  /** 1-based physical line of the row in the file. */
  line: number
  person: OrientationPerson
  /** SIRET of the structure référente. */
  siret: string
  /** The referent's e-mail, lowercased; undefined when only a structure is designated. */
  referentEmail: string | undefined
  /** `YYYY-MM-DD`, inclusive. */
  startsOn: string
  /** `YYYY-MM-DD`, inclusive; undefined while the orientation is open. */
  endsOn: string | undefined
}
