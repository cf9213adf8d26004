import { decryptNir, encryptNir } from '../crypto/nir-cipher.ts'

/**
 * The identity of a queued record, as the file spelt it: what an operator needs to decide which person it is
 * (src/matching/). Sealed with AES-GCM under the NIR key (nir-cipher.ts) in `matching_queue.identity_sealed`, opened
 * only for the DPO/admin view and the CLI's listing, never logged; wiped once the row is resolved.
 */
export interface QueuedIdentity {
  nomNaissance: string
  prenom: string
  dateNaissance: string
  identifiantFranceTravail: string | null
}

export function sealIdentity(key: Buffer, identity: QueuedIdentity): Buffer {
  return encryptNir(key, JSON.stringify([identity.nomNaissance, identity.prenom, identity.dateNaissance, identity.identifiantFranceTravail]))
}

export function openIdentity(key: Buffer, sealed: Buffer): QueuedIdentity {
  const [nomNaissance, prenom, dateNaissance, identifiantFranceTravail] = JSON.parse(decryptNir(key, sealed)) as [string, string, string, string | null]
  return { nomNaissance, prenom, dateNaissance, identifiantFranceTravail }
}
