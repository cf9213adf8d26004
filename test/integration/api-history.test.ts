import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { seedAssignment, seedFile, seedOrganisation, seedPerson, seedToken, seedUser, testPurposes, WORLD_NOW, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * A person's history mixes the changes of their dossiers and of their France Travail registration (by person key),
 * oldest first; pages walk it exactly once, and no other person's change ever shows.
 */
describe.skipIf(postgresUnavailable())('history of a beneficiary', () => {
  let t: TestDatabase
  let app: ApiApp
  let token: string
  let fileId: number
  const people: SeededPerson[] = []
  const keys = testKeys()
  const purposes = testPurposes()
  /** Change ids of each person, in the order they were written. */
  const expected = new Map<number, number[]>()

  const change = async (person: SeededPerson, onDossier: boolean, to: string) => {
    const { rows } = await t.db.query<{ id: number }>(
      `insert into state_changes (dossier_id, person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
       values ($1, $2, $3, 'x', $4, '2026-03-01', $5, now()) returning id`,
      [onDossier ? person.dossierId : null, onDossier ? null : person.matchKey, onDossier ? 'etat_droit' : 'etat', to, fileId],
    )
    expected.get(person.personId)!.push(rows[0]!.id)
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    fileId = await seedFile(t.db)
    const org = await seedOrganisation(t.db, 1)
    const referent = await seedUser(t.db, 'history@test.example', 'referent', org.id)
    for (let n = 1; n <= 3; n++) {
      const p = await seedPerson(t.db, keys, fileId, { n })
      await seedAssignment(t.db, { personId: p.personId, organisationId: org.id, referentUserId: referent.id, startsOn: '2026-01-01' })
      people.push(p)
      expected.set(p.personId, [])
    }
    // Interleaved: the three persons' dossier and France Travail changes, in one id sequence.
    for (let round = 0; round < 7; round++) {
      for (const p of people) await change(p, round % 3 !== 1, String(round % 7))
    }
    token = (await seedToken(t.db, purposes, 'history@test.example', 'test-accompagnement', WORLD_NOW, '1y')).token
    app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => WORLD_NOW, options: { rateLimit: { perSecond: 1000, burst: 1000 } } })
  })
  afterAll(() => t?.drop())

  it('serves both kinds of change of the person only, oldest first, each once across pages', async () => {
    for (const p of people) {
      const seen: { field: string; to: unknown }[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const res = await app.request(`/v1/beneficiaires/${p.publicId}/historique?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { headers: { Authorization: `Bearer ${token}` } })
        expect(res.status).toBe(200)
        const body = (await res.json()) as { items: { field: string; to: unknown }[]; nextCursor: string | null }
        seen.push(...body.items)
        cursor = body.nextCursor
        expect(++pages).toBeLessThan(20)
      } while (cursor)
      const ids = expected.get(p.personId)!
      expect(seen).toHaveLength(ids.length)
      expect(seen.map((i) => i.field)).toEqual(ids.map((_, round) => (round % 3 !== 1 ? 'etatDroit' : 'etatFranceTravail')))
      expect(seen.map((i) => String(i.to))).toEqual(ids.map((_, round) => String(round % 7)))
    }
  })
})
