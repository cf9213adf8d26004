import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Db, QueryResult } from '../../src/db/db.ts'
import type { ApiApp } from '../../src/http/app.ts'
import { buildWorld, seedAssignment, seedFile, seedOrganisation, seedPerson, seedToken, seedUser, testPurposes, WORLD_NOW, worldApp, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * Inputs the schema accepts must not fail further down: every date the API takes is bounded (400 naming the
 * parameter, never the value, never a 500), and a default page size is a number, so a page reads one row more than
 * it serves, not ten times more.
 */

/** The database as the app sees it, recording how many rows each query returned. */
function recordingDb(db: Db, rowsRead: number[]): Db {
  const query = async <R>(text: string, params?: readonly unknown[], options?: Parameters<Db['query']>[2]): Promise<QueryResult<R>> => {
    const result = await db.query<R>(text, params, options)
    rowsRead.push(result.rows.length)
    return result
  }
  return { ...db, backend: db.backend, query, transaction: db.transaction.bind(db), session: db.session.bind(db), close: db.close.bind(db) } as Db
}

describe.skipIf(postgresUnavailable())('API inputs', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  const rowsRead: number[] = []
  const keys = testKeys()
  const purposes = testPurposes()

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = worldApp(recordingDb(t.db, rowsRead), keys, purposes, { auditDb: t.db })
  })
  afterAll(() => t?.drop())

  const call = (token: string, path: string, init: { method?: string; body?: unknown } = {}) =>
    app.request(path, {
      method: init.method ?? 'GET',
      headers: { Authorization: `Bearer ${world.tokens[token]}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    })

  describe('dates', () => {
    const INSTANTS = ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '1899-12-31T23:59:59Z', '2200-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '0000-01-01T00:00:00+14:00']
    const DAYS = ['0000-01-01', '0001-01-01', '1899-12-31', '2200-01-01', '9999-12-31']

    const expect400Naming = async (res: Response, parameter: string, value: string) => {
      const text = await res.text()
      expect({ parameter, value, status: res.status }).toEqual({ parameter, value, status: 400 })
      const body = JSON.parse(text) as { error: { code: string; message: string } }
      expect(body.error.message).toContain(parameter)
      expect(text).not.toContain(value)
    }

    it('answers 400 naming modifieDepuis, from and to for an instant outside 1900–2199, never 500', async () => {
      for (const value of INSTANTS) {
        await expect400Naming(await call('refA1', `/v1/beneficiaires?modifieDepuis=${encodeURIComponent(value)}`), 'modifieDepuis', value)
        await expect400Naming(await call('instr', `/v1/beneficiaires?modifieDepuis=${encodeURIComponent(value)}`), 'modifieDepuis', value)
        await expect400Naming(await call('dpo', `/v1/dpo/audit-events?from=${encodeURIComponent(value)}`), 'from', value)
        await expect400Naming(await call('dpo', `/v1/dpo/audit-events?to=${encodeURIComponent(value)}`), 'to', value)
      }
      expect((await call('refA1', `/v1/beneficiaires?modifieDepuis=1900-01-01T00:00:00Z`)).status).toBe(200)
      expect((await call('dpo', `/v1/dpo/audit-events?from=1900-01-01T00:00:00Z&to=2199-12-31T23:59:59Z`)).status).toBe(200)
    })

    it('answers 400 naming the field for an assignment or a rights request dated outside 1900–2199, never 500', async () => {
      const p = world.persons.p9!.publicId
      const assignment = { beneficiaireId: p, organisationSiret: world.orgs.A.siret }
      const list = (await (await call('admin', `/v1/admin/assignments?beneficiaireId=${world.persons.p1!.publicId}`)).json()) as { items: { id: string }[] }
      const existing = list.items[0]!.id
      for (const value of DAYS) {
        await expect400Naming(await call('admin', '/v1/admin/assignments', { method: 'POST', body: { ...assignment, startsOn: value } }), 'startsOn', value)
        await expect400Naming(await call('admin', '/v1/admin/assignments', { method: 'POST', body: { ...assignment, startsOn: '2026-01-01', endsOn: value } }), 'endsOn', value)
        await expect400Naming(await call('admin', `/v1/admin/assignments/${existing}`, { method: 'PATCH', body: { endsOn: value } }), 'endsOn', value)
        const request = { type: 'access', nir: '1800175100001', birthDate: '1980-01-15' }
        await expect400Naming(await call('dpo', '/v1/dpo/rights-requests', { method: 'POST', body: { ...request, receivedOn: value } }), 'receivedOn', value)
        await expect400Naming(await call('dpo', '/v1/dpo/rights-requests', { method: 'POST', body: { ...request, birthDate: value } }), 'birthDate', value)
      }
      const created = await call('admin', '/v1/admin/assignments', { method: 'POST', body: { ...assignment, startsOn: '1900-01-01', endsOn: '2199-12-31' } })
      expect(created.status).toBe(201)
    })
  })

  describe('default page sizes', () => {
    let referentToken: string

    beforeAll(async () => {
      const fileId = await seedFile(t.db)
      const org = await seedOrganisation(t.db, 50)
      const referent = await seedUser(t.db, 'many@test.example', 'referent', org.id)
      for (let n = 1000; n < 1600; n++) {
        const p = await seedPerson(t.db, keys, fileId, { n })
        await seedAssignment(t.db, { personId: p.personId, organisationId: org.id, referentUserId: referent.id, startsOn: '2026-01-01' })
      }
      referentToken = (await seedToken(t.db, purposes, referent.email, 'test-accompagnement', WORLD_NOW, '1y')).token
      world.tokens.many = referentToken
      // 600 audit events for the DPO's search.
      const writer = new AuditWriter(t.db)
      await Promise.all(
        Array.from({ length: 600 }, (_, i) =>
          writer.append({ occurredAt: WORLD_NOW, actor: null, organisation: null, purpose: null, action: 'test.filler', subject: null, outcome: 'done', requestId: `filler-${i}`, clientAddress: null, details: {} }),
        ),
      )
      await writer.drain()
    })

    const pageReads = async (token: string, path: string) => {
      rowsRead.length = 0
      const res = await call(token, path)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { items: unknown[] }
      return { items: body.items.length, maxRowsRead: Math.max(...rowsRead) }
    }

    it('serves 50 persons by default and reads at most 51 rows from the portfolio', async () => {
      expect(await pageReads('many', '/v1/beneficiaires')).toEqual({ items: 50, maxRowsRead: 51 })
    })

    it('serves 100 items by default and reads at most 101 rows on the admin and DPO lists', async () => {
      expect(await pageReads('admin', '/v1/admin/assignments')).toEqual({ items: 100, maxRowsRead: 101 })
      expect(await pageReads('dpo', '/v1/dpo/audit-events')).toEqual({ items: 100, maxRowsRead: 101 })
    })

    it('still honours an explicit limit', async () => {
      expect(await pageReads('many', '/v1/beneficiaires?limit=7')).toEqual({ items: 7, maxRowsRead: 8 })
    })
  })
})
