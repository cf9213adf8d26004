import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import type { ApiApp } from '../../src/http/app.ts'
import { buildWorld, testPurposes, worldApp, WORLD_NOW, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * A person who objected to a purpose (art. 21, recorded by the rights feature in rights_oppositions) is no longer
 * served under that purpose, and still is under the others.
 */
describe.skipIf(postgresUnavailable())('partner API and oppositions', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  const keys = testKeys()
  const purposes = testPurposes()
  const get = (token: string, path: string) => app.request(path, { headers: { Authorization: `Bearer ${token}` } })

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = worldApp(t.db, keys, purposes)
  })
  afterAll(() => t?.drop())

  it('hides the person under the purpose objected to, by id and in the portfolio, and only under it', async () => {
    const p1 = world.persons.p1!
    expect((await get(world.tokens.refA1!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(200)
    const { rows } = await t.db.query<{ id: number }>(
      `insert into rights_requests (type, purpose, subject, matched_by, received_on, due_on, opened_by, opened_at)
       values ('opposition', 'test-accompagnement', 'p_test', 'nir_and_birth_date', '2026-06-01', '2026-07-01', 'dpo', now())
       returning id`,
    )
    await t.db.query(
      `insert into rights_oppositions (request_id, purpose, subject, person_id, since)
       values ($1, 'test-accompagnement', 'p_test', $2, $3)`,
      // Granted at the world's clock: an opposition takes effect from its `since` (src/access/exclusions.ts).
      [rows[0]!.id, p1.personId, WORLD_NOW],
    )
    expect((await get(world.tokens.refA1!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(404)
    const page = (await (await get(world.tokens.refA1!, '/v1/beneficiaires?limit=50')).json()) as { items: { id: string }[] }
    expect(page.items.map((i) => i.id)).toContain(world.persons.p4!.publicId)
    expect(page.items.map((i) => i.id)).not.toContain(p1.publicId)
    // Under another purpose of the same referent, the person is still served.
    expect((await get(world.tokens['refA1-etat']!, `/v1/beneficiaires/${p1.publicId}`)).status).toBe(200)
  })
})
