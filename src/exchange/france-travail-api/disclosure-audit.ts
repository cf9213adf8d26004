import type { AuditEventInput } from '../../audit/chain.ts'
import { auditSubject } from '../../audit/subject-pseudonym.ts'

/**
 * The audit event of one call that sent personal data to France Travail: a NIR and birth date (rechercher-usager)
 * or a decision (orientation write). Subject pseudonym, purpose, outcome, flow, endpoint and call id; never a value.
 */
export function disclosureEvent(
  pseudonymKey: Buffer,
  input: { flowId: string; purpose: string; matchKey: string; action: 'francetravail.rechercher-usager' | 'francetravail.orientation.envoi'; ok: boolean; code: string; callId: string | undefined; at: Date },
): AuditEventInput {
  return {
    occurredAt: input.at,
    actor: `job:api:${input.flowId}`,
    organisation: 'france-travail',
    purpose: input.purpose,
    action: input.action,
    subject: auditSubject(pseudonymKey, input.matchKey),
    outcome: input.ok ? 'done' : 'failed',
    requestId: input.callId ?? null,
    clientAddress: null,
    details: { flow: input.flowId, recipient: 'france-travail', code: input.code },
  }
}
