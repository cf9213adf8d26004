import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { buildWorld, testPurposes, WORLD_NOW, worldApp, type World } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * The authorisation matrix: roles × endpoints × inside/outside the portfolio × purposes × unusable tokens, asserting
 * the status and the exact set of fields served.
 */
const ACCOMPAGNEMENT_FIELDS = ['anneeNaissance', 'departement', 'etatDroit', 'etatFranceTravail', 'nom', 'numeroDemandeRsa', 'prenom', 'roleDossier', 'soumisDroitsDevoirs']
const PERSONS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10']

// Who sees whom on the world's clock (see buildWorld): everything else is 404.
const VISIBLE: Record<string, string[]> = {
  refA1: ['p1', 'p4'], // p4 in its grace period; p5 past it; p6 limited; p8 not started; p7 structure-only
  'refA1-etat': ['p1', 'p4'],
  refA2: ['p2'],
  mgrA: ['p1', 'p2', 'p4', 'p7'],
  refB: ['p3', 'p4'],
  refFT: ['p10'],
  admin: [],
  dpo: [],
  stat: [],
  // The département's instructor: the whole active base, but for p6 (limited).
  instr: ['p1', 'p2', 'p3', 'p4', 'p5', 'p7', 'p8', 'p9', 'p10'],
}
const INSTRUCTION_FIELDS = ['etatDroit', 'nir', 'numeroDemandeRsa']

