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
/**
 * The file's nature, read in the header (CNAF `IdentificationFlux/NATFLUX`): a file of another nature is rejected
 * whole with rule `wrong_flow_nature` before any record is read, the message naming both natures by `names` (codes
 * of the list only, never another value read from the file).
 */
const Nature = z
  .object({
    path: ElementPath,
    accepts: z.array(z.string().min(1)).min(1),
    /** What each code of the list is called in messages, e.g. `{ D: beneficiary, I: instruction }`. */
    names: z.record(z.string(), z.string().regex(/^[a-z][a-z ]*$/, 'lowercase words')).default({}),
  })
  .strict()

const Envelope = z
  .object({
    element: ElementName,
    nature: Nature.optional(),
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

/**
 * A repeated child of the record read once per occurrence (a foyer's persons): its fields' paths are relative to
 * it, and the record carries one set of values per occurrence (`DeclaredRecord.members`). A member breaking a rule
 * rejects the whole record, its issue naming `<element>[i].<field>`.
 */
const Members = z
  .object({
    element: ElementName,
    /** Fewest occurrences a record has (rule `members_missing`). */
    min: z.number().int().min(0).default(1),
    fields: z.array(XmlField).min(1),
  })
  .strict()

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
    members: Members.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    checkCommon(d, ctx, d.members?.fields)
    if (d.header?.count && d.trailer?.count) ctx.addIssue({ code: 'custom', path: ['trailer', 'count'], message: 'give the record count in the header or in the trailer, not both' })
    if (d.header?.recipient && d.trailer?.recipient) ctx.addIssue({ code: 'custom', path: ['trailer', 'recipient'], message: 'give the recipient in the header or in the trailer, not both' })
    if (d.header?.element === d.record || d.trailer?.element === d.record) ctx.addIssue({ code: 'custom', path: ['record'], message: 'the record element cannot be the header or trailer element' })
  })

export type XmlRecordsDeclaration = z.infer<typeof XmlRecordsDeclarationSchema>
