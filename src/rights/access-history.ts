import type { Purpose } from '../purposes/purpose.ts'
import { ORGANISATION_TYPE_LABELS } from '../register/labels.ts'
import { ACCESS_ACTION_LABELS, OUTCOME_EVENT_LABELS } from './labels.ts'

/**
 * "Who accessed my file" (art. 15(1)(c), after Estonia's Data Tracker): the audit events about the person, turned
 * into entries the person may read. Pure: the events come from the audit log (searched by the person's pseudonym,
 * as subject or among the persons a list page served).
 *
 * What an entry says: when, which organisation, for which purpose, what kind of access, granted or refused.
 * What it never says, so that the history reveals nothing about anyone else (peers.md, pain point 10):
 *  - the agent (actor e-mail), the client address, the request id: the person learns which organisation consulted
 *    their data and why, not which employee (CJEU C-579/21, 22 June 2023);
 *  - anything of a list request but the fact that it included the person: no count, no filter, no other pseudonym;
 *  - the DPO's own searches of the audit log (`api.dpo.*`): they may answer someone else's complaint or a judicial
 *    requisition (third parties' dealings, art. 23); the handling of the person's own requests (`rights.*`) is shown;
 *  - events about a dossier as a whole (legal holds, break-glass archive reads) are not searched: their subject is
 *    the dossier, shared with the other members of the household;
 *  - accesses under purposes audited as `metadata` (aggregates) carry no subject and cannot appear.
 */
export interface AuditEventForHistory {
  seq: number
  occurredAt: Date
  actor: string | null
  organisation: string | null
  purpose: string | null
  action: string
  subject: string | null
  outcome: string
  details: Record<string, unknown>
}

export interface AccessEntry {
  /** ISO instant. */
  at: string
  organisation: string
  organisationType: string | null
  purpose: string | null
  purposeTitle: string | null
  /** What happened, in French. */
  nature: string
  action: string
  outcome: string
  outcomeLabel: string
}

export interface OrganisationInfo {
  name: string
  type: string
}

/** Actions that never appear in the person's history (see above). */
export function excludedFromHistory(action: string): boolean {
  return action.startsWith('api.dpo.') || action.startsWith('retention.') || action.startsWith('archive.') || action === 'api.authenticate'
}

export function accessHistory(
  events: readonly AuditEventForHistory[],
  subject: string,
  organisations: ReadonlyMap<string, OrganisationInfo>,
  purposes: ReadonlyMap<string, Pick<Purpose, 'title'>>,
): AccessEntry[] {
  const entries: AccessEntry[] = []
  for (const e of events) {
    const listed = Array.isArray(e.details.subjects) && (e.details.subjects as unknown[]).includes(subject)
    if (e.subject !== subject && !listed) continue
    if (excludedFromHistory(e.action)) continue
    const org = e.organisation ? organisations.get(e.organisation) : undefined
    const organisation = org?.name ?? (e.organisation ? `Organisme (SIRET ${e.organisation})` : e.action.startsWith('rights.') ? 'Délégué(e) à la protection des données' : 'Passerelle')
    entries.push({
      at: e.occurredAt.toISOString(),
      organisation,
      organisationType: org ? (ORGANISATION_TYPE_LABELS[org.type] ?? org.type) : null,
      purpose: e.purpose,
      purposeTitle: e.purpose ? (purposes.get(e.purpose)?.title ?? e.purpose) : null,
      nature: ACCESS_ACTION_LABELS[e.action] ?? (listed && e.subject !== subject ? ACCESS_ACTION_LABELS['api.beneficiaires.list']! : 'Opération sur vos données'),
      action: e.action,
      outcome: e.outcome,
      outcomeLabel: OUTCOME_EVENT_LABELS[e.outcome] ?? e.outcome,
    })
  }
  return entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
}
