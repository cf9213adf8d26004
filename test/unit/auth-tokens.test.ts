import { describe, expect, it } from 'vitest'
import { bearerToken, generateApiToken, hashApiToken, looksLikeApiToken, sameTokenHash, tokenExpiry, TOKEN_PREFIX } from '../../src/auth/api-token.ts'
import { purposeAllows } from '../../src/access/purpose-allows.ts'
import { completeSiret, isSiret } from '../../src/auth/siret.ts'

describe('API tokens', () => {
  it('are 256 random bits with a recognisable prefix, stored as their SHA-256 only', () => {
    const tokens = Array.from({ length: 200 }, () => generateApiToken())
    for (const { token, hash } of tokens) {
      expect(token.startsWith(TOKEN_PREFIX)).toBe(true)
      expect(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')).toHaveLength(32)
      expect(looksLikeApiToken(token)).toBe(true)
      expect(hash).toMatch(/^[0-9a-f]{64}$/)
      expect(hash).toBe(hashApiToken(token))
      expect(hash).not.toContain(token.slice(TOKEN_PREFIX.length, 20))
    }
    expect(new Set(tokens.map((t) => t.token)).size).toBe(200)
  })

  it('compares hashes in constant time and refuses malformed ones', () => {
    const { hash } = generateApiToken()
    expect(sameTokenHash(hash, hash)).toBe(true)
    expect(sameTokenHash(hash, generateApiToken().hash)).toBe(false)
    expect(sameTokenHash(hash, 'zz')).toBe(false)
  })

  it('reads only well-formed bearer headers', () => {
    const { token } = generateApiToken()
    expect(bearerToken(`Bearer ${token}`)).toBe(token)
    expect(bearerToken(`bearer ${token}`)).toBe(token)
    expect(bearerToken(`Basic ${token}`)).toBeUndefined()
    expect(bearerToken('Bearer a b')).toBeUndefined()
    expect(bearerToken(undefined)).toBeUndefined()
    expect(looksLikeApiToken(`${token}x`)).toBe(false)
    expect(looksLikeApiToken("psl_' or 1=1 --")).toBe(false)
  })

  it('computes expiries from lifetimes', () => {
    const from = new Date('2026-01-31T10:00:00Z')
    expect(tokenExpiry('90d', from)?.toISOString()).toBe('2026-05-01T10:00:00.000Z')
    expect(tokenExpiry('12h', from)?.toISOString()).toBe('2026-01-31T22:00:00.000Z')
    expect(tokenExpiry('2w', from)?.toISOString()).toBe('2026-02-14T10:00:00.000Z')
    expect(tokenExpiry('1y', from)?.toISOString()).toBe('2027-01-31T10:00:00.000Z')
    for (const bad of ['0d', '90', 'd', '-1d', '1.5d', '90 days']) expect(tokenExpiry(bad, from)).toBeUndefined()
  })

  it('binds a purpose to the roles and organisation types its recipients name', () => {
    const purpose = { recipients: [{ role: 'referent' as const, organisation_types: ['ccas' as const, 'association' as const] }] }
    expect(purposeAllows(purpose, 'referent', 'ccas')).toBe(true)
    expect(purposeAllows(purpose, 'referent', 'departement')).toBe(false)
    expect(purposeAllows(purpose, 'structure-manager', 'ccas')).toBe(false)
  })
})

describe('SIRET', () => {
  it('checks the Luhn key, and La Poste’s own rule', () => {
    expect(isSiret('73282932000074')).toBe(true)
    expect(isSiret('73282932000075')).toBe(false)
    expect(isSiret('7328293200007')).toBe(false)
    expect(isSiret('7328293200007A')).toBe(false)
    expect(isSiret('35600000049837')).toBe(true)
    expect(isSiret('35600000049838')).toBe(false)
    expect(isSiret(completeSiret('2175000000001'))).toBe(true)
  })
})
