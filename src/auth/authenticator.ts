import type { Principal } from './principal.ts'

/**
 * The seam between the API and how callers prove who they are. Today: bearer API tokens
 * (createTokenAuthenticator). An OIDC authenticator (ProConnect / the département's IdP) would verify an ID or
 * access token, map its subject to a user, and take the purpose from a claim or a header: the API does not change.
 */
export interface Authenticator {
  /** Never throws for bad credentials: says why they were refused (for the audit log, not for the caller). */
  authenticate(request: { authorization: string | undefined }, now: Date): Promise<AuthOutcome>
  /** Forgets cached credentials (called when users, tokens or organisations change in this process). */
  invalidate?(): void
}

export type AuthFailure =
  | 'missing_credentials'
  | 'malformed_credentials'
  | 'unknown_token'
  | 'expired_token'
  | 'revoked_token'
  | 'inactive_user'
  | 'organisation_mismatch'
  | 'unknown_purpose'
  | 'purpose_not_allowed'

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; reason: AuthFailure; credentialId?: number; actor?: string }
