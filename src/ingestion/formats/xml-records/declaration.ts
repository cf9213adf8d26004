import { z } from 'zod'
import { checkCommon, commonOptions, fieldRules } from '../declared/declaration.ts'

/**
 * The `format:` block of a flow in an XML shape (`type: xml-records`): a root, an optional header element before
 * the records, the record element repeated, an optional trailer after them; each field a path of element names
 * below the record (`individu/nir`: the first element of that name at each step). The header and trailer may be
 * checked (`equals`: a path and the value the flow expects) and one of them may carry the record count (`count`),
 * checked against the records read (`count_mismatch`). The XML declaration's encoding wins over `encoding`.
 */
const ElementName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.:-]*$/, 'must be an XML element name')
const ElementPath = z
  .string()
  .min(1)
  .refine((p) => p.split('/').every((s) => /^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(s)), 'must be element names separated by /, relative to the element (attributes are not read)')

const EnvVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable, not its value')

const Envelope = z
  .object({
    element: ElementName,
    /** Paths below the element and the text each must have (else the file is rejected `bad_header`). */
    equals: z.record(ElementPath, z.string()).default({}),
    /** Path below the element of the number of records the file holds. */
    count: ElementPath.optional(),
    /**
     * Whom the file is for: the path holding the recipient's code and the environment variable holding this
     * deployment's (the département's code, `PASSERELLE_DEPARTEMENT`). Another code rejects the file whole
     * `wrong_recipient`; the variable unset is a configuration error (the file stays for the next run).
     */
    recipient: z.object({ path: ElementPath, env: EnvVarName }).strict().optional(),
  })
  .strict()

const XmlField = z.object({ ...fieldRules, path: ElementPath }).strict()

export const XmlRecordsDeclarationSchema = z
  .object({
    type: z.literal('xml-records'),
    ...commonOptions,
    /** The root element (checked when given). */
    root: ElementName.optional(),
    /** The element of one record, a child of the root. */
    record: ElementName,
    header: Envelope.optional(),
    trailer: Envelope.optional(),
    fields: z.array(XmlField).min(1),
  })
  .strict()
  .superRefine((d, ctx) => {
    checkCommon(d, ctx)
    if (d.header?.count && d.trailer?.count) ctx.addIssue({ code: 'custom', path: ['trailer', 'count'], message: 'give the record count in the header or in the trailer, not both' })
    if (d.header?.recipient && d.trailer?.recipient) ctx.addIssue({ code: 'custom', path: ['trailer', 'recipient'], message: 'give the recipient in the header or in the trailer, not both' })
    if (d.header?.element === d.record || d.trailer?.element === d.record) ctx.addIssue({ code: 'custom', path: ['record'], message: 'the record element cannot be the header or trailer element' })
  })

export type XmlRecordsDeclaration = z.infer<typeof XmlRecordsDeclarationSchema>
