import { createHmac } from 'node:crypto'
import { normaliseName } from '../matching/normalise-name.ts'

/**
 * Keyed blind indexes: deterministic for lookups and matching, useless without the key (a NIR has too little
 * entropy for an unkeyed hash to protect it).
 */
function hmac(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('base64url')
}

/** Matches a person across flows: the NIR's first 13 digits and the birth date (YYYY-MM-DD). */
export function personMatchKey(key: Buffer, nir13: string, birthDate: string): string {
  return hmac(key, `person|${nir13.toUpperCase()}|${birthDate}`)
}

/**
 * A person the flow gives no NIR for (children often have none): matched within their dossier on birth
 * name, first name, birth date and birth rank, as WebRSA does.
 */
export function personWithoutNirMatchKey(
  key: Buffer,
  dossier: { organisme: string; numdemrsa: string },
  identity: { nomNaissance: string; prenom: string; dateNaissance: string; rang?: string | undefined },
): string {
  const norm = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toUpperCase().replace(/[^A-Z]/g, '')
  return hmac(
    key,
    `person-sans-nir|${dossier.organisme}|${dossier.numdemrsa}|${norm(identity.nomNaissance)}|${norm(identity.prenom)}|${identity.dateNaissance}|${identity.rang ?? ''}`,
  )
}

/** Looks a person up by NIR alone (data-subject requests, orientations by NIR). */
export function nirIndex(key: Buffer, nir13: string): string {
  return hmac(key, `nir|${nir13.toUpperCase()}`)
}

/**
 * The identity index of a person: normalised birth name, first name and birth date (YYYY-MM-DD), keyed. Files
 * without a NIR (France Travail SPIE) are matched on it when it designates exactly one person of the active base
 * (src/matching/). Undefined when a part is empty once normalised (no identity to compare).
 */
export function identityIndex(key: Buffer, identity: { nomNaissance: string | undefined; prenom: string | undefined; dateNaissance: string | undefined }): string | undefined {
  const nom = normaliseName(identity.nomNaissance ?? '')
  const prenom = normaliseName(identity.prenom ?? '')
  const date = identity.dateNaissance ?? ''
  if (!nom || !prenom || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined
  return hmac(key, `identity|${nom}|${prenom}|${date}`)
}
