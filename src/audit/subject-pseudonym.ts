import { createHmac } from 'node:crypto'

/**
 * The audit subject: a keyed pseudonym of a person's match key (itself a keyed blind index). Stable, so the DPO
 * can answer "who accessed this person's file"; meaningless without the keys.
 */
export function auditSubject(pseudonymKey: Buffer, personMatchKey: string): string {
  return 'p_' + createHmac('sha256', pseudonymKey).update(`audit-subject|${personMatchKey}`).digest('base64url').slice(0, 32)
}

/** Pseudonym of a dossier as an audit subject (dossier-level actions such as legal holds). */
export function auditDossierSubject(pseudonymKey: Buffer, organisme: string, numdemrsa: string): string {
  return 'd_' + createHmac('sha256', pseudonymKey).update(`audit-dossier|${organisme}|${numdemrsa}`).digest('base64url').slice(0, 32)
}
