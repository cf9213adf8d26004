import { z } from 'zod'
import type { PurposeController } from './controller.ts'

/**
 * A purpose (finalité) declaration, `mappings/<id>.yaml` (the file name is the id). The DPO declares it once;
 * the same declaration drives what ingestion stores, what every exit projects, retention and the register.
 */
export const ROLES = ['referent', 'structure-manager', 'instructor', 'statistician', 'dpo', 'admin'] as const
export type Role = (typeof ROLES)[number]

export const ORGANISATION_TYPES = ['departement', 'france-travail', 'ccas', 'cias', 'association', 'caf', 'msa', 'statistique', 'autre'] as const

export const TRANSFORMS = ['keep', 'year', 'age-band', 'postcode-to-departement', 'truncate', 'omit'] as const
export type Transform = (typeof TRANSFORMS)[number]

export const PurposeFieldSchema = z
  .object({
    /** Canonical field id (src/model/fields.ts). */
    field: z.string().min(1),
    /** Name under which the value leaves (API, extract, export). Defaults to the canonical id's last segment. */
    as: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/).optional(),
    transform: z.enum(TRANSFORMS).default('keep'),
    /** For `truncate`: how many characters are kept. For `age-band`: band width in years. */
    length: z.number().int().min(1).optional(),
    /**
     * A consent-conditioned field: it leaves only for a record whose consent field (another canonical field the
     * purpose declares) holds `given`, e.g. `{ field: dossier.accordTelephone, given: A }`; otherwise it leaves as
     * null, whatever is stored (src/purposes/project.ts).
     */
    consent: z.object({ field: z.string().min(1), given: z.string().min(1) }).strict().optional(),
  })
  .refine((f) => f.transform !== 'truncate' || f.length !== undefined, { message: 'truncate needs a length' })

export type PurposeField = z.infer<typeof PurposeFieldSchema>

export const PurposeSchema = z.object({
  title: z.string().min(1),
  title_en: z.string().min(1),
  description: z.string().min(1),
  description_en: z.string().min(1),
  /** Usually absent: the controller is declared once for all purposes in mappings/controller.yaml. */
  controller: z.object({ name: z.string().min(1), contact: z.string().min(1) }).optional(),
  legal_basis: z.object({
    /** GDPR Art. 6(1) letter, e.g. `6(1)(e)`. */
    gdpr: z.string().regex(/^6\(1\)\([a-f]\)$/, 'must be a GDPR Art. 6(1) letter such as 6(1)(e)'),
    /** The national text(s), e.g. `CASF art. R.262-103 et suivants ; décret n° 2009-716`. */
    national: z.string().min(1),
  }),
  /** GDPR Art. 9 categories processed, with the Art. 9(2) condition. */
  article9: z.array(z.object({ category: z.string().min(1), condition: z.string().min(1) })).default([]),
  data_subjects: z.array(z.string().min(1)).min(1),
  recipients: z
    .array(z.object({ role: z.enum(ROLES), organisation_types: z.array(z.enum(ORGANISATION_TYPES)).min(1), description: z.string().optional() }))
    .min(1),
  source_flows: z.array(z.string().min(1)).min(1),
  fields: z.array(PurposeFieldSchema).min(1),
  /** Retention policy name (declared with the flows). */
  retention: z.string().min(1),
  /** `full`: every access logged with its subject; `metadata`: accesses logged without subject (aggregates only). */
  audit: z.enum(['full', 'metadata']).default('full'),
  /** Whether a data subject may object / ask erasure for this purpose (consent-based purposes). */
  erasable: z.boolean().default(false),
  /**
   * Statistical purposes only: quasi-identifiers with their generalisation hierarchies, k, maximum suppression
   * rate... Its shape belongs to the statistics feature (src/pseudonymisation/), which validates it.
   */
  statistics: z.record(z.string(), z.unknown()).optional(),
})

export type PurposeDeclaration = z.infer<typeof PurposeSchema>
/** A loaded purpose: its controller is its own, or the one of mappings/controller.yaml. */
export type Purpose = Omit<PurposeDeclaration, 'controller'> & { id: string; controller: PurposeController }

/** The name a declared field leaves under. */
export function exposedName(field: PurposeField): string {
  return field.as ?? field.field.split('.').at(-1)!
}

/**
 * A purpose from a declaration object (tests, tools): validated, with its own controller or the one given
 * (mappings/controller.yaml's, as loadPurposes passes it).
 */
export function parsePurpose(raw: unknown, id: string, controller?: PurposeController): Purpose {
  const declared = PurposeSchema.parse(raw)
  const chosen = declared.controller ?? controller
  if (!chosen) throw new Error(`purpose "${id}": no controller (declare it in mappings/controller.yaml or in the purpose)`)
  return { ...declared, id, controller: chosen }
}
