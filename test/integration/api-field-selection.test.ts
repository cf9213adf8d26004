import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { seedAssignment, seedFile, seedOrganisation, seedPerson, seedToken, seedUser, syntheticNir13, testPurposes, WORLD_NOW } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * `champs` on the beneficiaries' routes: a caller reads some of its purpose's fields, never one more; the audit
 * event names what was chosen; a refused name is not echoed anywhere.
 */
describe.skipIf(postgresUnavailable())('choosing fields (champs)', () => {
  let t: TestDatabase
  let app: ApiApp
  let token: string
  let nirToken: string
  let audit: AuditWriter
  const ids: string[] = []
  const lines: string[] = []
  const keys = testKeys()
  const purposes = testPurposes()

  beforeAll(async () => {
    t = await createTestDatabase()
    const fileId = await seedFile(t.db)
    const org = await seedOrganisation(t.db, 1)
    const referent = await seedUser(t.db, 'champs@test.example', 'referent', org.id)
    const ftOrg = await seedOrganisation(t.db, 2, 'france-travail')
    const ftReferent = await seedUser(t.db, 'champs-ft@test.example', 'referent', ftOrg.id)
    for (let n = 1; n <= 12; n++) {
      const p = await seedPerson(t.db, keys, fileId, { n })
      await seedAssignment(t.db, { personId: p.personId, organisationId: org.id, referentUserId: referent.id, startsOn: '2026-01-01' })
      await seedAssignment(t.db, { personId: p.personId, organisationId: ftOrg.id, referentUserId: ftReferent.id, startsOn: '2026-01-01' })
      ids.push(p.publicId)
    }
    token = (await seedToken(t.db, purposes, 'champs@test.example', 'test-accompagnement', WORLD_NOW, '1y')).token
    nirToken = (await seedToken(t.db, purposes, 'champs-ft@test.example', 'test-nir', WORLD_NOW, '1y')).token
    audit = new AuditWriter(t.db)
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean))
        done()
      },
    })
    const log = createLogger({ level: 'debug', destination })
    app = createApp({ db: t.db, keys, purposes, audit, log, now: () => WORLD_NOW, options: { rateLimit: { perSecond: 1000, burst: 1000 } } })
  })
  afterAll(() => t?.drop())

  const get = async (url: string, bearer = token) => {
    const res = await app.request(url, { headers: { Authorization: `Bearer ${bearer}` } })
    return { status: res.status, body: (await res.json()) as any, text: '' }
  }
  const lastEvent = async () => {
    await audit.drain()
    return (await t.db.query<{ action: string; outcome: string; details: any }>('select action, outcome, details from audit_events order by seq desc limit 1')).rows[0]!
  }

  it('lists only the chosen fields, with the same values as the whole record, and audits the choice', async () => {
    const whole = await get('/v1/beneficiaires?limit=50')
    const chosen = await get('/v1/beneficiaires?limit=50&champs=nom,etatDroit,nom')
    expect(chosen.status).toBe(200)
    expect(chosen.body.items).toHaveLength(12)
    for (const item of chosen.body.items) {
      expect(Object.keys(item.data).sort()).toEqual(['etatDroit', 'nom'])
      const full = whole.body.items.find((i: any) => i.id === item.id)
      expect(item.data).toEqual({ nom: full.data.nom, etatDroit: full.data.etatDroit })
      expect(item.access).toEqual(full.access)
    }
    const event = await lastEvent()
    expect(event.action).toBe('api.beneficiaires.list')
    expect(event.details.champs).toEqual(['etatDroit', 'nom'])
    expect(event.details.count).toBe(12)
  })

  it('keeps a transform: a chosen year of birth is still a year, a chosen département still not a postcode', async () => {
    const chosen = await get(`/v1/beneficiaires/${ids[0]}?champs=anneeNaissance,departement`)
    expect(chosen.status).toBe(200)
    expect(Object.keys(chosen.body.data).sort()).toEqual(['anneeNaissance', 'departement'])
    const whole = await get(`/v1/beneficiaires/${ids[0]}`)
    expect(chosen.body.data).toEqual({ anneeNaissance: whole.body.data.anneeNaissance, departement: whole.body.data.departement })
    expect(String(chosen.body.data.anneeNaissance)).toMatch(/^\d{4}$/)
  })

  it('refuses a name the purpose does not expose — another purpose’s field, a catalogue id, a value — and never echoes it', async () => {
    const sentinel = syntheticNir13(3)
    for (const champs of ['nir', 'montant', 'personne.nom', 'nom,nir', sentinel, `nom,${sentinel}`]) {
      const before = lines.length
      const list = await get(`/v1/beneficiaires?champs=${champs}`)
      expect(list.status, champs).toBe(400)
      expect(list.body.error.code).toBe('unknown_field')
      const one = await get(`/v1/beneficiaires/${ids[0]}?champs=${champs}`)
      expect(one.status).toBe(400)
      expect(one.body.error.code).toBe('unknown_field')
      const said = JSON.stringify([list.body, one.body, lines.slice(before)])
      expect(said).not.toContain(sentinel)
      expect(said).not.toMatch(/"nir"|montant/)
      const event = await lastEvent()
      expect(event.outcome).not.toBe('granted')
      expect(JSON.stringify(event.details)).not.toContain(sentinel)
    }
  })

  it('refuses malformed lists (empty names, spaces, too long) as invalid parameters', async () => {
    for (const champs of ['', 'nom,', ',nom', 'nom,,prenom', 'nom%20prenom', 'a'.repeat(2001)]) {
      const res = await get(`/v1/beneficiaires?champs=${champs}`)
      expect(res.status, champs.slice(0, 20)).toBe(400)
      expect(res.body.error.code).toBe('invalid_parameters')
    }
  })

  it('a selection never widens a purpose: the NIR purpose can choose its NIR, the referent purpose cannot', async () => {
    const nir = await get(`/v1/beneficiaires/${ids[1]}?champs=nir`, nirToken)
    expect(nir.status).toBe(200)
    expect(Object.keys(nir.body.data)).toEqual(['nir'])
    expect(nir.body.data.nir).toMatch(/^\d{13}$/)
    const refused = await get(`/v1/beneficiaires/${ids[1]}?champs=nir`)
    expect(refused.status).toBe(400)
  })

  it('a person outside the portfolio answers 404 whatever the selection', async () => {
    const res = await get('/v1/beneficiaires/0b9f3c1e-4d2a-4e8b-9a57-2f3c6d7e8f90?champs=nom')
    expect(res.status).toBe(404)
  })

  it('the history still answers (it reads the person’s changes, no field of the record)', async () => {
    const res = await get(`/v1/beneficiaires/${ids[2]}/historique`)
    expect(res.status).toBe(200)
    expect(res.body.id).toBe(ids[2])
  })
})
