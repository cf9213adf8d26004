import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { CredentialChanges } from '../../src/auth/credential-changes.ts'
import { createConsoleApp } from '../../src/console/console-app.ts'
import { insertSession } from '../../src/console/session-queries.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { buildWorld, testPurposes, WORLD_NOW, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * Console sessions and API tokens trusted for a few seconds without a database read (PASSERELLE_API_TOKEN_CACHE_SECONDS,
 * as `serve` wires them): what this process changes takes effect at once; only what another process changes (the
 * CLI, a database administrator) waits for the delay; expiry is never taken from the cache.
 */
const CACHE_MS = 2000

describe.skipIf(postgresUnavailable())('console sessions and API tokens trusted for a few seconds', () => {
  let t: TestDatabase
  let world: World
  let app: ApiApp
  let clock = WORLD_NOW.getTime()
  const keys = testKeys()
  const purposes = testPurposes()
  const now = () => new Date(clock)

  /** The API and the console as `serve` wires them: one CredentialChanges, both caches at CACHE_MS. */
  function serverOn(db: Db): ApiApp {
    const credentialChanges = new CredentialChanges()
    const audit = new AuditWriter(t.db)
    const log = createLogger({ level: 'silent' })
    const api = createApp({ db, keys, purposes, audit, now, log, credentialChanges, options: { tokenCacheMs: CACHE_MS, rateLimit: { perSecond: 10_000, burst: 10_000 } } })
    api.route('/console', createConsoleApp({ db, keys, purposes, audit, log, now, api, oidc: undefined, sessionMinutes: 60, sessionCacheMs: CACHE_MS, credentialChanges }))
    return api
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = serverOn(t.db)
  })
  afterAll(() => t?.drop())

  /** A session as a sign-in leaves it, for a world user under the purpose their role reads. */
  async function session(who: string, minutes = 60) {
    const user = world.users[who]!
    const { rows } = await t.db.query<{ organisation_id: number }>('select organisation_id from users where id = $1', [user.id])
    const purpose = who === 'admin' ? 'test-administration' : 'test-accompagnement'
    const { secret, session } = await insertSession(t.db, {
      userId: user.id,
      organisationId: Number(rows[0]!.organisation_id),
      purpose,
      oidcSubject: `sub-${who}`,
      acr: null,
      amr: null,
      idToken: null,
      expiresAt: new Date(clock + minutes * 60_000),
    })
    return { cookie: `passerelle_console=${secret}`, csrf: session.csrfToken }
  }
  const page = (cookie: string, path = '/console/portefeuille') => app.request(path, { headers: { cookie } })
  const post = (s: { cookie: string; csrf: string }, path: string) =>
    app.request(path, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: s.csrf }).toString() })
  const signedIn = (res: Response) => res.status === 200
  const later = (ms: number) => (clock += ms)

  it('reads a session once per delay; one deleted by another process stops within it', async () => {
    const s = await session('refA1')
    expect(signedIn(await page(s.cookie))).toBe(true)
    await t.db.query('delete from console_sessions where oidc_subject = $1', ['sub-refA1'])
    later(CACHE_MS - 1)
    expect(signedIn(await page(s.cookie))).toBe(true)
    later(1)
    const res = await page(s.cookie)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/console')
  })

  it('never serves a session past its expiry, even from the cache', async () => {
    const s = await session('refA1', 1)
    later(60_000 - 500)
    expect(signedIn(await page(s.cookie))).toBe(true)
    later(499)
    expect(signedIn(await page(s.cookie))).toBe(true)
    later(1)
    expect((await page(s.cookie)).status).toBe(303)
  })

  it('ends a session at once on sign-out, though it was cached', async () => {
    const s = await session('refA2')
    expect(signedIn(await page(s.cookie))).toBe(true)
    expect((await post(s, '/console/deconnexion')).status).toBe(303)
    expect((await page(s.cookie)).status).toBe(303)
  })

  it('does not keep a session read before a sign-out that finished first', async () => {
    // A page whose session read is slow (it read the row, then its answer took 200 ms): a sign-out of the same session
    // completes meanwhile. That read must not go into the cache, or the session would live on for the delay.
    let slowNext = false
    const db = new Proxy(t.db, {
      get(target, name, receiver) {
        if (name !== 'query') return Reflect.get(target, name, receiver)
        return async (text: string, ...rest: unknown[]) => {
          const slow = slowNext && text.includes('from console_sessions s')
          if (slow) slowNext = false
          const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(text, ...rest)
          if (slow) await new Promise((resolve) => setTimeout(resolve, 200))
          return result
        }
      },
    })
    const slowApp = serverOn(db)
    const s = await session('refA1')
    slowNext = true
    const pending = slowApp.request('/console/portefeuille', { headers: { cookie: s.cookie } })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const out = await slowApp.request('/console/deconnexion', {
      method: 'POST',
      headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: s.csrf }).toString(),
    })
    expect(out.status).toBe(303)
    await pending
    expect((await slowApp.request('/console/portefeuille', { headers: { cookie: s.cookie } })).status).toBe(303)
  })

  it('stops an agent deactivated through the admin API at once, in the console and on the API', async () => {
    const s = await session('refB')
    expect(signedIn(await page(s.cookie))).toBe(true)
    const token = world.tokens.refB!
    expect((await app.request('/v1/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const res = await app.request(`/v1/admin/users/${world.users.refB!.publicId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${world.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ active: false }),
    })
    expect(res.status).toBe(200)
    expect((await page(s.cookie)).status).toBe(303)
    expect((await app.request('/v1/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401)
  })

  it('stops a token revoked from the console at once, though the API had it cached', async () => {
    const token = world.tokens.mgrA!
    expect((await app.request('/v1/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const { rows } = await t.db.query<{ id: string }>('select id::text from api_tokens where user_id = $1 and revoked_at is null order by id', [world.users.mgrA!.id])
    const admin = await session('admin')
    const res = await post(admin, `/console/admin/jetons/${rows[0]!.id}/revocation`)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/console/admin/jetons?message=revoque')
    expect((await app.request('/v1/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401)
  })
})
