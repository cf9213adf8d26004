import { z } from 'zod'
import { checkCommon, commonOptions, fieldRules } from '../declared/declaration.ts'

/**
 * The `format:` block of a flow in a delimited-text shape (`type: csv-records`): separator, quoting, encoding, a
 * header line or not, the fields (each by header name(s) or position), layouts when the columns are fixed.
 *
 * Columns are found in one of two ways:
 *  - `layouts` given: the file has one of these column lists (per kind); a header must match one of them in order
 *    (names compared lowercase, without accents or punctuation), else the file is `wrong_schema`; a file without a
 *    header takes the layout whose width is the record's;
 *  - no `layouts`: the header names the columns, in any order; an unknown or repeated column, a required field's
 *    column missing, or none of a `one_group_of` check's groups complete is `bad_header`. Without a header, each
 *    field gives its `position`.
 */
const CsvField = z
  .object({
    ...fieldRules,
    /** Header names of the column (default: the field's name); compared lowercase, without accents or punctuation. */
    column: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** 1-based column, for a file without header and without layouts. */
    position: z.number().int().min(1).optional(),
  })
  .strict()

export const CsvRecordsDeclarationSchema = z
  .object({
    type: z.literal('csv-records'),
    ...commonOptions,
    delimiter: z.string().length(1).default(';'),
    /** The quote character, or false when fields are never quoted. */
    quote: z.union([z.string().length(1), z.literal(false)]).default('"'),
    /** Whether the first non-blank line is a header. */
    header: z.boolean().default(true),
    /** Fixed column lists (field names), per kind (all kinds when `kinds` is omitted). */
    layouts: z.array(z.object({ name: z.string().min(1), kinds: z.array(z.string()).min(1).optional(), columns: z.array(z.string()).min(1) }).strict()).min(1).optional(),
    fields: z.array(CsvField).min(1),
  })
  .strict()
  .superRefine((d, ctx) => {
    checkCommon(d, ctx)
    const names = new Set(d.fields.map((f) => f.name))
    const kinds = new Set((d.kinds ?? []).map((k) => k.kind))
    for (const [i, layout] of (d.layouts ?? []).entries()) {
      for (const c of layout.columns) if (!names.has(c)) ctx.addIssue({ code: 'custom', path: ['layouts', i, 'columns'], message: `column "${c}" is not a declared field` })
      for (const k of layout.kinds ?? []) if (!kinds.has(k)) ctx.addIssue({ code: 'custom', path: ['layouts', i, 'kinds'], message: `kind "${k}" is not one of format.kinds` })
    }
    if (!d.header && !d.layouts) {
      for (const [i, f] of d.fields.entries()) {
        if (f.position === undefined) ctx.addIssue({ code: 'custom', path: ['fields', i, 'position'], message: 'a file without header nor layouts needs each field\'s position' })
      }
    }
  })

export type CsvRecordsDeclaration = z.infer<typeof CsvRecordsDeclarationSchema>
