import { z } from 'zod'
import { parseDuration, type Duration } from './duration.ts'

/**
 * A retention policy, `flows/retention/<id>.yaml` (the file name is the id). Flows name the policy that governs
 * the data they bring (`retention: france-travail`); purposes name the policy of the data they use; the gateway's
 * own data (audit log, rejections, staging files, tokens) has policies of its own.
 *
 * Data goes through up to three phases: `active` (in the operational base, served to purposes) → `archive` (moved to
 * the separate `archive` schema, only the fields the archive keeps, readable only through an audited break-glass
 * command) → destroyed (hard delete everywhere, with a receipt in the audit log). Each phase's end is
 * `anchor + duration`, counted from the anchor (not from the end of the previous phase), as the legal texts do:
 * "five months from transmission, then archived up to six years from transmission".
 */

/**
 * What starts a clock.
 * - `transmission`: the date the information was (last) transmitted: a row's `transmitted_at`; a re-transmission of
 *   the same information restarts the clock.
 * - `end_of_right`: the end of the RSA right: `dossiers.date_cloture` when the right is closed (ETATDOSRSA 5 or 6),
 *   refused (ETATDOSRSA 1: `date_refus`), or `not_transmitted_since` once the organisme stopped transmitting the
 *   dossier; for France Travail, the date of a cessation or radiation. While the right is open, the clock has not
 *   started and the data stays active.
 * - `last_activity`: the last change seen on the data (a state change, a new value), not a mere re-transmission.
 * - `decision`: the date of the last decision on the right (refusal, closure, suspension; cessation or radiation).
 * - `event`: when a record of the gateway's own happened (audit events, rejections: the file's load; tokens: their
 *   expiry or revocation).
 */
export const ANCHORS = ['transmission', 'end_of_right', 'last_activity', 'decision', 'event'] as const
export type Anchor = (typeof ANCHORS)[number]

/**
 * What a policy governs.
 * - `flow-data`: the canonical rows (dossiers, members, persons, France Travail registrations, their state changes)
 *   brought by the flows that name this policy.
 * - `purpose`: a purpose's own retention limit (it may be shorter than its source flows' policy: data past it is no
 *   longer served to that purpose). Validated and reported; storage itself follows the flows' policies.
 * - `audit-log`: audit events (the hash chain is kept verifiable through `audit_truncations`).
 * - `rejections`: rejected-record rows (value-free, but linked to a file of personal data).
 * - `staging-files`: files left in the staging directory (normally deleted as soon as a file is loaded or rejected).
 * - `extract-files`: statistical extract files (CSV, manifest, leftovers of an interrupted write) in the extracts
 *   directory of scheduled extracts, kept for recipients to download, then deleted.
 * - `api-tokens`: expired or revoked API tokens.
 * - `matching-queue`: rows of the matching queue (France Travail records without a NIR waiting for an operator, or
 *   resolved), dated by the last file that brought them, or by their resolution.
 */
export const POLICY_SCOPES = ['flow-data', 'purpose', 'audit-log', 'rejections', 'staging-files', 'extract-files', 'api-tokens', 'matching-queue'] as const
export type PolicyScope = (typeof POLICY_SCOPES)[number]

const DurationText = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'must be an ISO-8601 duration such as P5M, P6Y, P36M, P1Y6M or P0D')

const PhaseSchema = z.object({
  /** How long after the anchor the phase ends (ISO-8601: P5M, P6Y, P36M, P0D). */
  duration: DurationText,
  anchor: z.enum(ANCHORS),
})

const ArchivePhaseSchema = PhaseSchema.extend({
  /** Why the archive is kept (intermediate archiving: litigation, recovery of undue payments, audits). */
  purpose: z.string().min(1),
  /**
   * Canonical field ids (src/model/fields.ts) the archive keeps; every other field is dropped when data moves to
   * the archive. Key fields (numdemrsa, organisme, the match key...) are always kept: the archive must stay
   * findable by dossier.
   */
  keeps: z.array(z.string().min(1)).default([]),
})

