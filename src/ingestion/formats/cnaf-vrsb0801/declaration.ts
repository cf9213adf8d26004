import { z } from 'zod'
import { NATFLUX, TYPEFLUX } from '../../cnaf/code-lists.ts'

/** The `format:` block of a CNAF VRSB0801 flow (CAF or MSA beneficiaries). */
export const CnafDeclarationSchema = z.object({
  type: z.literal('cnaf-vrsb0801'),
  /** Fallback when the XML declaration names no encoding. */
  encoding: z.enum(['windows-1252', 'iso-8859-1', 'iso-8859-15', 'utf-8']).default('windows-1252'),
  record_element: z.literal('InfosFoyerRSA').default('InfosFoyerRSA'),
  /** FONORG values this flow may carry (CAF, MSA). */
  organismes: z.array(z.enum(['CAF', 'MSA'])).min(1),
  /**
   * IdentificationFlux.NATFLUX values the flow takes (D bénéficiaires, I instruction, R nouveau recueil); a file
   * of another nature is rejected whole (`wrong_flow_nature`) before any record is read. Default: D.
   */
  natflux: z.array(z.enum(NATFLUX)).min(1).default(['D']),
  /** IdentificationFlux.TYPEFLUX values the flow takes (M stock, I daily, R reprise); others: `wrong_flow_type`. Default: all three. */
  typeflux: z.array(z.enum(TYPEFLUX)).min(1).default(['M', 'I', 'R']),
})

export type CnafDeclaration = z.infer<typeof CnafDeclarationSchema>
