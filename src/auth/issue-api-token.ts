import type { Queryable } from '../db/db.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { generateApiToken, tokenExpiry } from './api-token.ts'
import { insertApiToken } from './api-tokens.ts'
import { purposeAllows } from '../access/purpose-allows.ts'
import { findUserByEmail } from './users.ts'

export class TokenIssueError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TokenIssueError'
  }
}

/**
 * Issues a token for a user under a purpose whose recipients name the user's role and organisation type. Returns
 * the token (to be shown once: only its hash is stored).
 */
export async function issueApiToken(
  db: Queryable,
  purposes: ReadonlyMap<string, Purpose>,
  input: { email: string; purposeId: string; lifetime: string; label?: string | undefined },
  now: Date,
): Promise<{ id: number; token: string; expiresAt: Date }> {
  const user = await findUserByEmail(db, input.email)
  if (!user) throw new TokenIssueError('no user has this e-mail (create it with `passerelle users create`)')
  if (!user.active) throw new TokenIssueError(`user ${user.publicId} is deactivated`)
  const purpose = purposes.get(input.purposeId)
  if (!purpose) throw new TokenIssueError(`unknown purpose "${input.purposeId}" (known: ${[...purposes.keys()].sort().join(', ')})`)
  if (!purposeAllows(purpose, user.role, user.organisation.type)) {
    const allowed = purpose.recipients.map((r) => `${r.role} in ${r.organisation_types.join('/')}`).join('; ')
    throw new TokenIssueError(
      `purpose "${purpose.id}" does not name role ${user.role} in an organisation of type ${user.organisation.type} among its recipients (${allowed})`,
    )
  }
  const expiresAt = tokenExpiry(input.lifetime, now)
  if (!expiresAt) throw new TokenIssueError(`invalid lifetime "${input.lifetime}": use a number and a unit h, d, w, m or y (e.g. 90d)`)
  if (expiresAt.getTime() - now.getTime() > 366 * 86_400_000) throw new TokenIssueError('a token lives one year at most')
  const { token, hash } = generateApiToken()
  const id = await insertApiToken(db, {
    tokenHash: hash,
    userId: user.id,
    organisationId: user.organisation.id,
    purpose: purpose.id,
    label: input.label ?? null,
    createdAt: now,
    expiresAt,
  })
  return { id, token, expiresAt }
}
