/**
 * The NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale"): 13 characters plus a 2-digit key.
 * Flows carry either the 13 characters alone (the CAF fixtures, France Travail) or all 15 (the XSD allows it).
 * Key: 97 - (NIR13 mod 97), with Corsica's 2A read as 19 and 2B as 18 (rdv-insertion, flows.md §1.5).
 */
const NIR13 = /^[1-478]\d{2}(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2[AB])\d{6}$/

export function isNir13(value: string): boolean {
  return NIR13.test(value)
}

export function nirKey(nir13: string): string {
  const numeric = /[AaBb]/.test(nir13) ? nir13.toUpperCase().replace('2A', '19').replace('2B', '18') : nir13
  // 13 digits stay below 2^53: exact as a double, no BigInt needed.
  const key = 97 - (Number(numeric) % 97)
  return key < 10 ? `0${key}` : String(key)
}

export type NirCheck = { ok: true; nir13: string } | { ok: false; rule: 'nir_format' | 'nir_key' }

/** Checks a 13- or 15-character NIR (spaces ignored); returns its first 13 characters when valid. */
export function checkNir(raw: string): NirCheck {
  const value = /[\sab]/.test(raw) ? raw.replace(/\s+/g, '').toUpperCase() : raw
  if (value.length !== 13 && value.length !== 15) return { ok: false, rule: 'nir_format' }
  const nir13 = value.slice(0, 13)
  if (!isNir13(nir13)) return { ok: false, rule: 'nir_format' }
  if (value.length === 15) {
    const key = value.slice(13)
    if (!/^\d{2}$/.test(key) || key !== nirKey(nir13)) return { ok: false, rule: 'nir_key' }
  }
  return { ok: true, nir13 }
}
