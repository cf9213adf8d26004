import path from 'node:path'

/**
 * The CNAF schema lives in the project's shared reference folder, beside the repository (`../shared/reference`), as
 * on the developers' machines and in CI; PASSERELLE_VRSB0801_XSD points elsewhere.
 */
export const VRSB0801_XSD = process.env.PASSERELLE_VRSB0801_XSD ?? path.resolve(import.meta.dirname, '../../../shared/reference/vrsb0801.xsd')
