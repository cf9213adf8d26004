import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { seedAssignment, seedFile, seedOrganisation, seedPerson, seedToken, seedUser, testPurposes, WORLD_NOW } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/** Keyset pagination of the portfolio stays exact while an import adds and changes persons between pages. */
describe.skipIf(postgresUnavailable())('portfolio pagination', () => {
  let t: TestDatabase
  let app: ApiApp
  let token: string
  let referent: { id: number }
  let organisationId: number
  let fileId: number
  let next = 1
  const keys = testKeys()
  const purposes = testPurposes()
  const initial = new Set<string>()

  const addPersons = async (n: number) => {
    const added: string[] = []
    for (let i = 0; i < n; i++) {
      const p = await seedPerson(t.db, keys, fileId, { n: next++ })
      await seedAssignment(t.db, { personId: p.personId, organisationId, referentUserId: referent.id, startsOn: '2026-01-01' })
      added.push(p.publicId)
    }
    return added
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    fileId = await seedFile(t.db)
    const org = await seedOrganisation(t.db, 1)
    organisationId = org.id
    referent = await seedUser(t.db, 'pager@test.example', 'referent', org.id)
    for (const id of await addPersons(120)) initial.add(id)
    token = (await seedToken(t.db, purposes, 'pager@test.example', 'test-accompagnement', WORLD_NOW, '1y')).token
    app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => WORLD_NOW, options: { rateLimit: { perSecond: 1000, burst: 1000 } } })
  })
  afterAll(() => t?.drop())

  const page = async (cursor: string | null) => {
    const res = await app.request(`/v1/beneficiaires?limit=25${cursor ? `&cursor=${cursor}` : ''}`, { headers: { Authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    return (await res.json()) as { items: { id: string }[]; nextCursor: string | null }
  }

  it('serves every person present at the start exactly once while persons are added and updated between pages', async () => {
    const seen: string[] = []
    const added: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const body = await page(cursor)
      seen.push(...body.items.map((i) => i.id))
      cursor = body.nextCursor
      pages++
      // An import lands between two pages: new persons, and changes to persons already served and not yet served.
      if (pages <= 3) {
        added.push(...(await addPersons(5)))
        await t.db.query(`update dossiers set etat_droit = '4', updated_at = now() where id in (select id from dossiers order by random() limit 20)`)
        await t.db.query(`update persons set nom = 'NOM-CHANGED', updated_at = now() where id in (select id from persons order by random() limit 20)`)
      }
      expect(pages).toBeLessThan(50)
    } while (cursor)
    expect(new Set(seen).size).toBe(seen.length)
    for (const id of initial) expect(seen).toContain(id)
    // Persons added during the walk sort after the cursor: they are served too, once.
    for (const id of added) expect(seen).toContain(id)
    expect(seen.length).toBe(initial.size + added.length)
  })

  it('refuses a cursor that was tampered with or comes from another list', async () => {
    const first = await page(null)
    const [id, mac] = first.nextCursor!.split('.')
    const forged = `${(parseInt(id!, 36) + 5).toString(36)}.${mac}`
    const res = await app.request(`/v1/beneficiaires?cursor=${forged}`, { headers: { Authorization: `Bearer ${token}` } })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.code).toBe('invalid_cursor')
  })
})
