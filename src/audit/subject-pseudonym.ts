import { createHmac } from 'node:crypto'

/**
 * The audit subject: a keyed pseudonym of a person's match key (itself a keyed blind index). Stable, so the DPO
 * can answer "who accessed this person's file"; meaningless without the keys.
 */
export function auditSubject(pseudonymKey: Buffer, personMatchKey: string): string {
  // A portfolio page names 50 subjects: the pseudonyms last computed are kept (a keyed hash each, per key).
  let known = recent.get(pseudonymKey)
  if (!known) recent.set(pseudonymKey, (known = new Map()))
  let subject = known.get(personMatchKey)
  if (subject === undefined) {
    subject = 'p_' + createHmac('sha256', pseudonymKey).update(`audit-subject|${personMatchKey}`).digest('base64url').slice(0, 32)
    if (known.size >= RECENT_SUBJECTS) known.clear()
    known.set(personMatchKey, subject)
  }
  return subject
}

/** How many subject pseudonyms are kept per key (about 100 bytes each). */
const RECENT_SUBJECTS = 20_000
const recent = new WeakMap<Buffer, Map<string, string>>()

/** Pseudonym of a dossier as an audit subject (dossier-level actions such as legal holds). */
export function auditDossierSubject(pseudonymKey: Buffer, organisme: string, numdemrsa: string): string {
  return 'd_' + createHmac('sha256', pseudonymKey).update(`audit-dossier|${organisme}|${numdemrsa}`).digest('base64url').slice(0, 32)
}
