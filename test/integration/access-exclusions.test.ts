import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exclusionSql, processingExclusion, type ExclusionFacts } from '../../src/access/exclusions.ts'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { ApiApp } from '../../src/http/app.ts'
import { purposeFields } from '../../src/model/canonical-records.ts'
import { buildAccessExport } from '../../src/rights/access-export.ts'
import { selectRequest } from '../../src/rights/queries.ts'
import { readPopulation } from '../../src/statistics/queries.ts'
import { buildWorld, seedFile, seedPerson, testPurposes, worldApp, WORLD_NOW, type SeededPerson, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * One exclusion rule for every exit (src/access/exclusions.ts): a person under a limitation, and a person who
 * objected to a purpose with effect from an instant, are left out alike by the partner API, the statistical
 * extract and the rights access export — before and after the opposition takes effect.
 */
const PURPOSE = 'test-accompagnement'
const DAY = 86_400_000

describe.skipIf(postgresUnavailable())('access: one exclusion rule for the API, the extracts and the rights exports', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  let clock = WORLD_NOW
  const keys = testKeys()
  const purposes = testPurposes()
  /** The opposition of p1 to PURPOSE takes effect one day after the world's clock. */
  const OPPOSED_SINCE = new Date(WORLD_NOW.getTime() + DAY)

  const requestFor = async (person: SeededPerson, type: 'access' | 'opposition', purpose: string | null = null) => {
    const { rows } = await t.db.query<{ id: number }>(
      `insert into rights_requests (type, purpose, match_key, subject, matched_by, received_on, due_on, opened_by, opened_at)
       values ($1, $2, $3, $4, 'nir_and_birth_date', '2026-06-01', '2026-07-01', 'dpo', $5)
       returning id`,
      [type, purpose, person.matchKey, auditSubject(keys.pseudonym, person.matchKey), WORLD_NOW],
    )
    return rows[0]!.id
  }

  /** Whether each exit serves the person under PURPOSE at the clock. */
  const served = async (person: SeededPerson) => {
    const token = world.tokens.refA1!
    const api = (await app.request(`/v1/beneficiaires/${person.publicId}`, { headers: { Authorization: `Bearer ${token}` } })).status === 200
    const page = (await (await app.request('/v1/beneficiaires?limit=50', { headers: { Authorization: `Bearer ${token}` } })).json()) as { items: { id: string }[] }
    const listed = page.items.some((i) => i.id === person.publicId)
    const extracted: string[] = []
    await readPopulation(t.db, { fields: purposeFields(purposes.get(PURPOSE)!), roles: undefined, now: clock, purpose: PURPOSE, batchSize: 100 }, (rows) => {
      extracted.push(...rows.map((r) => r.match_key))
    })
    const request = (await selectRequest(t.db, await requestFor(person, 'access')))!
    const exported = await buildAccessExport(t.db, keys, purposes, request, clock)
    const view = exported.purposes.find((p) => p.id === PURPOSE)!
    return { api, listed, extract: extracted.includes(person.matchKey), export: view.records.length > 0 }
  }
  const everywhere = (yes: boolean) => ({ api: yes, listed: yes, extract: yes, export: yes })

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = worldApp(t.db, keys, purposes, { now: () => clock })
    const p1 = world.persons.p1!
    const opposition = await requestFor(p1, 'opposition', PURPOSE)
    await t.db.query(
      `insert into rights_oppositions (request_id, purpose, subject, person_id, since)
       values ($1, $2, $3, $4, $5)`,
      [opposition, PURPOSE, auditSubject(keys.pseudonym, p1.matchKey), p1.personId, OPPOSED_SINCE],
    )
  })
  afterAll(() => t?.drop())

  it('serves a person everywhere before their opposition takes effect', async () => {
    clock = WORLD_NOW
    expect(await served(world.persons.p1!)).toEqual(everywhere(true))
  })

  it('leaves the opposed person out everywhere once the opposition takes effect, and only under that purpose', async () => {
    clock = new Date(OPPOSED_SINCE.getTime() + 60_000)
    expect(await served(world.persons.p1!)).toEqual(everywhere(false))
    const other = await app.request(`/v1/beneficiaires/${world.persons.p1!.publicId}`, { headers: { Authorization: `Bearer ${world.tokens['refA1-etat']!}` } })
    expect(other.status).toBe(200)
  })

  it('leaves the person under a limitation out everywhere, and serves them again once it is lifted', async () => {
    const p6 = world.persons.p6!
    for (const at of [WORLD_NOW, new Date(OPPOSED_SINCE.getTime() + 60_000)]) {
      clock = at
      expect(await served(p6)).toEqual(everywhere(false))
    }
    await t.db.query('update limitations set lifted_at = $2 where person_id = $1', [p6.personId, new Date(WORLD_NOW.getTime() + 2 * DAY)])
    clock = new Date(WORLD_NOW.getTime() + 3 * DAY)
    expect(await served(p6)).toEqual(everywhere(true))
  })

  it('a person served is still served: the rule removes only the excluded', async () => {
    clock = new Date(OPPOSED_SINCE.getTime() + 60_000)
    expect(await served(world.persons.p7!)).toMatchObject({ extract: true, export: true })
  })

  it('the SQL twin agrees with the pure rule on random limitations and oppositions', async () => {
    const fileId = await seedFile(t.db)
    const person = await seedPerson(t.db, keys, fileId, { n: 90 })
    const subject = auditSubject(keys.pseudonym, person.matchKey)
    const opposition = await requestFor(person, 'opposition', PURPOSE)
    const base = WORLD_NOW.getTime()
    const instant = fc.integer({ min: -5, max: 5 }).map((d) => new Date(base + d * DAY))
    const facts = fc.record({
      limitations: fc.array(fc.record({ since: instant, liftedAt: fc.option(instant, { nil: null }) }), { maxLength: 2 }),
      oppositions: fc.array(fc.record({ purpose: fc.constantFrom(PURPOSE, 'test-etat-seul'), since: instant }), { maxLength: 2 }),
    })
    await fc.assert(
      fc.asyncProperty(facts, instant, fc.constantFrom(PURPOSE, 'test-etat-seul'), async (f, now, purpose) => {
        await t.db.query('delete from limitations where person_id = $1', [person.personId])
        await t.db.query('delete from rights_oppositions where person_id = $1', [person.personId])
        for (const l of f.limitations) await t.db.query('insert into limitations (person_id, since, lifted_at) values ($1, $2, $3)', [person.personId, l.since, l.liftedAt])
        const seen = new Set<string>()
        for (const o of f.oppositions) {
          if (seen.has(o.purpose)) continue // one opposition per subject and purpose
          seen.add(o.purpose)
          await t.db.query('insert into rights_oppositions (request_id, purpose, subject, person_id, since) values ($1, $2, $3, $4, $5)', [
            opposition,
            o.purpose,
            subject,
            person.personId,
            o.since,
          ])
        }
        const stored: ExclusionFacts = { place: 'active', limitations: f.limitations, oppositions: f.oppositions.filter((o, i, all) => all.findIndex((x) => x.purpose === o.purpose) === i) }
        const { rows } = await t.db.query<{ exclusion: string | null }>(`select ${exclusionSql('p', { now: '$2', purpose: '$3' })} as exclusion from persons p where p.id = $1`, [
          person.personId,
          now,
          purpose,
        ])
        expect(rows[0]!.exclusion ?? undefined).toBe(processingExclusion(stored, purpose, now))
      }),
      { numRuns: 40 },
    )
  })
})
