import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AccessTokenCache } from '../../src/exchange/france-travail-api/access-token.ts'
import { FranceTravailApiFlowSchema } from '../../src/exchange/france-travail-api/api-flow.ts'
import { lookUpPerson } from '../../src/exchange/france-travail-api/operations.ts'
import { QuotaLimiter } from '../../src/exchange/france-travail-api/quota-limiter.ts'

/**
 * A redirect is never followed: the lookup's body holds a NIR and a birth date, its headers the access token, and
 * the token request's body the client secret. Declarations are checked (https, or http on loopback); a 307 to
 * another address must not carry them there. Two local servers stand for France Travail and for that other address.
 */
const NIR = '1850775123456'
const SECRET = 'client-secret-sentinel-77'

function server(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = []
  const s = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString('utf8')))
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`)
      handle(req, body, res)
    })
  })
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, server: s, seen })))
}

describe('France Travail calls never follow a redirect', () => {
  let elsewhere: Awaited<ReturnType<typeof server>>
  let ft: Awaited<ReturnType<typeof server>>
  let redirectToken = false
  beforeAll(async () => {
    elsewhere = await server((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ access_token: 'attacker-token', expires_in: 3600, codeRetour: 'S001', jetonUsager: 'j', identifiant: 'X' }))
    })
    ft = await server((req, _body, res) => {
      if (req.url!.startsWith('/token') && !redirectToken) {
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ access_token: 'real-token', expires_in: 3600 }))
      }
      res.writeHead(307, { location: `${elsewhere.url}/collect` })
      res.end()
    })
  })
  afterAll(async () => {
    await new Promise((r) => ft?.server.close(r))
    await new Promise((r) => elsewhere?.server.close(r))
  })

  const deps = () => {
    const flow = FranceTravailApiFlowSchema.parse({
      title: 't',
      producer: 'France Travail',
      source: { type: 'francetravail-api', token_url: `${ft.url}/token`, client_id: 'PAR_x', client_secret_env: 'FT_API_CLIENT_SECRET', scopes: ['api_rechercher-usagerv2'], base_url: ft.url, quota_per_second: 50, max_attempts: 1 },
      schedule: '0 5 * * *',
      retention: 'france-travail-api',
      outbound: { purpose: 'instruction', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { 'france-travail': 'PED' } },
    })
    return { flowId: 'france-travail-api', source: flow.source, tokens: new AccessTokenCache(flow.source, SECRET), limiter: new QuotaLimiter(50) }
  }

  it('a 307 from the API is a failed call (http_307): the NIR, the birth date and the access token go nowhere else', async () => {
    redirectToken = false
    const outcome = await lookUpPerson(deps(), { nir: NIR, birthDate: '1985-07-07' })
    expect(outcome).toMatchObject({ outcome: 'failed', code: 'http_307' })
    expect(elsewhere.seen).toEqual([])
    expect(ft.seen.filter((s) => s.includes(NIR))).toHaveLength(1)
  })

  it('a 307 from the token endpoint fails the token request: the client secret goes nowhere else, no foreign token is taken', async () => {
    redirectToken = true
    const error = await deps().tokens.get().then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error?.message).toMatch(/answered 307/)
    expect(error?.message).not.toContain(SECRET)
    expect(elsewhere.seen).toEqual([])
  })
})
