import type { Purpose, Role } from '../purposes/purpose.ts'

/**
 * Who is calling, as established by an Authenticator: one user, acting for one organisation, under one purpose.
 * Every authorisation decision and every audit event derives from it.
 */
export interface Principal {
  user: { id: number; publicId: string; email: string; displayName: string; role: Role }
  organisation: { id: number; publicId: string; siret: string; name: string; type: string }
  purpose: Purpose
  /** How the caller authenticated, and the credential's id (an API token id, or a console session id after an OIDC sign-in). */
  credential: { kind: 'api-token' | 'console-session'; id: number; expiresAt: Date }
}
