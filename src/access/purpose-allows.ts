import type { Purpose } from '../purposes/purpose.ts'

/**
 * Which purpose a user may act under: one of the purpose's declared recipients names the user's role and their
 * organisation's type. Checked when a token is issued and at every request (a purpose that stops naming the role
 * stops the token at once).
 */
export function purposeAllows(purpose: Pick<Purpose, 'recipients'>, role: string, organisationType: string): boolean {
  return purpose.recipients.some((r) => r.role === role && (r.organisation_types as readonly string[]).includes(organisationType))
}
