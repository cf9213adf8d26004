import type { Queryable } from '../db/db.ts'
import type { Logger } from '../log/logger.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { bearerToken, hashApiToken, looksLikeApiToken, sameTokenHash } from './api-token.ts'
import { findApiTokenGrant, touchApiTokens, type ApiTokenGrant } from './api-tokens.ts'
import type { Authenticator, AuthOutcome } from './authenticator.ts'
import { purposeAllows } from '../access/purpose-allows.ts'

export interface TokenAuthenticatorOptions {
  /** `last_used_at` is written at most once per this many milliseconds per token (default 60 s). */
  touchEveryMs?: number
  /**
   * How long a token found valid is trusted without reading the database again (default 0: every request reads
   * it). Expiry is still checked at every request; a revocation or a deactivation made by another process (the
   * CLI) takes effect within this delay; one made through this process's admin API at once (`invalidate`).
   */
  cacheMs?: number
  log?: Logger
}

/**
 * Bearer API tokens. Every request re-reads the token, its user and organisation, and re-checks the purpose's
 * recipients against the current declarations: a revoked token, a deactivated user or a purpose that no longer
 * names the user's role stops working at once.
 */
export function createTokenAuthenticator(
  db: Queryable,
  purposes: ReadonlyMap<string, Purpose>,
  options: TokenAuthenticatorOptions = {},
): Authenticator {
  const touchEveryMs = options.touchEveryMs ?? 60_000
  const cacheMs = options.cacheMs ?? 0
  const touched = new Map<number, number>()
  const cache = new Map<string, { grant: ApiTokenGrant; readAt: number }>()

  const touch = (id: number, now: Date) => {
    const last = touched.get(id)
    if (last !== undefined && now.getTime() - last < touchEveryMs) return
    touched.set(id, now.getTime())
    if (touched.size > 100_000) touched.clear()
    touchApiTokens(db, [id], now).catch((error: unknown) => options.log?.warn({ err: error, tokenId: id }, 'token last use not recorded'))
  }

  return {
    invalidate() {
      cache.clear()
    },
    async authenticate({ authorization }, now): Promise<AuthOutcome> {
      if (!authorization) return { ok: false, reason: 'missing_credentials' }
      const token = bearerToken(authorization)
      if (!token || !looksLikeApiToken(token)) return { ok: false, reason: 'malformed_credentials' }
      const hash = hashApiToken(token)
      const cached = cacheMs > 0 ? cache.get(hash) : undefined
      let grant: ApiTokenGrant | undefined
      if (cached && now.getTime() - cached.readAt < cacheMs && now.getTime() >= cached.readAt) grant = cached.grant
      else {
        grant = await findApiTokenGrant(db, hash)
        if (cacheMs > 0) {
          if (grant) {
            if (cache.size >= 10_000) cache.clear()
            cache.set(hash, { grant, readAt: now.getTime() })
          } else cache.delete(hash)
        }
      }
      if (!grant || !sameTokenHash(grant.tokenHash, hash)) return { ok: false, reason: 'unknown_token' }
      const refused = (reason: Exclude<AuthOutcome, { ok: true }>['reason']): AuthOutcome => ({
        ok: false,
        reason,
        credentialId: grant.id,
        actor: grant.user.email,
      })
      if (grant.revokedAt && grant.revokedAt.getTime() <= now.getTime()) return refused('revoked_token')
      if (grant.expiresAt.getTime() <= now.getTime()) return refused('expired_token')
      if (!grant.user.active) return refused('inactive_user')
      if (grant.user.organisationId !== grant.tokenOrganisationId) return refused('organisation_mismatch')
      const purpose = purposes.get(grant.purpose)
      if (!purpose) return refused('unknown_purpose')
      if (!purposeAllows(purpose, grant.user.role, grant.organisation.type)) return refused('purpose_not_allowed')
      touch(grant.id, now)
      return {
        ok: true,
        principal: {
          user: { id: grant.user.id, publicId: grant.user.publicId, email: grant.user.email, displayName: grant.user.displayName, role: grant.user.role },
          organisation: grant.organisation,
          purpose,
          credential: { kind: 'api-token', id: grant.id, expiresAt: grant.expiresAt },
        },
      }
    },
  }
}
