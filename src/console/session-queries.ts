import type { User } from '../auth/users.ts'
import { createHash, randomBytes } from 'node:crypto'
import type { Queryable } from '../db/db.ts'
import type { Role } from '../purposes/purpose.ts'

/**
 * The console's server-side state: sign-ins in progress (OIDC state → PKCE verifier and nonce, a few minutes) and
 * signed-in sessions. The browser holds only random secrets; the table holds their SHA-256.
 */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex')
export const randomSecret = (): string => randomBytes(32).toString('base64url')

export async function insertSignIn(db: Queryable, input: { state: string; codeVerifier: string; nonce: string; expiresAt: Date }): Promise<void> {
  await db.query(
    `insert into console_sign_ins (state_hash, code_verifier, nonce, expires_at)
     values ($1, $2, $3, $4)`,
    [sha256(input.state), input.codeVerifier, input.nonce, input.expiresAt],
  )
}

/** Takes a sign-in once: the row is deleted whether or not it is still valid. */
export async function takeSignIn(db: Queryable, state: string, now: Date): Promise<{ codeVerifier: string; nonce: string } | undefined> {
  const { rows } = await db.query<{ code_verifier: string; nonce: string; expires_at: Date }>(
    `delete from console_sign_ins
     where state_hash = $1
     returning code_verifier, nonce, expires_at`,
    [sha256(state)],
  )
  const row = rows[0]
  if (!row || new Date(row.expires_at) <= now) return undefined
  return { codeVerifier: row.code_verifier, nonce: row.nonce }
}

export interface ConsoleSessionInput {
  userId: number
  organisationId: number
  purpose: string
  oidcSubject: string
  acr: string | null
  amr: string | null
  idToken: string | null
  expiresAt: Date
}

export interface ConsoleSession extends ConsoleSessionInput {
  id: number
  csrfToken: string
  createdAt: Date
}

/** Creates a session; returns it with the secret for the cookie (only its hash is stored). */
export async function insertSession(db: Queryable, input: ConsoleSessionInput): Promise<{ session: ConsoleSession; secret: string }> {
  const secret = randomSecret()
  const csrfToken = randomSecret()
  const { rows } = await db.query<{ id: number; created_at: Date }>(
    `insert into console_sessions (secret_hash, csrf_token, user_id, organisation_id, purpose, oidc_subject, acr, amr, id_token, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     returning id, created_at`,
    [sha256(secret), csrfToken, input.userId, input.organisationId, input.purpose, input.oidcSubject, input.acr, input.amr, input.idToken, input.expiresAt],
  )
  return { session: { ...input, id: Number(rows[0]!.id), csrfToken, createdAt: new Date(rows[0]!.created_at) }, secret }
}

interface SessionRow {
  id: number
  csrf_token: string
  user_id: number
  organisation_id: number
  purpose: string
  oidc_subject: string
  acr: string | null
  amr: string | null
  id_token: string | null
  created_at: Date
  expires_at: Date
}

/** The signed-in agent: the declared user (src/auth/users.ts), as the session query reads it. */
export type SessionUser = Omit<User, 'createdAt'>

/** The live session a cookie secret names, with its user and their organisation as they are now (one query). */
export async function findSession(db: Queryable, secret: string, now: Date): Promise<(ConsoleSession & { user: SessionUser }) | undefined> {
  const { rows } = await db.query<
    SessionRow & { public_id: string; email: string; display_name: string; role: Role; active: boolean; user_organisation_id: number; organisation_public_id: string; siret: string; organisation_name: string; organisation_type: string }
  >(
    `select s.id, s.csrf_token, s.user_id, s.organisation_id, s.purpose, s.oidc_subject, s.acr, s.amr, s.id_token, s.created_at, s.expires_at,
            u.public_id, u.email, u.display_name, u.role, u.active,
            o.id as user_organisation_id, o.public_id as organisation_public_id, o.siret, o.name as organisation_name, o.type as organisation_type
     from console_sessions s
     join users u on u.id = s.user_id
     join organisations o on o.id = u.organisation_id
     where s.secret_hash = $1
       and s.expires_at > $2`,
    [sha256(secret), now],
    { prepare: true },
  )
  const r = rows[0]
  if (!r) return undefined
  return {
    user: {
      id: Number(r.user_id),
      publicId: r.public_id,
      email: r.email,
      displayName: r.display_name,
      role: r.role,
      active: r.active,
      organisation: { id: Number(r.user_organisation_id), publicId: r.organisation_public_id, siret: r.siret, name: r.organisation_name, type: r.organisation_type },
    },
    id: Number(r.id),
    csrfToken: r.csrf_token,
    userId: Number(r.user_id),
    organisationId: Number(r.organisation_id),
    purpose: r.purpose,
    oidcSubject: r.oidc_subject,
    acr: r.acr,
    amr: r.amr,
    idToken: r.id_token,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
  }
}

/** Changes the purpose a session acts under (the caller checks that it allows the user). */
export async function setSessionPurpose(db: Queryable, id: number, purpose: string): Promise<void> {
  await db.query('update console_sessions set purpose = $2 where id = $1', [id, purpose])
}

export async function deleteSession(db: Queryable, id: number): Promise<void> {
  await db.query('delete from console_sessions where id = $1', [id])
}

/** Forgets expired sessions and sign-ins. */
export async function deleteExpired(db: Queryable, now: Date): Promise<void> {
  await db.query('delete from console_sessions where expires_at <= $1', [now])
  await db.query('delete from console_sign_ins where expires_at <= $1', [now])
}
