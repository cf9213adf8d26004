import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEventInput } from '../../src/audit/chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { buildWorld, testPurposes, type World } from '../helpers/api-seed.ts'
import { startConsoleWorld, type ConsoleWorld } from '../helpers/console-world.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * The console holds no authorisation of its own: the API's authorisation probes (test/integration/api-authorisation)
 * run again through the console's pages, signed in through the local OpenID Connect provider. A referent reaches
 * through the console exactly what the API serves them, and nothing the API refuses: another portfolio, another
 * structure, another purpose's fields, another role's pages.
 */
const PERSONS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10']
const VISIBLE: Record<string, string[]> = {
  refA1: ['p1', 'p4'],
  refA2: ['p2'],
  mgrA: ['p1', 'p2', 'p4', 'p7'],
  refB: ['p3', 'p4'],
  refFT: ['p10'],
  admin: [],
  dpo: [],
  stat: [],
  instr: ['p1', 'p2', 'p3', 'p4', 'p5', 'p7', 'p8', 'p9', 'p10'],
}

describe.skipIf(postgresUnavailable())('console authorisation (the API probes through the console)', () => {
  let t: TestDatabase
  let world: World
  let site: ConsoleWorld
  const keys = testKeys()
  const purposes = testPurposes()
  const events: AuditEventInput[] = []
  const cookies: Record<string, string> = {}
  const page = (who: string, path: string, init: RequestInit = {}) =>
    fetch(`${site.url}${path}`, { redirect: 'manual', ...init, headers: { cookie: cookies[who] ?? '', ...(init.headers as Record<string, string>) } })

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await buildWorld(t.db, keys, purposes)
    site = await startConsoleWorld(t.db, keys, purposes, world, { onAudit: (e) => events.push(e) })
    for (const who of Object.keys(VISIBLE)) {
      const signed = await site.signIn(world.users[who]!.email)
      expect(signed.cookie, who).not.toBe('')
      cookies[who] = signed.cookie
    }
  })
  afterAll(async () => {
    await site?.close()
    await t?.drop()
  })

  it('signs in declared users only; an unknown or deactivated agent gets no session, and the refusal is audited', async () => {
    const unknown = await site.signIn('nobody@test.example')
    expect(unknown.cookie).toBe('')
    expect(unknown.location).toBe('/console?erreur=inconnu')
    const inactive = await site.signIn(world.users.inactive!.email)
    expect(inactive.cookie).toBe('')
    const refusals = events.filter((e) => e.action === 'console.sign_in' && e.outcome === 'denied').map((e) => e.details.reason)
    expect(refusals).toEqual(expect.arrayContaining(['unknown_user', 'inactive_user']))
    const { rows } = await t.db.query<{ n: number }>(`select count(*)::int as n from users where email = 'nobody@test.example'`)
    expect(rows[0]!.n).toBe(0)
  })

  it('sets the session cookie HttpOnly and SameSite=Lax on /console only', async () => {
    const first = await fetch(`${site.url}/console/connexion`, { redirect: 'manual' })
    const line = first.headers.getSetCookie().join('\n')
    expect(line).toMatch(/HttpOnly/)
    expect(line).toMatch(/SameSite=Lax/)
    expect(line).toMatch(/Path=\/console/)
  })

  for (const [who, visible] of Object.entries(VISIBLE)) {
    it(`${who}: a person's page opens for exactly ${visible.join(', ') || 'nobody'}`, async () => {
      for (const p of PERSONS) {
        const res = await page(who, `/console/beneficiaires/${world.persons[p]!.publicId}`)
        expect({ p, status: res.status }).toEqual({ p, status: visible.includes(p) ? 200 : 404 })
        const text = await res.text()
        if (!visible.includes(p)) expect(text).not.toContain(`NOM-${String(p.slice(1)).padStart(4, '0')}`)
      }
    })
  }

  it('lists in the portfolio only the persons the API lists', async () => {
    for (const who of ['refA1', 'refA2', 'mgrA', 'refB']) {
      const html = await (await page(who, '/console/portefeuille')).text()
      const shown = PERSONS.filter((p) => html.includes(world.persons[p]!.publicId))
      const api = (await (await site.api.request('/v1/beneficiaires?limit=200', { headers: { Authorization: `Bearer ${world.tokens[who]}` } })).json()) as { items: { id: string }[] }
      const served = PERSONS.filter((p) => api.items.some((i) => i.id === world.persons[p]!.publicId))
      expect({ who, shown }).toEqual({ who, shown: served })
    }
  })

  it('shows only the fields of the session’s purpose: no NIR, no amount to a referent of a CCAS', async () => {
    const html = await (await page('refA1', `/console/beneficiaires/${world.persons.p1!.publicId}`)).text()
    expect(html).toContain('NOM-0001')
    expect(html).not.toContain(world.persons.p1!.nir13)
    expect(html).not.toContain('612')
    expect(html).not.toContain(world.persons.p1!.dateNaissance)
  })

  it('refuses a filter value the API refuses, and serves nobody', async () => {
    const res = await page('refA1', '/console/portefeuille?etatDroit=9')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Un filtre n’est pas valide.')
    expect(html).not.toContain('NOM-0')
  })

  it('keeps the DPO’s and the admin’s pages from a referent (404, as the API)', async () => {
    for (const path of ['/console/dpo/demandes', '/console/dpo/journal', '/console/dpo/gels', '/console/dpo/registre', '/console/admin/affectations', '/console/admin/jetons', '/console/admin/utilisateurs', '/console/admin/executions']) {
      const res = await page('refA1', path)
      expect({ path, status: res.status }).toEqual({ path, status: 404 })
    }
    for (const path of ['/console/portefeuille']) {
      const html = await (await page('dpo', path)).text()
      expect(html).not.toContain('NOM-0')
    }
  })

  it('refuses a form without the session’s CSRF token, and a form from no session', async () => {
    const body = new URLSearchParams({ beneficiaireId: world.persons.p9!.publicId, organisationSiret: world.orgs.A.siret, startsOn: '2026-06-15' })
    const forged = await page('admin', '/console/admin/affectations', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
    expect(forged.status).toBe(403)
    const anonymous = await fetch(`${site.url}/console/admin/affectations`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...Object.fromEntries(body), _csrf: 'x' }) })
    expect(anonymous.status).toBe(403)
    const { rows } = await t.db.query<{ n: number }>('select count(*)::int as n from assignments where person_id = $1', [world.persons.p9!.personId])
    expect(rows[0]!.n).toBe(0)
  })

  it('refuses a form body over 64 KiB unread (413), signed in or not, with a length or streamed without one; nothing changes', async () => {
    // Each on its own connection (node:http, no agent): the server closes one whose body it did not read.
    const post = (path: string, cookie: string, chunks: Buffer[], withLength: boolean) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const url = new URL(`${site.url}${path}`)
        const length = chunks.reduce((n, c) => n + c.length, 0)
        const req = request(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...(withLength ? { 'content-length': length } : {}) } },
          (res) => {
            let text = ''
            res.on('data', (d: Buffer) => (text += d.toString('utf8')))
            res.on('end', () => resolve({ status: res.statusCode!, text }))
          },
        )
        req.on('error', reject)
        const write = (i: number): void => {
          if (i === chunks.length) return void req.end()
          if (req.destroyed) return
          req.write(chunks[i], () => write(i + 1))
        }
        write(0)
      })
    const big = Buffer.from(new URLSearchParams({ beneficiaireId: world.persons.p9!.publicId, organisationSiret: world.orgs.A.siret, startsOn: '2026-06-15', note: 'x'.repeat(70 * 1024) }).toString())
    expect((await post('/console/deconnexion', '', [big], true)).status).toBe(413)
    const signedIn = await post('/console/admin/affectations', cookies.admin!, [big], true)
    expect(signedIn.status).toBe(413)
    expect(signedIn.text).toContain('Formulaire trop volumineux')
    // Streamed, no Content-Length (chunked): 2 MiB in 64 KiB chunks; the limit counts the bytes as they come.
    const chunks = Array.from({ length: 32 }, () => Buffer.alloc(64 * 1024, 'a'))
    expect((await post('/console/admin/affectations', cookies.admin!, chunks, false)).status).toBe(413)
    const { rows } = await t.db.query<{ n: number }>('select count(*)::int as n from assignments where person_id = $1', [world.persons.p9!.personId])
    expect(rows[0]!.n).toBe(0)
  })

  it('audits a console view exactly as the API audits it: same action, subject, purpose; the channel says console', async () => {
    const reads = async (after: number) =>
      (
        await t.db.query<{ seq: number; actor: string; purpose: string; subject: string; outcome: string; details: Record<string, unknown> }>(
          `select seq, actor, purpose, subject, outcome, details from audit_events where action = 'api.beneficiaire.read' and seq > $1 order by seq`,
          [after],
        )
      ).rows
    const head = async () => Number((await t.db.query<{ s: number | null }>('select max(seq) as s from audit_events')).rows[0]!.s ?? 0)
    await new Promise((r) => setTimeout(r, 100))
    let from = await head()
    await page('refA1', `/console/beneficiaires/${world.persons.p1!.publicId}`)
    await site.api.request(`/v1/beneficiaires/${world.persons.p1!.publicId}`, { headers: { Authorization: `Bearer ${world.tokens.refA1}` } })
    const [viaConsole, viaApi] = await reads(from)
    expect(viaConsole && viaApi).toBeTruthy()
    expect(viaConsole!.subject).toBe(viaApi!.subject)
    expect(viaConsole!.actor).toBe(viaApi!.actor)
    expect(viaConsole!.purpose).toBe(viaApi!.purpose)
    expect(viaConsole!.outcome).toBe('granted')
    expect(viaConsole!.details.channel).toBe('console')
    expect(viaConsole!.details.route).toBe('/v1/beneficiaires/:id')
    expect(viaApi!.details.tokenId).toBeDefined()
    // A refused view is audited as a denial, as the API's.
    from = await head()
    await page('refA1', `/console/beneficiaires/${world.persons.p3!.publicId}`)
    expect((await reads(from)).map((e) => e.outcome)).toEqual(['denied'])
  })

  it('DPO: rectification notice, limitation lifted, erasure simulated then done — each step through the rights API', async () => {
    const form = async (path: string, fields: Record<string, string>) => {
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await page('dpo', '/console/dpo/demandes/nouvelle')).text())![1]!
      return page('dpo', path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, _csrf: csrf }) })
    }
    const open = async (type: string, p: string, extra: Record<string, string> = {}) => {
      const res = await form('/console/dpo/demandes', { type, nir: world.persons[p]!.nir13, birthDate: world.persons[p]!.dateNaissance, receivedOn: '2026-06-10', ...extra })
      expect(res.status).toBe(303)
      return /\/console\/dpo\/demandes\/(\d+)/.exec(res.headers.get('location')!)![1]!
    }
    const rectification = await open('rectification', 'p2', { fields: 'personne.nom' })
    const notice = await page('dpo', `/console/dpo/demandes/${rectification}/avis`)
    expect(notice.status).toBe(200)
    const noticeText = await notice.text()
    expect(noticeText).toMatch(/Nom d(’|&#39;|')usage/)
    expect(noticeText).not.toContain('NOM-0002')
    const limitation = await open('limitation', 'p9')
    expect(await (await page('dpo', `/console/dpo/demandes/${limitation}`)).text()).toContain('Lever la limitation')
    expect((await form(`/console/dpo/demandes/${limitation}/lever`, {})).headers.get('location')).toContain('message=levee')
    const erasure = await open('erasure', 'p8')
    expect((await form(`/console/dpo/demandes/${erasure}/effacement`, { dryRun: 'true' })).headers.get('location')).toContain('message=simulation')
    expect((await t.db.query('select 1 from persons where id = $1', [world.persons.p8!.personId])).rows).toHaveLength(1)
    expect((await form(`/console/dpo/demandes/${erasure}/effacement`, { dryRun: 'false' })).headers.get('location')).toContain('message=effacee')
    expect((await form(`/console/dpo/demandes/${erasure}/cloture`, { outcome: 'granted' })).headers.get('location')).toContain('message=close')
    const list = await (await page('dpo', '/console/dpo/demandes')).text()
    expect(list).toContain(`Demande n° ${erasure}`)
    // The NIR typed into the form is in no page.
    expect(list).not.toContain(world.persons.p8!.nir13)
  })

  it('DPO: puts a legal hold on a dossier and releases it; a referent cannot', async () => {
    const csrfOf = async (who: string, path: string) => /name="_csrf" value="([^"]+)"/.exec(await (await page(who, path)).text())![1]!
    const post = async (who: string, path: string, fields: Record<string, string>) =>
      page(who, path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, _csrf: await csrfOf(who, who === 'dpo' ? '/console/dpo/gels' : '/console/portefeuille') }) })
    expect((await post('refA1', '/console/dpo/gels', { numdemrsa: world.persons.p1!.numdemrsa, reason: 'Contentieux TA 2026' })).status).toBe(404)
    const added = await post('dpo', '/console/dpo/gels', { numdemrsa: world.persons.p1!.numdemrsa, reason: 'Contentieux TA 2026', reference: 'TA-2026-001' })
    expect(added.headers.get('location')).toBe('/console/dpo/gels?message=pose')
    const { rows } = await t.db.query<{ id: number; released_at: Date | null }>('select id, released_at from legal_holds where numdemrsa = $1', [world.persons.p1!.numdemrsa])
    expect(rows).toHaveLength(1)
    expect((await post('dpo', `/console/dpo/gels/${rows[0]!.id}/levee`, {})).headers.get('location')).toBe('/console/dpo/gels?message=leve')
    expect((await post('dpo', `/console/dpo/gels/${rows[0]!.id}/levee`, {})).status).toBe(400)
    expect((await t.db.query<{ released_at: Date | null }>('select released_at from legal_holds where id = $1', [rows[0]!.id])).rows[0]!.released_at).not.toBeNull()
  })

  it('admin: revokes a partner token from the console; the API refuses it afterwards', async () => {
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await page('admin', '/console/admin/jetons')).text())![1]!
    const { rows } = await t.db.query<{ id: number }>(`select t.id from api_tokens t join users u on u.id = t.user_id where u.email = 'refb@test.example' and t.revoked_at is null`)
    const res = await page('admin', `/console/admin/jetons/${rows[0]!.id}/revocation`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) })
    expect(res.headers.get('location')).toBe('/console/admin/jetons?message=revoque')
    const api = await site.api.request('/v1/me', { headers: { Authorization: `Bearer ${world.tokens.refB}` } })
    expect(api.status).toBe(401)
  })

  it('switches purpose only to one that names the agent: the fields follow the purpose, as with a token', async () => {
    const signed = await site.signIn(world.users.refFT!.email)
    const get = (path: string) => fetch(`${site.url}${path}`, { redirect: 'manual', headers: { cookie: signed.cookie } })
    const post = async (purpose: string) => {
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await get('/console/portefeuille')).text())![1]!
      return fetch(`${site.url}/console/finalite`, { method: 'POST', redirect: 'manual', headers: { cookie: signed.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ purpose, _csrf: csrf }) })
    }
    const p10 = `/console/beneficiaires/${world.persons.p10!.publicId}`
    expect(await (await get(p10)).text()).not.toContain(world.persons.p10!.nir13)
    // test-instruction names instructors of a département only: refused, and nothing changes.
    expect((await post('test-instruction')).status).toBe(403)
    expect((await post('test-nir')).status).toBe(303)
    const html = await (await get(p10)).text()
    expect(html).toContain(world.persons.p10!.nir13)
    expect(html).not.toContain('NOM-0010')
  })

  it('signs out: the session is gone server-side', async () => {
    const signed = await site.signIn(world.users.refA2!.email)
    const home = await fetch(`${site.url}/console/portefeuille`, { headers: { cookie: signed.cookie } })
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await home.text())![1]!
    const out = await fetch(`${site.url}/console/deconnexion`, { method: 'POST', redirect: 'manual', headers: { cookie: signed.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) })
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toContain(site.provider.issuer)
    const after = await fetch(`${site.url}/console/portefeuille`, { redirect: 'manual', headers: { cookie: signed.cookie } })
    expect(after.status).toBe(303)
    expect(after.headers.get('location')).toBe('/console')
  })
})
