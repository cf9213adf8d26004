import type { Queryable } from '../db/db.ts'
import type { Role } from '../purposes/purpose.ts'

/** Stored API tokens (hash only) and what a token resolves to. */
export interface ApiTokenInfo {
  id: number
  userEmail: string
  organisationSiret: string
  purpose: string
  label: string | null
  createdAt: Date
  expiresAt: Date
  revokedAt: Date | null
  lastUsedAt: Date | null
}

/** A token row with its user and organisation, as the authenticator needs it. */
export interface ApiTokenGrant {
  id: number
  tokenHash: string
  purpose: string
  expiresAt: Date
  revokedAt: Date | null
  tokenOrganisationId: number
  user: { id: number; publicId: string; email: string; displayName: string; role: Role; active: boolean; organisationId: number }
  organisation: { id: number; publicId: string; siret: string; name: string; type: string }
}

export async function insertApiToken(
  db: Queryable,
  input: { tokenHash: string; userId: number; organisationId: number; purpose: string; label: string | null; createdAt: Date; expiresAt: Date },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `insert into api_tokens (token_hash, user_id, organisation_id, purpose, label, created_at, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7)
     returning id`,
    [input.tokenHash, input.userId, input.organisationId, input.purpose, input.label, input.createdAt, input.expiresAt],
  )
  return rows[0]!.id
}

interface GrantRow {
  id: number
  token_hash: string
  purpose: string
  expires_at: Date
  revoked_at: Date | null
  token_organisation_id: number
  user_id: number
  user_public_id: string
  email: string
  display_name: string
  role: Role
  active: boolean
  user_organisation_id: number
  organisation_id: number
  organisation_public_id: string
  siret: string
  organisation_name: string
  organisation_type: string
}

/** The token with this hash, its user and the organisation it was issued for. */
export async function findApiTokenGrant(db: Queryable, tokenHash: string): Promise<ApiTokenGrant | undefined> {
  const { rows } = await db.query<GrantRow>(
    `select t.id, t.token_hash, t.purpose, t.expires_at, t.revoked_at, t.organisation_id as token_organisation_id,
            u.id as user_id, u.public_id as user_public_id, u.email, u.display_name, u.role, u.active, u.organisation_id as user_organisation_id,
            o.id as organisation_id, o.public_id as organisation_public_id, o.siret, o.name as organisation_name, o.type as organisation_type
     from api_tokens t
     join users u on u.id = t.user_id
     join organisations o on o.id = t.organisation_id
     where t.token_hash = $1`,
    [tokenHash],
    { prepare: true },
  )
  const r = rows[0]
  if (!r) return undefined
  return {
    id: r.id,
    tokenHash: r.token_hash,
    purpose: r.purpose,
    expiresAt: new Date(r.expires_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
    tokenOrganisationId: r.token_organisation_id,
    user: { id: r.user_id, publicId: r.user_public_id, email: r.email, displayName: r.display_name, role: r.role, active: r.active, organisationId: r.user_organisation_id },
    organisation: { id: r.organisation_id, publicId: r.organisation_public_id, siret: r.siret, name: r.organisation_name, type: r.organisation_type },
  }
}

interface InfoRow {
  id: number
  email: string
  siret: string
  purpose: string
  label: string | null
  created_at: Date
  expires_at: Date
  revoked_at: Date | null
  last_used_at: Date | null
}

/** Tokens, newest first; optionally those of one user, or only those still usable at `activeAt`. */
export async function listApiTokens(db: Queryable, filter: { userId?: number; activeAt?: Date } = {}): Promise<ApiTokenInfo[]> {
  const { rows } = await db.query<InfoRow>(
    `select t.id, u.email, o.siret, t.purpose, t.label, t.created_at, t.expires_at, t.revoked_at, t.last_used_at
     from api_tokens t
     join users u on u.id = t.user_id
     join organisations o on o.id = t.organisation_id
     where ($1::bigint is null or t.user_id = $1)
       and ($2::timestamptz is null or (t.revoked_at is null and t.expires_at > $2))
     order by t.id desc`,
    [filter.userId ?? null, filter.activeAt ?? null],
  )
  const date = (d: Date | null) => (d ? new Date(d) : null)
  return rows.map((r) => ({
    id: r.id,
    userEmail: r.email,
    organisationSiret: r.siret,
    purpose: r.purpose,
    label: r.label,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    revokedAt: date(r.revoked_at),
    lastUsedAt: date(r.last_used_at),
  }))
}

/** Revokes a token; false when no such token is still unrevoked. */
export async function revokeApiToken(db: Queryable, id: number, at: Date): Promise<boolean> {
  const result = await db.query(
    `update api_tokens
     set revoked_at = $2
     where id = $1
       and revoked_at is null`,
    [id, at],
  )
  return result.rowCount > 0
}

/** Records that tokens were used (written lazily, a few times a minute at most per token). */
export async function touchApiTokens(db: Queryable, ids: readonly number[], at: Date): Promise<void> {
  if (ids.length === 0) return
  await db.query(
    `update api_tokens
     set last_used_at = $2
     where id = any($1::bigint[])
       and (last_used_at is null or last_used_at < $2)`,
    [ids, at],
  )
}
