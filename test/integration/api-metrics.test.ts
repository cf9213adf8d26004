import { connect } from 'node:net'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { createLogger } from '../../src/log/logger.ts'
import { startServer, type RunningServer } from '../../src/server/start-server.ts'
import { buildWorld, testPurposes, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * /metrics is unauthenticated: what it shows must hold no value a client sent (paths, query strings, headers), and
 * its label set must stay bounded whatever paths are requested. A client that leaves mid-body is not a server error.
 * Everything goes through the real server (startServer), as in production.
 */
const SENTINEL = 'GONZALEZ-Theo-1972'
const SENTINELS = [SENTINEL, 'SENTINELQUERYZ9', 'SENTINELHEADERQ7', 'SENTINELTOKENK3', 'SENTINELMETHODX']

describe.skipIf(postgresUnavailable())('metrics and the real server', () => {
  let t: TestDatabase
  let world: World
  let server: RunningServer
  const lines: string[] = []
  const keys = testKeys()
  const purposes = testPurposes()

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean))
        done()
      },
    })
    const log = createLogger({ level: 'debug', destination })
    server = await startServer({ config: { console: { sessionMinutes: 60 } } as never, db: t.db, keys, log, close: async () => {} }, { purposes } as never, {
      port: 0,
      host: '127.0.0.1',
      api: true,
      scheduler: false,
      jobs: [],
    })
  })
  afterAll(async () => {
    await server?.stop()
    await t?.drop()
  })

  const metricsText = async () => (await fetch(`${server.url}/metrics`)).text()
  const requestSamples = (text: string) => text.split('\n').filter((l) => l.startsWith('passerelle_http_requests_total{'))
  const labelSets = (text: string) => new Set(requestSamples(text).map((l) => l.slice(0, l.lastIndexOf(' '))))

  it('labels requests by route pattern only: no path, query or header value a client sent appears in /metrics', async () => {
    const bearer = { Authorization: `Bearer ${world.tokens.refA1}` }
    await fetch(`${server.url}/v1/beneficiaires/${SENTINEL}`)
    await fetch(`${server.url}/v1/beneficiaires/${SENTINEL}`, { headers: bearer })
    await fetch(`${server.url}/v1/beneficiaires/${world.persons.p1!.publicId}`, { headers: bearer })
    await fetch(`${server.url}/v1/beneficiaires?nom=SENTINELQUERYZ9`, { headers: bearer })
    await fetch(`${server.url}/${SENTINEL}/SENTINELQUERYZ9?x=SENTINELQUERYZ9`)
    await fetch(`${server.url}/v1/me`, { headers: { Authorization: 'Bearer SENTINELTOKENK3', 'X-Sentinel': 'SENTINELHEADERQ7', 'X-Request-Id': 'SENTINELHEADERQ7' } })
    await fetch(`${server.url}/v1/me`, { method: 'SENTINELMETHODX', headers: bearer }).catch(() => undefined)
    const text = await metricsText()
    for (const sentinel of SENTINELS) expect(text.includes(sentinel), sentinel).toBe(false)
    // The route patterns are there, and one label for everything that matched no route.
    expect(text).toContain('route="/v1/beneficiaires/:id"')
    expect(text).toContain('route="unmatched"')
    for (const sample of requestSamples(text)) {
      const route = /route="([^"]*)"/.exec(sample)![1]!
      expect(route === 'unmatched' || /^\/[a-z0-9/:._-]*$/.test(route), route).toBe(true)
    }
  })

  it('keeps the label set bounded under a flood of distinct paths', async () => {
    const flood = async (round: number) => {
      for (let i = 0; i < 40; i++) {
        const n = `${round}-${i}`
        await fetch(`${server.url}/v1/beneficiaires/flood-${n}`)
        await fetch(`${server.url}/v1/x${n}/${n}`)
        await fetch(`${server.url}/anything-${n}`)
        await fetch(`${server.url}/v1/admin/users/${n}`, { method: 'PATCH' })
      }
    }
    await flood(1)
    const after1 = labelSets(await metricsText())
    await flood(2)
    const after2 = labelSets(await metricsText())
    expect([...after2].filter((l) => !after1.has(l))).toEqual([])
    expect(after2.size).toBeLessThan(60)
  })

  const rawRequest = (head: string, part: string) =>
    new Promise<void>((resolve, reject) => {
      const url = new URL(server.url!)
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(head + part, () => setTimeout(() => socket.destroy(), 50))
      })
      socket.on('close', () => resolve())
      socket.on('error', reject)
    })

  const postsTo = (text: string, route: string) =>
    requestSamples(text)
      .filter((l) => l.includes(`route="${route}"`) && l.includes('method="POST"'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)

  it('does not count a client that closes the connection mid-body as a server error, nor log it as one', async () => {
    const route = '/v1/admin/organisations'
    const before = await metricsText()
    const headers = `POST ${route} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${world.tokens.admin}\r\nContent-Type: application/json\r\n`
    // Announced length, half sent; then chunked, half sent.
    await rawRequest(`${headers}Content-Length: 400\r\n\r\n`, '{"siret":"2175000000')
    await rawRequest(`${headers}Transfer-Encoding: chunked\r\n\r\n`, '14\r\n{"siret":"2175000000\r\n')
    let text = before
    for (let i = 0; i < 100 && postsTo(text, route) < postsTo(before, route) + 2; i++) {
      await new Promise((r) => setTimeout(r, 50))
      text = await metricsText()
    }
    expect(postsTo(text, route)).toBe(postsTo(before, route) + 2)
    const samples = requestSamples(text).filter((l) => l.includes(`route="${route}"`) && l.includes('method="POST"'))
    expect(samples.some((l) => l.includes('status="500"'))).toBe(false)
    expect(samples.some((l) => l.includes('status="499"'))).toBe(true)
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50)
    expect(errors).toEqual([])
    // Still audited, as a request that failed on the client's side.
    await server.stop()
    const { rows } = await t.db.query<{ details: { reason?: string } }>(`select details from audit_events where details->>'route' = $1 order by seq`, [route])
    expect(rows.filter((r) => r.details.reason === 'client_closed')).toHaveLength(2)
  })
})
