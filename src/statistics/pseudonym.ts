import { createHmac, hkdfSync } from 'node:crypto'

/**
 * Extract pseudonyms (pure). A recipient's key of version N (see extract-keys.ts) is first narrowed to one
 * purpose and one recipient (HKDF), then each person's pseudonym is HMAC-SHA256 of the person's stable internal
 * key (persons.match_key, itself a keyed blind index), encoded in 16 base32 characters (80 bits).
 *
 * - Stable: the same person keeps the same pseudonym in every extract of one recipient and purpose, while the
 *   key version stays the same (longitudinal follow-up).
 * - Unlinkable: two recipients (or two purposes) get unrelated pseudonyms; without the key, a pseudonym cannot be
 *   recomputed from a NIR or a name, even by someone who knows them.
 */
export const PSEUDONYM_LENGTH = 16

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

/** The key of one (purpose, recipient) pair, derived from the recipient's key. */
export function derivePseudonymKey(recipientKey: Buffer, purposeId: string, recipientId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', recipientKey, 'passerelle/extract-pseudonym/v1', `${purposeId}|${recipientId}`, 32))
}

/** The pseudonym of one person, from the derived key and the person's match key. */
export function extractPseudonym(derivedKey: Buffer, personKey: string): string {
  return base32(createHmac('sha256', derivedKey).update(personKey, 'utf8').digest(), PSEUDONYM_LENGTH)
}

/** Bytes of the digest a pseudonym encodes (16 base32 characters = 80 bits). */
export const PSEUDONYM_DIGEST_BYTES = 10

/** The HMAC-SHA256 of a person's key, whose first PSEUDONYM_DIGEST_BYTES bytes make the pseudonym. */
export function pseudonymDigest(derivedKey: Buffer, personKey: string): Buffer {
  return createHmac('sha256', derivedKey).update(personKey, 'utf8').digest()
}

/** Writes the pseudonym's ASCII bytes into `target` at `offset` (columnar storage, no string per row). */
export function writePseudonym(derivedKey: Buffer, personKey: string, target: Buffer, offset: number): void {
  encodePseudonym(pseudonymDigest(derivedKey, personKey), 0, target, offset)
}

/** Encodes the digest bytes at `from` as the 16 base32 characters of a pseudonym, into `target` at `offset`. */
export function encodePseudonym(digest: Uint8Array, from: number, target: Buffer, offset: number): void {
  let bits = 0
  let value = 0
  let i = 0
  let out = 0
  while (out < PSEUDONYM_LENGTH) {
    if (bits < 5) {
      value = ((value << 8) | digest[from + i++]!) & 0xffff
      bits += 8
    }
    target[offset + out++] = ALPHABET.charCodeAt((value >>> (bits - 5)) & 31)
    bits -= 5
  }
}

/** RFC 4648 base32 (lowercase, no padding), first `length` characters. */
export function base32(bytes: Buffer, length: number): string {
  let bits = 0
  let value = 0
  let out = ''
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    value = ((value << 8) | bytes[i]!) & 0xffff
    bits += 8
    while (bits >= 5 && out.length < length) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return out
}
