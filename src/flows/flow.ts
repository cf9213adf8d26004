import cron from 'node-cron'
import { z } from 'zod'
import { hasCredentials, SftpEndpointSchema } from '../sftp/sftp-endpoint.ts'
import { NATFLUX, TYPEFLUX } from '../ingestion/cnaf/code-lists.ts'

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

const CnafFormat = z.object({
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

const FranceTravailCsvFormat = z.object({
  type: z.literal('france-travail-csv'),
  encoding: z.enum(['windows-1252', 'iso-8859-1', 'iso-8859-15', 'utf-8']).default('iso-8859-1'),
  delimiter: z.string().length(1).default(';'),
  header: z.boolean().default(true),
  date_format: z.literal('DD/MM/YYYY').default('DD/MM/YYYY'),
  /** How the kind of file is told from its name: regular expressions matched case-insensitively, first match wins. */
  kinds: z
    .array(z.object({ kind: z.enum(['inscriptions', 'cessations', 'radiations', 'stock']), pattern: z.string().min(1) }))
    .min(1),
})

/** The département's orientation tool: who follows whom (src/assignments/read-orientations-file.ts). */
const OrientationsCsvFormat = z.object({
  type: z.literal('orientations-csv'),
  encoding: z.enum(['windows-1252', 'iso-8859-1', 'iso-8859-15', 'utf-8']).default('utf-8'),
  delimiter: z.string().length(1).default(';'),
  date_format: z.enum(['DD/MM/YYYY', 'YYYY-MM-DD']).default('DD/MM/YYYY'),
})

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
  format: z.discriminatedUnion('type', [CnafFormat, FranceTravailCsvFormat, OrientationsCsvFormat]),
  source: SftpSourceSchema.optional(),
  /** node-cron expression, Europe/Paris. */
  schedule: z.string().refine((value) => cron.validate(value), 'must be a cron expression (5 fields, or 6 with seconds)'),
  retention: z.string().min(1),
  /** Above this share of rejected records, the whole file is rejected instead. */
  max_rejected_rate: z.number().min(0).max(1).default(0.05),
  limits: LimitsSchema.default({}),
})

export type FlowDeclaration = z.infer<typeof FlowSchema>
export type Flow = FlowDeclaration & { id: string }
