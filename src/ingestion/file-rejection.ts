/**
 * A file that cannot be trusted is rejected whole: not well-formed, wrong schema, truncated, count mismatch,
 * too many rejected records, older than the last file applied. The message names the file, the record and the
 * rule (never a value); it is written in the `.nack` sent back to the producer.
 */
export type FileRejectionCode =
  | 'not_well_formed'
  | 'doctype_refused'
  | 'wrong_schema'
  | 'unsupported_encoding'
  | 'truncated'
  | 'count_mismatch'
  | 'bad_header'
  /** The file names another recipient than this deployment (a fichier-PE-CG of another département). */
  | 'wrong_recipient'
  /** IdentificationFlux.NATFLUX is not a nature the flow declares (e.g. an instruction file on the beneficiary flow). */
  | 'wrong_flow_nature'
  /** IdentificationFlux.TYPEFLUX is not a type the flow declares. */
  | 'wrong_flow_type'
  | 'too_many_rejections'
  /** France Travail or orientations file older than the last one applied (CNAF files are ordered per dossier). */
  | 'out_of_order'
  /** A file created before its flow's retention horizon (the active phase of the flow's retention policy). */
  | 'beyond_retention_horizon'
  | 'size_mismatch'
  | 'empty_file'
  /** The flow declares `decrypt:` and the file is not CMS enveloped data for the département's key (src/ingestion/decrypt/). */
  | 'not_decryptable'
  // Reader limits (src/ingestion/reader-limits.ts): a bound of the flow declaration's `limits:` block exceeded.
  | 'record_too_large'
  | 'line_too_long'
  | 'text_too_long'
  | 'too_many_attributes'
  | 'too_deep'
  /** The reader failed in a way it does not name (a bug, or resources): recorded and nacked all the same. */
  | 'reader_failed'

export class FileRejection extends Error {
  constructor(
    readonly code: FileRejectionCode,
    message: string,
    readonly where: { recordIndex?: number; line?: number } = {},
  ) {
    super(message)
    this.name = 'FileRejection'
  }
}
