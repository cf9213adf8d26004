import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import type { ApiApp } from '../../src/http/app.ts'
import type { Role } from '../../src/purposes/purpose.ts'
import { ROLES } from '../../src/purposes/purpose.ts'
import { buildWorld, testPurposes, worldApp, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * Routing is part of access control: a role that may not use a route gets one answer (404, the same body) whatever
 * the id, query or body it sends, on every route of the OpenAPI document; and every request whose path reads as /v1
 * is answered by the API and audited, whatever spelling of the path it uses.
 */
const TOKEN_OF_ROLE: Record<Role, string> = {
  referent: 'refA1',
  'structure-manager': 'mgrA',
  instructor: 'instr',
  statistician: 'stat',
  dpo: 'dpo',
  admin: 'admin',
}

/** Who may use what, written down independently of the code: by path prefix of the OpenAPI document. */
const EXPECTED_ROLES: [prefix: string, roles: readonly Role[]][] = [
  ['/v1/me', ROLES],
  ['/v1/beneficiaires', ['referent', 'structure-manager', 'instructor']],
  ['/v1/admin/', ['admin']],
  ['/v1/dpo/', ['dpo']],
  ['/v1/extracts', ['statistician']],
  ['/v1/matching-queue', ['admin', 'dpo']],
]
const expectedRoles = (path: string) => EXPECTED_ROLES.find(([prefix]) => path.startsWith(prefix))?.[1]

const NOT_FOUND = { error: { code: 'not_found', message: 'no such resource' } }

describe.skipIf(postgresUnavailable())('routing and roles', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  let document: { paths: Record<string, Record<string, { 'x-roles'?: Role[]; requestBody?: unknown }>> }
  const keys = testKeys()
  const purposes = testPurposes()

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = worldApp(t.db, keys, purposes)
    document = (await (await app.request('/openapi.json')).json()) as typeof document
  })
  afterAll(() => t?.drop())

  const auditOf = async (requestId: string) =>
    (await t.db.query<{ outcome: string; action: string; details: Record<string, unknown> }>('select outcome, action, details from audit_events where request_id = $1', [requestId])).rows

  describe('roles before parameters', () => {
    it('declares the roles of every route in the OpenAPI document', () => {
      // The operations routes (/healthz, /readyz, /metrics) are outside /v1: no token, no roles.
      expect(Object.keys(document.paths).filter((path) => !path.startsWith('/v1/')).sort()).toEqual(['/healthz', '/metrics', '/readyz'])
      const operations = Object.entries(document.paths)
        .filter(([path]) => path.startsWith('/v1/'))
        .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
      expect(operations.length).toBeGreaterThan(20)
      for (const { path, method, op } of operations) {
        expect({ path, method, roles: [...(op['x-roles'] ?? [])].sort() }).toEqual({ path, method, roles: [...(expectedRoles(path) ?? ['(no expectation)'])].sort() })
      }
    })

    it('answers the same 404 to every role a route does not allow, whatever the id, query or body', async () => {
      const valid = { id: world.persons.p1!.publicId, number: '1' }
      const variants = [
        { name: 'valid id', params: valid, query: '', body: {} as unknown },
        { name: 'unknown id', params: { id: randomUUID(), number: '999999' }, query: '', body: {} },
        { name: 'malformed id', params: { id: 'not-a-uuid', number: 'abc' }, query: '', body: {} },
        { name: 'bad query and body', params: valid, query: '?limit=abc&unknown=1&modifieDepuis=0000-01-01T00:00:00Z', body: { unexpected: 'x' } },
      ]
      let checked = 0
      const wrongAnswers: string[] = []
      const labels = new Map<string, string>()
      for (const [path, methods] of Object.entries(document.paths).filter(([path]) => path.startsWith('/v1/'))) {
        for (const [method, op] of Object.entries(methods)) {
          const allowed = expectedRoles(path)
          expect(allowed, path).toBeDefined()
          for (const role of ROLES.filter((r) => !allowed!.includes(r))) {
            for (const v of variants) {
              const url = `/v1${path.replace(/^\/v1/, '').replace(/\{(\w+)\}/g, (_, name: string) => v.params[name as 'id' | 'number'])}${v.query}`
              const requestId = `roles-${checked++}`
              const res = await app.request(url, {
                method: method.toUpperCase(),
                headers: { Authorization: `Bearer ${world.tokens[TOKEN_OF_ROLE[role]]}`, 'X-Request-Id': requestId, 'Content-Type': 'application/json' },
                body: method === 'get' ? undefined : JSON.stringify(v.body),
              })
              const label = `${role} ${method.toUpperCase()} ${path} (${v.name})`
              const body = JSON.stringify(await res.json())
              if (res.status !== 404 || body !== JSON.stringify(NOT_FOUND)) wrongAnswers.push(`${label}: ${res.status} ${body}`)
              labels.set(requestId, label)
            }
          }
        }
      }
      expect(wrongAnswers).toEqual([])
      // One audit event per request, a denial for the role.
      const { rows } = await t.db.query<{ request_id: string; outcome: string; details: Record<string, unknown> }>(
        `select request_id, outcome, details from audit_events where request_id like 'roles-%'`,
      )
      const events = new Map<string, string[]>()
      for (const r of rows) events.set(r.request_id, [...(events.get(r.request_id) ?? []), `${r.outcome}/${String(r.details.reason)}`])
      const wrongAudit = [...labels].filter(([id]) => events.get(id)?.join() !== 'denied/role_not_allowed').map(([id, label]) => `${label}: ${events.get(id)?.join() ?? 'none'}`)
      expect(wrongAudit).toEqual([])
      expect(checked).toBeGreaterThan(300)
    })
  })

  describe('path spellings', () => {
    // Each reads as /v1/me (or another /v1 path) once decoded, collapsed and lower-cased.
    const VARIANTS = [
      '//v1/me',
      '///v1/me',
      '/v1//me',
      '/V1/me',
      '/v1/me/',
      '/v1/',
      '/v1%2Fme',
      '/v1%2fme',
      '/%2Fv1/me',
      '/v1/me%2F',
      '/%76%31/me',
      '/v1%252Fme',
      `//v1/beneficiaires/${'{p1}'}`,
      `/V1/BENEFICIAIRES/${'{p1}'}`,
      `/v1/beneficiaires%2F${'{p1}'}`,
      `/v1/beneficiaires/${'{p1}'}/`,
      '/v1/ME',
      '/v1/me.json',
      '/v10/me',
      '/v1/beneficiaires/..%2F..%2F..%2Fetc%2Fpasswd',
      '/x/..%2Fv1/me',
    ]
    // Dot segments: a URL parser removes them before the app sees the request; only a raw request line keeps them.
    const RAW_ONLY = ['/v1/./me', '/v1/../v1/me', '/x/../v1/me', '/v1/me/.', '/./v1/me', '/v1/%2e%2e/v1/me', '/v1/%2E/me', `/v1/beneficiaires/./${'{p1}'}`]

    const expand = (path: string) => path.replace('{p1}', world.persons.p1!.publicId)

    const expectAnsweredAndAudited = async (label: string, status: number, text: string, requestId: string) => {
      // 400 for a spelling that is not canonical; a canonical path with no route is 404 (401 without a token).
      expect({ label, status }).toEqual({ label, status: expect.toSatisfy((s: number) => [400, 401, 404].includes(s)) })
      const body = JSON.parse(text) as { error: { code: string } }
      expect(Object.keys(body)).toEqual(['error'])
      const reasons: Record<string, string> = { invalid_path: 'non_canonical_path', not_found: 'unknown_route', unauthorized: 'missing_credentials' }
      expect(Object.keys(reasons)).toContain(body.error.code)
      const events = await auditOf(requestId)
      expect({ label, events: events.map((e) => [e.outcome, e.details.reason]) }).toEqual({ label, events: [['denied', reasons[body.error.code]]] })
    }

    it('answers every spelling of a /v1 path in the one error shape and audits it as a denial', async () => {
      let n = 0
      for (const variant of VARIANTS) {
        for (const token of [world.tokens.refA1, undefined]) {
          const requestId = `path-${n++}`
          const res = await app.request(`http://localhost${expand(variant)}`, {
            headers: { 'X-Request-Id': requestId, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          })
          await expectAnsweredAndAudited(variant, res.status, await res.text(), requestId)
        }
      }
      // The canonical spellings still work.
      expect((await app.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.refA1}` } })).status).toBe(200)
      expect((await app.request(`/v1/beneficiaires/${world.persons.p1!.publicId}`, { headers: { Authorization: `Bearer ${world.tokens.refA1}` } })).status).toBe(200)
    })

    it('refuses and audits raw request lines with dot segments or odd slashes through a real server', async () => {
      const server: ServerType = await new Promise((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
      })
      const port = (server.address() as AddressInfo).port
      const raw = (path: string, requestId: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Authorization: `Bearer ${world.tokens.refA1}`, 'X-Request-Id': requestId } }, (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (d: string) => (text += d))
            res.on('end', () => resolve({ status: res.statusCode!, text }))
          })
          req.on('error', reject)
          req.end()
        })
      try {
        let n = 0
        for (const variant of [...RAW_ONLY, ...VARIANTS]) {
          const requestId = `raw-${n++}`
          const { status, text } = await raw(expand(variant), requestId)
          await expectAnsweredAndAudited(`raw ${variant}`, status, text, requestId)
        }
        expect((await raw('/v1/me', 'raw-canonical')).status).toBe(200)
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
    })
  })
})
