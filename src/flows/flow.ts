import cron from 'node-cron'
import { z } from 'zod'
import { hasCredentials, SftpEndpointSchema } from '../sftp/sftp-endpoint.ts'
import { DecryptionSchema } from '../ingestion/decrypt/decryption-stage.ts'
import { FormatDeclarationSchema } from '../ingestion/formats/registry.ts'

/**
 * A flow declaration, `flows/<id>.yaml` (the file name is the id). It says who produces the flow, its format,
 * where to fetch it, what to do with a file after it is loaded or rejected, when to pull, and which retention
 * policy applies to the data it brings.
 */

export const SftpSourceSchema = SftpEndpointSchema.extend({
  /** A JavaScript regular expression matched against the whole file name. */
  pattern: z.string().min(1),
  /** A file is taken only once it is this old (still being written otherwise). */
  min_age_seconds: z.number().int().min(0).default(60),
  /** When set, a file is taken only once `<name><suffix>` exists beside it (e.g. `.ok`). */
  ready_marker_suffix: z.string().min(1).optional(),
  after_load: z
    .object({ action: z.enum(['move', 'delete']).default('move'), dir: z.string().default('done'), ack: z.boolean().default(true) })
    .default({ action: 'move', dir: 'done', ack: true }),
  after_reject: z.object({ dir: z.string().default('rejected'), nack: z.boolean().default(true) }).default({ dir: 'rejected', nack: true }),
}).refine(...hasCredentials)

export type SftpSource = z.infer<typeof SftpSourceSchema>

/**
 * Bounds the reader enforces on every file of the flow (src/ingestion/reader-limits.ts); each one exceeded rejects
 * the file with its own rule. Omitted values take the defaults there (1 MiB, 64 Ki characters, 64 Ki characters,
 * 64 attributes, 32 levels).
 */
const LimitsSchema = z
  .object({
    /** Largest record: a CNAF element (InfosFoyerRSA, header, trailer) or a CSV record's cells (rule record_too_large). */
    max_record_bytes: z.number().int().min(1024).max(256 * 1024 * 1024).optional(),
    /** Longest physical line of a CSV file, in characters (rule line_too_long). */
    max_line_chars: z.number().int().min(256).max(256 * 1024 * 1024).optional(),
    /** Longest text: a CNAF text node or a CSV cell, in characters (rule text_too_long). */
    max_text_chars: z.number().int().min(64).max(256 * 1024 * 1024).optional(),
    /** Most attributes on one CNAF element (rule too_many_attributes). */
    max_attributes: z.number().int().min(2).max(100_000).optional(),
    /** Deepest nesting of CNAF elements below a record (rule too_deep). */
    max_depth: z.number().int().min(8).max(10_000).optional(),
  })
  .strict()

export const FlowSchema = z.object({
  title: z.string().min(1),
  producer: z.string().min(1),
  description: z.string().optional(),
  /** How its files are read: one of the formats of src/ingestion/formats/registry.ts, with its own options. */
  format: FormatDeclarationSchema,
  /** Files arrive encrypted (CMS/S-MIME): deciphered as they stream into the reader (src/ingestion/decrypt/decryption-stage.ts). */
  decrypt: DecryptionSchema.optional(),
  source: SftpSourceSchema.optional(),
  /** node-cron expression, Europe/Paris. */
  schedule: z.string().refine((value) => cron.validate(value), 'must be a cron expression (5 fields, or 6 with seconds)'),
  retention: z.string().min(1),
  /** Above this share of rejected records, the whole file is rejected instead. */
  max_rejected_rate: z.number().min(0).max(1).default(0.05),
  limits: LimitsSchema.default({}),
}).refine((flow) => !flow.decrypt || flow.format.type !== 'cnaf-vrsb0801', {
  path: ['decrypt'],
  message: 'decryption is available to the declared formats (csv-records, xml-records), not to cnaf-vrsb0801',
})

export type FlowDeclaration = z.infer<typeof FlowSchema>
export type Flow = FlowDeclaration & { id: string }