const SourceSchema = z.object({
  /** The legal text or published rule, verbatim reference: `Art. R. 262-106 CASF`. */
  text: z.string().min(1),
  url: z.string().url().optional(),
  /** Why this rule and duration were chosen (the DPO's justification). */
  justification: z.string().min(1),
})

/**
 * What becomes of the rows that depend on the data a policy governs when it leaves the active base (issue 13,
 * point 9): one sentence per kind of dependent row, read by people (the DPO, the register), applied by the SQL of
 * queries.ts and migration 0120.
 */
export const DEPENDENT_ROWS = [
  'persons',
  'france_travail_registrations',
  'assignments',
  'limitations',
  'contested_fields',
  'oppositions',
  'rights_requests',
  'legal_holds',
  'return',
] as const

const DependentsSchema = z.object(Object.fromEntries(DEPENDENT_ROWS.map((k) => [k, z.string().min(1).optional()])) as Record<(typeof DEPENDENT_ROWS)[number], z.ZodOptional<z.ZodString>>).strict()

export const RetentionPolicySchema = z
  .object({
    title: z.string().min(1),
    description: z.string().optional(),
    /** What becomes of dependent rows when the governed data leaves the active base. */
    dependents: DependentsSchema.optional(),
    applies_to: z.enum(POLICY_SCOPES),
    source: z.union([SourceSchema, z.array(SourceSchema).min(1)]).transform((s) => (Array.isArray(s) ? s : [s])),
    phases: z.object({
      active: PhaseSchema,
      /** Absent: the data is destroyed at the end of the active phase, never archived. */
      archive: ArchivePhaseSchema.optional(),
      /** Destruction: due `after` the end of the previous phase (P0D: on that very day). */
      destroy: z.object({ after: DurationText.default('P0D') }).default({ after: 'P0D' }),
    }),
  })
  .strict()

export type RetentionPolicyDeclaration = z.infer<typeof RetentionPolicySchema>

export interface RetentionPhase {
  duration: Duration
  durationText: string
  anchor: Anchor
}

export interface RetentionPolicy {
  id: string
  title: string
  description: string | undefined
  dependents: Partial<Record<(typeof DEPENDENT_ROWS)[number], string>>
  appliesTo: PolicyScope
  sources: { text: string; url: string | undefined; justification: string }[]
  active: RetentionPhase
  archive: (RetentionPhase & { purpose: string; keeps: string[] }) | undefined
  destroyAfter: Duration
  destroyAfterText: string
}

/** The anchors that make sense for each scope (a policy using another is a declaration error). */
export const ANCHORS_BY_SCOPE: Record<PolicyScope, readonly Anchor[]> = {
  'flow-data': ['transmission', 'end_of_right', 'last_activity', 'decision'],
  purpose: ['transmission', 'end_of_right', 'last_activity', 'decision'],
  'audit-log': ['event'],
  rejections: ['event'],
  'staging-files': ['event'],
  'extract-files': ['event'],
  'api-tokens': ['event'],
  'matching-queue': ['event'],
}

export function toRetentionPolicy(id: string, d: RetentionPolicyDeclaration): RetentionPolicy {
  const phase = (p: { duration: string; anchor: Anchor }): RetentionPhase => ({
    duration: parseDuration(p.duration)!,
    durationText: p.duration,
    anchor: p.anchor,
  })
  return {
    id,
    title: d.title,
    description: d.description,
    dependents: Object.fromEntries(Object.entries(d.dependents ?? {}).filter(([, v]) => v !== undefined)) as RetentionPolicy['dependents'],
    appliesTo: d.applies_to,
    sources: d.source.map((s) => ({ text: s.text, url: s.url, justification: s.justification })),
    active: phase(d.phases.active),
    archive: d.phases.archive ? { ...phase(d.phases.archive), purpose: d.phases.archive.purpose, keeps: d.phases.archive.keeps } : undefined,
    destroyAfter: parseDuration(d.phases.destroy.after)!,
    destroyAfterText: d.phases.destroy.after,
  }
}