describe.skipIf(postgresUnavailable())('partner API authorisation', () => {
  let t: TestDatabase
  let app: ApiApp
  let world: World
  let clock = WORLD_NOW
  const keys = testKeys()
  const purposes = testPurposes()

  const get = (token: string | undefined, path: string) =>
    app.request(path, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } })

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    app = worldApp(t.db, keys, purposes, { now: () => clock })
  })
  afterAll(() => t?.drop())

  describe('GET /v1/beneficiaires/{id}', () => {
    for (const [caller, visible] of Object.entries(VISIBLE)) {
      it(`${caller}: sees exactly ${visible.join(', ') || 'nobody'}; everyone else is 404`, async () => {
        for (const p of PERSONS) {
          const res = await get(world.tokens[caller], `/v1/beneficiaires/${world.persons[p]!.publicId}`)
          expect({ p, status: res.status }).toEqual({ p, status: visible.includes(p) ? 200 : 404 })
          const body = (await res.json()) as Record<string, any>
          if (res.status === 404) expect(body).toEqual({ error: { code: 'not_found', message: 'no such resource' } })
          else expect(Object.keys(body).sort()).toEqual(['access', 'data', 'id', 'updatedAt'])
        }
      })
    }

    it('serves exactly the fields of the token’s purpose, under its names and transforms', async () => {
      const p1 = world.persons.p1!
      const full = (await (await get(world.tokens.refA1, `/v1/beneficiaires/${p1.publicId}`)).json()) as any
      expect(Object.keys(full.data).sort()).toEqual(ACCOMPAGNEMENT_FIELDS)
      expect(full.data).toMatchObject({
        nom: 'NOM-0001',
        anneeNaissance: Number(p1.dateNaissance.slice(0, 4)),
        departement: '93',
        etatDroit: '3',
        etatFranceTravail: 'inscription',
        roleDossier: 'DEM',
        numeroDemandeRsa: p1.numdemrsa,
      })
      expect(full.access).toEqual({ via: 'referent', mode: 'current', readOnly: false, until: null })
      const narrow = (await (await get(world.tokens['refA1-etat'], `/v1/beneficiaires/${p1.publicId}`)).json()) as any
      expect(narrow.data).toEqual({ etatDroit: '3' })
    })

    it('decrypts the NIR only for a purpose that declares it', async () => {
      const p10 = world.persons.p10!
      const body = (await (await get(world.tokens.refFT, `/v1/beneficiaires/${p10.publicId}`)).json()) as any
      expect(Object.keys(body.data).sort()).toEqual(['montant', 'nir', 'ressources'])
      expect(body.data.nir).toBe(p10.nir13)
      expect(body.data.montant).toBe('612.50')
      expect(body.data.ressources).toBe('100.00')
      const other = (await (await get(world.tokens.refA1, `/v1/beneficiaires/${world.persons.p1!.publicId}`)).json()) as any
      expect(JSON.stringify(other)).not.toContain(world.persons.p1!.nir13)
    })

    it('gives the département’s instructor every person of the active base through the instruction purpose', async () => {
      const p9 = world.persons.p9!
      const body = (await (await get(world.tokens.instr, `/v1/beneficiaires/${p9.publicId}`)).json()) as any
      expect(body.access).toEqual({ via: 'departement', mode: 'current', readOnly: false, until: null })
      expect(Object.keys(body.data).sort()).toEqual(INSTRUCTION_FIELDS)
      expect(body.data.nir).toBe(p9.nir13)
      expect(body.data.numeroDemandeRsa).toBe(p9.numdemrsa)
      const me = (await (await get(world.tokens.instr, '/v1/me')).json()) as any
      expect(me.portfolio).toEqual({ relation: 'departement', graceDays: 30 })
    })

    it('marks a former referent’s access read-only until the end of the grace period', async () => {
      const body = (await (await get(world.tokens.refA1, `/v1/beneficiaires/${world.persons.p4!.publicId}`)).json()) as any
      expect(body.access).toEqual({ via: 'referent', mode: 'grace', readOnly: true, until: '2026-07-05' })
    })
  })

  describe('GET /v1/beneficiaires', () => {
    for (const [caller, visible] of Object.entries(VISIBLE)) {
      it(`${caller}: lists exactly ${visible.join(', ') || 'nobody (404)'}`, async () => {
        const res = await get(world.tokens[caller], '/v1/beneficiaires?limit=200')
        if (visible.length === 0) {
          expect(res.status).toBe(404)
          return
        }
        expect(res.status).toBe(200)
        const body = (await res.json()) as any
        const ids = body.items.map((i: any) => i.id).sort()
        expect(ids).toEqual(visible.map((p) => world.persons[p]!.publicId).sort())
        expect(body.nextCursor).toBeNull()
        const purposeFields =
          caller === 'refA1-etat' ? ['etatDroit'] : caller === 'refFT' ? ['montant', 'nir', 'ressources'] : caller === 'instr' ? INSTRUCTION_FIELDS : ACCOMPAGNEMENT_FIELDS
        for (const item of body.items) expect(Object.keys(item.data).sort()).toEqual(purposeFields)
      })
    }

    it('filters on fields the purpose exposes, and refuses filters on fields it does not', async () => {
      const list = async (token: string, query: string) => {
        const res = await get(token, `/v1/beneficiaires?${query}`)
        return { status: res.status, body: (await res.json()) as any }
      }
      const ids = (r: { body: any }) => r.body.items.map((i: any) => i.id).sort()
      const { persons: p } = world
      expect(ids(await list(world.tokens.mgrA!, 'etatDroit=3'))).toEqual([p.p1!.publicId, p.p7!.publicId].sort())
      expect(ids(await list(world.tokens.mgrA!, 'soumisDroitsDevoirs=false'))).toEqual([p.p2!.publicId])
      expect(ids(await list(world.tokens.mgrA!, 'inscritFranceTravail=true'))).toEqual([p.p1!.publicId, p.p4!.publicId].sort())
      expect(ids(await list(world.tokens.mgrA!, 'inscritFranceTravail=false'))).toEqual([p.p2!.publicId, p.p7!.publicId].sort())
      expect(ids(await list(world.tokens.mgrA!, 'modifieDepuis=2000-01-01T00:00:00Z'))).toHaveLength(4)
      expect(ids(await list(world.tokens.mgrA!, 'modifieDepuis=2199-01-01T00:00:00Z'))).toEqual([])
      const refused = await list(world.tokens['refA1-etat']!, 'inscritFranceTravail=true')
      expect(refused.status).toBe(400)
      expect(refused.body.error.code).toBe('filter_not_allowed')
      expect((await list(world.tokens['refA1-etat']!, 'etatDroit=3')).status).toBe(200)
    })
  })

  describe('GET /v1/beneficiaires/{id}/historique', () => {
    it('shows the changes of the fields the purpose declares, and is 404 outside the portfolio', async () => {
      const p1 = world.persons.p1!
      await t.db.query(
        `insert into state_changes (dossier_id, field, old_value, new_value, effective_date, file_id, transmitted_at)
         select $1, f.field, f.old, f.new, '2026-03-01', (select max(id) from files), now()
         from (values ('etat_droit', '2', '3'), ('transmission_state', 'transmitted', 'not_transmitted'), ('motif_suspension_versement', null, '44')) f (field, old, new)`,
        [p1.dossierId],
      )
      await t.db.query(
        `insert into state_changes (person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
         values ($1, 'france_travail.etat', null, 'inscription', '2026-01-10', (select max(id) from files), now())`,
        [p1.matchKey],
      )
      const body = (await (await get(world.tokens.refA1, `/v1/beneficiaires/${p1.publicId}/historique`)).json()) as any
      expect(body.items.map((i: any) => [i.field, i.from, i.to])).toEqual([
        ['etatDroit', '2', '3'],
        ['etatFranceTravail', null, 'inscription'],
      ])
      const narrow = (await (await get(world.tokens['refA1-etat'], `/v1/beneficiaires/${p1.publicId}/historique`)).json()) as any
      expect(narrow.items.map((i: any) => i.field)).toEqual(['etatDroit'])
      expect((await get(world.tokens.refB, `/v1/beneficiaires/${p1.publicId}/historique`)).status).toBe(404)
    })
  })

  describe('GET /v1/me', () => {
    it('names the user, organisation, purpose and its fields', async () => {
      const body = (await (await get(world.tokens.mgrA, '/v1/me')).json()) as any
      expect(body.user).toMatchObject({ email: 'mgra@test.example', role: 'structure-manager' })
      expect(body.organisation).toMatchObject({ siret: world.orgs.A.siret, type: 'ccas' })
      expect(body.purpose.id).toBe('test-accompagnement')
      expect(body.fields.map((f: any) => f.name).sort()).toEqual(ACCOMPAGNEMENT_FIELDS)
      expect(body.portfolio).toEqual({ relation: 'structure', graceDays: 30 })
    })
  })

  describe('administration and DPO routes', () => {
    const adminPaths = ['/v1/admin/organisations', '/v1/admin/users', '/v1/admin/assignments']
    const dpoPaths = ['/v1/dpo/audit-events', () => `/v1/dpo/beneficiaires/${world.persons.p1!.publicId}/acces`]
    for (const caller of Object.keys(VISIBLE)) {
      it(`${caller}: admin routes ${caller === 'admin' ? 'open' : '404'}, DPO routes ${caller === 'dpo' ? 'open' : '404'}`, async () => {
        for (const path of adminPaths) expect({ path, status: (await get(world.tokens[caller], path)).status }).toEqual({ path, status: caller === 'admin' ? 200 : 404 })
        for (const p of dpoPaths) {
          const path = typeof p === 'string' ? p : p()
          expect({ path, status: (await get(world.tokens[caller], path)).status }).toEqual({ path, status: caller === 'dpo' ? 200 : 404 })
        }
      })
    }
  })

  describe('unusable credentials', () => {
    const paths = () => [
      '/v1/me',
      '/v1/beneficiaires',
      `/v1/beneficiaires/${world.persons.p1!.publicId}`,
      `/v1/beneficiaires/${world.persons.p1!.publicId}/historique`,
      '/v1/admin/users',
      '/v1/dpo/audit-events',
      '/v1/no-such-route',
    ]
    const cases: [string, () => string | undefined][] = [
      ['no token', () => undefined],
      ['an expired token', () => world.tokens.expired],
      ['a revoked token', () => world.tokens.revoked],
      ['a deactivated user’s token', () => world.tokens.inactive],
      ['an unknown token', () => `psl_${'A'.repeat(43)}`],
      ['a malformed token', () => 'not-a-token'],
    ]
    for (const [name, token] of cases) {
      it(`answers 401 to ${name} on every route`, async () => {
        for (const path of paths()) {
          const res = await get(token(), path)
          expect({ path, status: res.status }).toEqual({ path, status: 401 })
          expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'a valid bearer token is required' } })
          expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="passerelle"/)
        }
      })
    }

    it('with a token cache, honours a revocation made elsewhere within the cache delay', async () => {
      let now = WORLD_NOW
      const cached = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => now, options: { tokenCacheMs: 2000 } })
      const { seedToken } = await import('../helpers/api-seed.ts')
      const issued = await seedToken(t.db, purposes, world.users.refB!.email, 'test-accompagnement', WORLD_NOW, '1y')
      const me = () => cached.request('/v1/me', { headers: { Authorization: `Bearer ${issued.token}` } })
      expect((await me()).status).toBe(200)
      await t.db.query('update api_tokens set revoked_at = $2 where id = $1', [issued.id, WORLD_NOW])
      now = new Date(WORLD_NOW.getTime() + 1999)
      expect((await me()).status).toBe(200)
      now = new Date(WORLD_NOW.getTime() + 2000)
      expect((await me()).status).toBe(401)
    })

    it('stops a token whose purpose no longer names the user’s role', async () => {
      const narrowed = new Map(purposes)
      const declared = purposes.get('test-accompagnement')!
      narrowed.set('test-accompagnement', { ...declared, recipients: declared.recipients.filter((r) => r.role !== 'structure-manager') })
      const strict = createApp({ db: t.db, keys, purposes: narrowed, audit: new AuditWriter(t.db), now: () => clock })
      const res = await strict.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.mgrA}` } })
      expect(res.status).toBe(401)
    })
  })

  describe('the grace period follows the injected clock, in Paris days', () => {
    it('keeps the former referent’s access through the 30th day after the end, not the 31st', async () => {
      const p4 = `/v1/beneficiaires/${world.persons.p4!.publicId}`
      try {
        clock = new Date('2026-07-05T21:59:00Z') // 23:59 in Paris, 5 July: the last day
        expect((await get(world.tokens.refA1, p4)).status).toBe(200)
        clock = new Date('2026-07-05T22:01:00Z') // 00:01 in Paris, 6 July
        expect((await get(world.tokens.refA1, p4)).status).toBe(404)
        expect((await get(world.tokens.mgrA, p4)).status).toBe(404)
        expect((await get(world.tokens.refB, p4)).status).toBe(200)
        // The future assignment of p8 starts on 1 July.
        clock = new Date('2026-06-30T21:59:00Z')
        expect((await get(world.tokens.refA1, `/v1/beneficiaires/${world.persons.p8!.publicId}`)).status).toBe(404)
        clock = new Date('2026-06-30T22:01:00Z')
        expect((await get(world.tokens.refA1, `/v1/beneficiaires/${world.persons.p8!.publicId}`)).status).toBe(200)
      } finally {
        clock = WORLD_NOW
      }
    })

    it('uses the configured grace period', async () => {
      const short = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => WORLD_NOW, options: { graceDays: 5 } })
      const res = await short.request(`/v1/beneficiaires/${world.persons.p4!.publicId}`, { headers: { Authorization: `Bearer ${world.tokens.refA1}` } })
      expect(res.status).toBe(404)
    })

    it('serves a limited person again once the limitation is lifted', async () => {
      const p6 = `/v1/beneficiaires/${world.persons.p6!.publicId}`
      expect((await get(world.tokens.refA1, p6)).status).toBe(404)
      await t.db.query('update limitations set lifted_at = $2 where person_id = $1', [world.persons.p6!.personId, WORLD_NOW])
      try {
        expect((await get(world.tokens.refA1, p6)).status).toBe(200)
      } finally {
        await t.db.query('update limitations set lifted_at = null where person_id = $1', [world.persons.p6!.personId])
      }
    })
  })
})
