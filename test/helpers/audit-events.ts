import type { AuditEventInput } from '../../src/audit/chain.ts'

/** The `i`-th API read of a referent at `at`: an audit event of no particular person (subject `p_<i>`). */
export function apiReadEvent(i: number, at: Date): AuditEventInput {
  return {
    occurredAt: at,
    actor: 'referent@example.org',
    organisation: '21750001600019',
    purpose: 'accompagnement-rsa',
    action: 'api.beneficiaire.read',
    subject: `p_${i}`,
    outcome: 'granted',
    requestId: `r-${i}`,
    clientAddress: '127.0.0.1',
    details: { status: 200 },
  }
}
