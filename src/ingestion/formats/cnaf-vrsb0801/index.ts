import type { FlowFormat } from '../flow-format.ts'
import { CnafDeclarationSchema, type CnafDeclaration } from './declaration.ts'
import { loadCnaf } from './load-cnaf.ts'

/**
 * The CNAF VRSB0801 "flux bénéficiaires" (CAF and MSA), read by its dedicated reader (src/ingestion/cnaf/): the
 * header (IdentificationFlux: NATFLUX and TYPEFLUX checked, the kind told by TYPEFLUX), the foyers validated against
 * the XSD's rules and mapped to canonical values, the trailer's dossier count checked.
 */
export const cnafVrsb0801: FlowFormat<CnafDeclaration> = {
  type: 'cnaf-vrsb0801',
  declaration: CnafDeclarationSchema,
  load: loadCnaf,
}
