/**
 * SIRET: 14 digits whose Luhn checksum is valid (the SIREN, its first 9 digits, has its own Luhn key). La Poste's
 * establishments (SIREN 356000000) follow a different rule: the digits sum to a multiple of 5.
 */
export function isSiret(value: string): boolean {
  if (!/^\d{14}$/.test(value)) return false
  if (value.startsWith('356000000')) {
    let sum = 0
    for (const c of value) sum += Number(c)
    return sum % 5 === 0
  }
  return luhn(value)
}

function luhn(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i])
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** Completes a 13-digit prefix with the digit that makes a valid SIRET (test fixtures and the benchmark). */
export function completeSiret(prefix13: string): string {
  for (let d = 0; d <= 9; d++) if (isSiret(prefix13 + d)) return prefix13 + d
  throw new Error(`no SIRET completes ${prefix13.length} digits`)
}
