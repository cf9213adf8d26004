import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { buildWorld, testPurposes, WORLD_NOW, worldApp, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * Hostile input in every parameter answers 400 or 404 in the one error shape, never 500, never internals; plus
 * security headers, body limit, rate limits, and the documentation endpoints.
 */
const HOSTILE = [
  "' or 1=1 --",
  "1; drop table persons; --",
  '") union select nom, prenom from persons --',
  '$1',
  '%',
  '\\x00',
  '\u0000',
  '../../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f',
  '‮gnp.exe',
  '𝕏😀ʕ•ᴥ•ʔ',
  'A'.repeat(10_000),
  '-1',
  '1e309',
  'NaN',
  '0x1F',
  '99999999999999999999999',
  '{"$gt":""}',
  '__proto__',
  'true; select pg_sleep(10)',
  '2026-02-30T00:00:00Z',
]

const INTERNALS = /select |insert |update |delete from|syntax error|stack|at async|node_modules|\.ts:\d+|pg_|relation "|column "/i

describe.skipIf(postgresUnavailable())('partner API hardening', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  const keys = testKeys()
  const purposes = testPurposes()

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = worldApp(t.db, keys, purposes, { options: { rateLimit: { perSecond: 100_000, burst: 100_000 }, tokenCacheMs: 2000, bodyLimitBytes: 4096 } })
  })
  afterAll(() => t?.drop())

  const expectSafe = async (res: Response, allowed: number[], label: string) => {
    const text = await res.text()
    expect({ label, status: res.status }).toEqual({ label, status: expect.toSatisfy((s: number) => allowed.includes(s)) })
    if (res.status >= 400) {
      const body = JSON.parse(text)
      expect(Object.keys(body)).toEqual(['error'])
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message'])
      expect(text).not.toMatch(INTERNALS)
    }
  }

  it('rejects hostile path ids with 400 or 404', async () => {
    for (const token of [world.tokens.refA1, world.tokens.admin, world.tokens.dpo]) {
      for (const value of HOSTILE) {
        for (const route of ['/v1/beneficiaires/', '/v1/dpo/beneficiaires/']) {
          const suffix = route.startsWith('/v1/dpo') ? '/acces' : ''
          const res = await app.request(`${route}${encodeURIComponent(value)}${suffix}`, { headers: { Authorization: `Bearer ${token}` } })
          await expectSafe(res, [400, 404], `${route} ${value.slice(0, 20)}`)
        }
        const raw = await Promise.resolve(app.request(`/v1/beneficiaires/${value.slice(0, 200)}`, { headers: { Authorization: `Bearer ${token}` } })).catch(() => undefined)
        if (raw) await expectSafe(raw, [400, 404], `raw ${value.slice(0, 20)}`)
      }
    }
  })

  it('rejects hostile query parameters with 400', async () => {
    const lists: [string, string, string[]][] = [
      [world.tokens.mgrA!, '/v1/beneficiaires', ['limit', 'cursor', 'etatDroit', 'soumisDroitsDevoirs', 'inscritFranceTravail', 'modifieDepuis', 'unknown']],
      [world.tokens.refA1!, `/v1/beneficiaires/${world.persons.p1!.publicId}/historique`, ['limit', 'cursor', 'unknown']],
      [world.tokens.admin!, '/v1/admin/users', ['limit', 'cursor', 'organisationSiret']],
      [world.tokens.admin!, '/v1/admin/assignments', ['limit', 'cursor', 'beneficiaireId', 'referentEmail', 'organisationSiret']],
      [world.tokens.dpo!, '/v1/dpo/audit-events', ['limit', 'cursor', 'from', 'to', 'actor', 'organisation', 'purpose', 'action', 'outcome', 'requestId', 'beneficiaireId']],
    ]
    for (const [token, path, params] of lists) {
      for (const param of params) {
        for (const value of HOSTILE) {
          const res = await app.request(`${path}?${param}=${encodeURIComponent(value)}`, { headers: { Authorization: `Bearer ${token}` } })
          // Search filters on text (an e-mail, an id): a strange but well-formed one is a search that finds nothing.
          const text = ['actor', 'purpose', 'action', 'requestId'].includes(param)
          await expectSafe(res, text ? [200, 400] : [400], `${path} ${param}=${value.slice(0, 20)}`)
        }
      }
      const repeated = await app.request(`${path}?limit=1&limit=2`, { headers: { Authorization: `Bearer ${token}` } })
      await expectSafe(repeated, [400], `${path} repeated`)
    }
  })

  it('rejects hostile bodies with 400, 413 or 415', async () => {
    const post = (path: string, body: string, method = 'POST', type = 'application/json') =>
      app.request(path, { method, body, headers: { Authorization: `Bearer ${world.tokens.admin}`, 'Content-Type': type } })
    const targets: [string, string, Record<string, unknown>][] = [
      ['POST', '/v1/admin/organisations', { siret: world.orgs.A.siret, name: 'X', type: 'ccas' }],
      ['POST', '/v1/admin/users', { email: 'new@test.example', displayName: 'X', role: 'referent', organisationSiret: world.orgs.A.siret }],
      ['POST', '/v1/admin/assignments', { beneficiaireId: world.persons.p9!.publicId, organisationSiret: world.orgs.A.siret, startsOn: '2026-01-01' }],
      ['PATCH', `/v1/admin/users/${world.users.refA2!.publicId}`, { displayName: 'X' }],
    ]
    for (const [method, path, valid] of targets) {
      for (const key of Object.keys(valid)) {
        for (const value of HOSTILE) {
          const res = await post(path, JSON.stringify({ ...valid, [key]: value }), method)
          await expectSafe(res, key === 'displayName' || key === 'name' ? [200, 201, 400, 409, 413] : [400, 409, 413], `${method} ${path} ${key}=${value.slice(0, 20)}`)
        }
      }
      await expectSafe(await post(path, '{"broken":', method), [400], `${path} broken json`)
      await expectSafe(await post(path, JSON.stringify({ ...valid, extra: 1 }), method), [400], `${path} extra key`)
      await expectSafe(await post(path, JSON.stringify({ __proto__: { admin: true }, ...valid, constructor: 'x' }), method), [400], `${path} proto`)
      await expectSafe(await post(path, 'siret=1', method, 'application/x-www-form-urlencoded'), [400, 415], `${path} form`)
      await expectSafe(await post(path, JSON.stringify({ name: 'x'.repeat(10_000) }), method), [413], `${path} large`)
    }
    // The database is as it was: no table dropped, no row changed by the hostile values.
    const { rows } = await t.db.query<{ n: number }>('select count(*)::int as n from persons')
    expect(rows[0]!.n).toBe(10)
  })

  it('rejects hostile Authorization and X-Request-Id headers without echoing them', async () => {
    for (const value of HOSTILE.filter((v) => !/[\u0000-\u001f\u007f-\uffff]/.test(v))) {
      const res = await app.request('/v1/me', { headers: { Authorization: `Bearer ${value}` } })
      await expectSafe(res, [401], `auth ${value.slice(0, 20)}`)
      const rid = await app.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.refA1}`, 'X-Request-Id': value } })
      expect(rid.status).toBe(200)
      expect(rid.headers.get('x-request-id')).not.toBe(value.length > 64 || /[^A-Za-z0-9._-]/.test(value) ? value : '\u0000')
    }
  })

  it('sets security headers and no-store on API responses', async () => {
    const res = await app.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.refA1}` } })
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('strict-transport-security')).toContain('max-age=')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('behaves the same through a real Node HTTP server: headers read from Node, request id, no-store, body limit', async () => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const ok = await fetch(`${base}/v1/me`, { headers: { Authorization: `Bearer ${world.tokens.refA1}`, 'X-Request-Id': 'node-path-1' } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get('x-request-id')).toBe('node-path-1')
      expect(ok.headers.get('cache-control')).toBe('no-store')
      expect(ok.headers.get('content-security-policy')).toContain("default-src 'none'")
      const anonymous = await fetch(`${base}/v1/me`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(anonymous.headers.get('cache-control')).toBe('no-store')
      const unknown = await fetch(`${base}/v1/beneficiaires/00000000-0000-4000-8000-000000000000`, { headers: { Authorization: `Bearer ${world.tokens.refA1}` } })
      expect(unknown.status).toBe(404)
      expect(unknown.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      const large = await fetch(`${base}/v1/admin/organisations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${world.tokens.admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'x'.repeat(10_000) }),
      })
      expect(large.status).toBe(413)
      const { rows } = await t.db.query<{ n: number }>(`select count(*)::int as n from audit_events where request_id = 'node-path-1'`)
      expect(rows[0]!.n).toBe(1)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('limits requests per token with 429 and Retry-After, and failed authentications per address', async () => {
    const strict = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => WORLD_NOW, options: { rateLimit: { perSecond: 1, burst: 3 }, authFailuresPerMinute: 2 } })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await strict.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.refA2}` } })).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const limited = await strict.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.refA2}` } })
    expect(limited.headers.get('retry-after')).toBe('1')
    expect(((await limited.json()) as any).error.code).toBe('rate_limited')
    // Another token is not held back.
    expect((await strict.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.refB}` } })).status).toBe(200)
    const failures: number[] = []
    for (let i = 0; i < 4; i++) failures.push((await strict.request('/v1/me', { headers: { Authorization: `Bearer psl_${'B'.repeat(43)}` } })).status)
    expect(failures).toEqual([401, 401, 429, 429])
    // A valid token from the same address still works.
    expect((await strict.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.mgrA}` } })).status).toBe(200)
  })

  it('serves the OpenAPI 3.1 document and an offline documentation page listing every endpoint', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as any
    expect(doc.openapi).toBe('3.1.0')
    const operations = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
    expect(operations.filter((o) => o.includes(' /v1/')).sort()).toEqual(
      [
        'GET /v1/me',
        'GET /v1/beneficiaires',
        'GET /v1/beneficiaires/{id}',
        'GET /v1/beneficiaires/{id}/historique',
        'GET /v1/admin/organisations',
        'POST /v1/admin/organisations',
        'GET /v1/admin/users',
        'POST /v1/admin/users',
        'PATCH /v1/admin/users/{id}',
        'GET /v1/admin/assignments',
        'POST /v1/admin/assignments',
        'PATCH /v1/admin/assignments/{id}',
        'GET /v1/dpo/audit-events',
        'GET /v1/dpo/beneficiaires/{id}/acces',
        'GET /v1/extracts',
        'GET /v1/extracts/{id}',
        'GET /v1/extracts/{id}/manifest',
        'GET /v1/admin/runs',
        'GET /v1/admin/outbox',
        'GET /v1/matching-queue',
        'POST /v1/matching-queue/{id}/resolution',
        'POST /v1/dpo/rights-requests',
        'GET /v1/dpo/rights-requests',
        'GET /v1/dpo/rights-requests/{number}',
        'POST /v1/dpo/rights-requests/{number}/extension',
        'POST /v1/dpo/rights-requests/{number}/close',
        'POST /v1/dpo/rights-requests/{number}/lift',
        'POST /v1/dpo/rights-requests/{number}/erasure',
        'GET /v1/dpo/rights-requests/{number}/export',
        'GET /v1/dpo/rights-requests/{number}/notice',
      ].sort(),
    )
    expect(Object.keys(doc.components.schemas.Donnees_test_accompagnement ?? doc.components.schemas['Donnees_test-accompagnement'].properties).length).toBeGreaterThan(0)
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe('bearer')
    const docs = await app.request('/docs')
    expect(docs.status).toBe(200)
    const html = await docs.text()
    expect(html).not.toMatch(/<script[^>]+src=["']?https?:|<link[^>]+href=["']?https?:|https?:\/\/(cdn|unpkg|jsdelivr)/)
    for (const path of Object.keys(doc.paths)) expect(html).toContain(`<code>${path}</code>`)
    for (const src of [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!)) expect((await app.request(src)).status).toBe(200)
    expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/)
    expect((await app.request('/healthz')).status).toBe(200)
  })
})
