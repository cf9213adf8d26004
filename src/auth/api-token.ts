import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * API bearer tokens: `psl_` + 256 random bits in base64url (43 characters). Only the SHA-256 of a token is stored;
 * the token itself is shown once, when created. A recognisable prefix lets secret scanners spot a leaked token.
 */
export const TOKEN_PREFIX = 'psl_'
const TOKEN_PATTERN = /^psl_[A-Za-z0-9_-]{43}$/

export function generateApiToken(): { token: string; hash: string } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  return { token, hash: hashApiToken(token) }
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** True when the text has the shape of a Passerelle token (cheap check before any database access). */
export function looksLikeApiToken(text: string): boolean {
  return TOKEN_PATTERN.test(text)
}

/** Compares two hex SHA-256 digests in constant time. */
export function sameTokenHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y)
}

/** Extracts the token of an `Authorization: Bearer <token>` header; undefined when absent or malformed. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined
  const m = /^Bearer ([^\s]{1,200})$/i.exec(authorization.trim())
  return m?.[1]
}

const LIFETIME = /^(\d{1,4})([hdwmy])$/
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const

/**
 * A token lifetime such as `12h`, `90d`, `2w`, `6m` or `1y` (months and years are calendar months and years).
 * Returns the expiry instant, or undefined when the text is not a lifetime.
 */
export function tokenExpiry(lifetime: string, from: Date): Date | undefined {
  const m = LIFETIME.exec(lifetime.trim())
  if (!m) return undefined
  const n = Number(m[1])
  if (n === 0) return undefined
  const unit = m[2] as 'h' | 'd' | 'w' | 'm' | 'y'
  if (unit === 'm' || unit === 'y') {
    const d = new Date(from)
    d.setUTCMonth(d.getUTCMonth() + (unit === 'm' ? n : 12 * n))
    return d
  }
  return new Date(from.getTime() + n * UNIT_MS[unit])
}
