import { readFileSync, statSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { decryptNir } from '../../src/crypto/nir-cipher.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { codeLabel, codeListOf } from '../../src/labels/code-labels.ts'
import { ISO_DURATION_PATTERN } from '../../src/labels/french-format.ts'
import { CANONICAL_FIELDS, FIELDS_BY_ID } from '../../src/model/fields.ts'
import { escapeHtml as esc } from '../../src/html/escape-html.ts'
import { writeAccessExport, type AccessExport } from '../../src/rights/access-export.ts'
import { openRequest } from '../../src/rights/requests.ts'
import { seedAssignment, seedOrganisation, seedToken, seedUser } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { adults, DPO_PURPOSE, loadPopulation, mappingsWith, rightsContext, type LoadedWorld, type Subject } from '../helpers/rights-world.ts'

const NOW = new Date('2026-04-10T10:00:00Z')

/**
 * Access (art. 15) end to end: generated CAF and France Travail files loaded by the real ingestion, accesses made
 * through the partner API (granted, in a list, refused), an archived dossier; the export holds every stored value of
 * the person and every access to their file, and nothing about anyone else.
 */
describe.skipIf(postgresUnavailable())('rights: access export with "who accessed my file"', () => {
  let t: TestDatabase
  let world: LoadedWorld
  let app: ApiApp
  const keys = testKeys()
  let x: Subject // the person asking
  let partner: Subject // same household
  let stranger: Subject // another foyer
  const ids: Record<string, number> = {}
  const tokens: Record<string, string> = {}
  let exported: AccessExport
  let outDir: string
  let html: string
  const get = (token: string, url: string) => app.request(url, { headers: { Authorization: `Bearer ${token}` } })

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await loadPopulation(t.db, keys, mappingsWith({ 'test-dpo': DPO_PURPOSE }), 12)
    const couples = adults(12, { withPartner: true, franceTravail: true })
    x = couples[0]!
    partner = adults(12).find((p) => p.foyerIndex === x.foyerIndex && p.matchKey !== x.matchKey)!
    stranger = adults(12).find((p) => p.foyerIndex !== x.foyerIndex)!
    for (const s of [x, partner, stranger]) {
      ids[s.matchKey] = (await t.db.query<{ id: number }>('select id from persons where match_key = $1', [s.matchKey])).rows[0]!.id
    }
    // An earlier RSA right of the person, closed and archived (as retention would have moved it).
    await t.db.query(
      `insert into archive.dossiers (id, public_id, policy_id, flow_id, organisme, numdemrsa, etat_droit, date_cloture, motif_cloture, file_id, transmitted_at, anchor_day, archived_at)
       values (990001, gen_random_uuid(), 'rsa-beneficiaires', 'caf-beneficiaires', 'CAF', 'ARCH0000001', '6', '2019-05-31', 'PCG', $1, '2019-06-02T03:00:00Z', '2019-05-31', '2021-06-01T02:00:00Z')`,
      [world.caf.fileId],
    )
    await t.db.query(
      `insert into archive.persons (id, public_id, policy_id, match_key, nom, prenom, date_naissance, file_id, transmitted_at, anchor_day, archived_at)
       values ($1, gen_random_uuid(), 'rsa-beneficiaires', $2, 'ANCIENNOMARCHIVE', $3, $4, $5, '2019-06-02T03:00:00Z', '2019-05-31', '2021-06-01T02:00:00Z')`,
      [ids[x.matchKey], x.matchKey, x.person.prenom, x.birthDate, world.caf.fileId],
    )
    await t.db.query(
      `insert into archive.dossier_members (dossier_id, person_id, role, file_id, transmitted_at)
       values (990001, $1, 'DEM', $2, '2019-06-02T03:00:00Z')`,
      [ids[x.matchKey], world.caf.fileId],
    )

    const purposes = world.declarations.purposes
    const ccas = await seedOrganisation(t.db, 1, 'ccas', 'CCAS de Testville')
    const asso = await seedOrganisation(t.db, 2, 'association', 'Association Tremplin')
    const dep = await seedOrganisation(t.db, 3, 'departement', 'Département de test')
    const ref = await seedUser(t.db, 'referente.nominative@ccas.example', 'referent', ccas.id)
    const other = await seedUser(t.db, 'autre.agent@asso.example', 'referent', asso.id)
    await seedUser(t.db, 'dpd@dep.example', 'dpo', dep.id)
    for (const s of [x, partner, stranger]) await seedAssignment(t.db, { personId: ids[s.matchKey]!, organisationId: ccas.id, referentUserId: ref.id, startsOn: '2026-01-01' })
    await seedAssignment(t.db, { personId: ids[stranger.matchKey]!, organisationId: asso.id, referentUserId: other.id, startsOn: '2026-01-01' })
    tokens.ref = (await seedToken(t.db, purposes, ref.email, 'accompagnement-rsa', NOW)).token
    tokens.other = (await seedToken(t.db, purposes, other.email, 'accompagnement-rsa', NOW)).token
    tokens.dpo = (await seedToken(t.db, purposes, 'dpd@dep.example', 'test-dpo', NOW)).token
    const audit = new AuditWriter(t.db)
    app = createApp({ db: t.db, keys, purposes, audit, now: () => NOW })

    const publicId = async (s: Subject) => (await t.db.query<{ public_id: string }>('select public_id::text as public_id from persons where match_key = $1', [s.matchKey])).rows[0]!.public_id
    expect((await get(tokens.ref!, `/v1/beneficiaires/${await publicId(x)}`)).status).toBe(200)
    expect((await get(tokens.ref!, '/v1/beneficiaires')).status).toBe(200)
    expect((await get(tokens.ref!, `/v1/beneficiaires/${await publicId(partner)}`)).status).toBe(200)
    expect((await get(tokens.other!, `/v1/beneficiaires/${await publicId(x)}`)).status).toBe(404)
    expect((await get(tokens.other!, `/v1/beneficiaires/${await publicId(stranger)}`)).status).toBe(200)
    expect((await get(tokens.dpo!, `/v1/dpo/beneficiaires/${await publicId(x)}/acces`)).status).toBe(200)
    await audit.drain()

    const ctx = rightsContext(t.db, world.declarations, NOW, keys)
    const opened = await openRequest(ctx, { type: 'access', nir: x.nir13, birthDate: x.birthDate, receivedOn: '2026-04-08' })
    outDir = path.join(mkdtempSync(path.join(tmpdir(), 'passerelle-rights-export-')), 'out')
    const written = await writeAccessExport(ctx, opened.request.id, outDir)
    exported = JSON.parse(readFileSync(written.json.path, 'utf8')) as AccessExport
    html = readFileSync(written.html.path, 'utf8')
    expect(statSync(written.json.path).mode & 0o777).toBe(0o600)
  })
  afterAll(() => t?.drop())

  const exportedValues = (place: 'active' | 'archive') =>
    exported.data.filter((i) => i.place === place).flatMap((i) => i.fields.map((f) => `${f.id}=${String(f.value)}`))

  it('holds every stored value of the person, each with its source flow and transmission time', async () => {
    const personId = ids[x.matchKey]!
    const expected: string[] = []
    const tables: [string, string, unknown[]][] = [
      ['persons', 'id = $1', [personId]],
      ['dossier_members', 'person_id = $1', [personId]],
      ['dossiers', 'id in (select dossier_id from dossier_members where person_id = $1)', [personId]],
      ['france_travail_registrations', 'person_key = $1', [x.matchKey]],
    ]
    for (const [table, where, params] of tables) {
      const fields = CANONICAL_FIELDS.filter((f) => f.table === table)
      const { rows } = await t.db.query<Record<string, unknown>>(
        `select ${fields.map((f) => (f.type === 'nir' ? `${f.column} as "${f.id}"` : `${f.column}::text as "${f.id}"`)).join(', ')} from ${table} where ${where}`,
        params,
      )
      expect(rows.length, table).toBeGreaterThan(0)
      for (const row of rows) {
        for (const f of fields) {
          const v = row[f.id]
          if (v === null || v === undefined) continue
          const text = f.type === 'nir' ? decryptNir(keys.nir, Buffer.from(v as Uint8Array)) : f.type === 'boolean' ? String(v === 'true' || v === true) : String(v)
          expected.push(`${f.id}=${text}`)
        }
      }
    }
    expect(expected.length).toBeGreaterThan(25)
    const held = exportedValues('active')
    expect(expected.filter((e) => !held.includes(e))).toEqual([])
    for (const item of exported.data) {
      expect(item.source.flowId).toMatch(/caf-beneficiaires|france-travail/)
      expect(item.source.transmittedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    }
    expect(exported.sources).toEqual(["CAF (Caisse d'allocations familiales)", 'France Travail'])
  })

  it('includes the archived dossier, and what each purpose sees through its projection', () => {
    expect(exportedValues('archive')).toEqual(expect.arrayContaining(['dossier.numdemrsa=ARCH0000001', 'dossier.motifCloture=PCG', 'personne.nom=ANCIENNOMARCHIVE']))
    const accompagnement = exported.purposes.find((p) => p.id === 'accompagnement-rsa')!
    expect(accompagnement.legalBasis.gdpr).toBe('6(1)(e)')
    const active = accompagnement.records.find((r) => r.place === 'active')!
    expect(active.fields.find((f) => f.name === 'nom')).toMatchObject({ value: x.person.nom, source: { flowId: 'caf-beneficiaires' } })
    expect(active.fields.find((f) => f.name === 'etatFranceTravail')?.source.flowId).toBe('france-travail')
    // The statistics purpose sees the birth year only; the NIR appears only for the purpose that declares it.
    const stats = exported.purposes.find((p) => p.id === 'statistiques')!.records.find((r) => r.place === 'active')!
    expect(stats.fields.find((f) => f.name === 'anneeNaissance')?.value).toBe(Number(x.birthDate.slice(0, 4)))
    expect(JSON.stringify(stats)).not.toContain(x.person.nom)
    expect(accompagnement.records.some((r) => r.place === 'archive' && r.fields.some((f) => f.value === 'ANCIENNOMARCHIVE'))).toBe(true)
  })

  it('lists every access to the file, from the audit log, without agents or other persons', async () => {
    const subject = auditSubject(keys.pseudonym, x.matchKey)
    const { rows } = await t.db.query<{ action: string; outcome: string }>(
      `select action, outcome from audit_events
       where (subject = $1 or (details -> 'subjects') @> jsonb_build_array($1::text))
         and action like 'api.%' and action not like 'api.dpo.%'
       order by seq`,
      [subject],
    )
    expect(rows.map((r) => `${r.action}:${r.outcome}`)).toEqual(['api.beneficiaire.read:granted', 'api.beneficiaires.list:granted', 'api.beneficiaire.read:denied'])
    const api = exported.accessHistory.filter((e) => e.action.startsWith('api.'))
    expect(api.map((e) => `${e.action}:${e.outcome}`)).toEqual(rows.map((r) => `${r.action}:${r.outcome}`))
    expect(api.map((e) => e.organisation)).toEqual(['CCAS de Testville', 'CCAS de Testville', 'Association Tremplin'])
    expect(api.every((e) => e.purposeTitle === world.declarations.purposes.get('accompagnement-rsa')!.title)).toBe(true)
    expect(exported.accessHistory.some((e) => e.action.startsWith('api.dpo.'))).toBe(false)
    expect(exported.accessHistory.some((e) => e.action === 'rights.open')).toBe(true)
  })

  it('holds nothing about anyone else', () => {
    const text = JSON.stringify(exported) + html
    const mine = new Set(JSON.stringify(exported.data).match(/"value":"[^"]*"/g) ?? [])
    const others = [
      partner.person.prenom,
      partner.nir13,
      stranger.person.prenom,
      stranger.person.nom,
      stranger.nir13,
      stranger.foyer.numdemrsa,
      auditSubject(keys.pseudonym, partner.matchKey),
      auditSubject(keys.pseudonym, stranger.matchKey),
      'referente.nominative',
      'autre.agent',
      'dpd@dep.example',
    ].filter((v) => !mine.has(`"value":"${v}"`))
    expect(others.length).toBeGreaterThan(8)
    expect(others.filter((v) => text.includes(v))).toEqual([])
    // The partner's own reads of their file are not in the person's history.
    expect(exported.accessHistory.filter((e) => e.action === 'api.beneficiaire.read')).toHaveLength(2)
  })

  it('is a standalone French page that escapes what it shows, and the exit is audited', async () => {
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('<html lang="fr">')
    expect(html).toContain('Qui a consulté votre dossier')
    expect(html).toContain('CCAS de Testville')
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.cnil)/)
    const { rows } = await t.db.query<{ subject: string; outcome: string; details: Record<string, unknown> }>(`select subject, outcome, details from audit_events where action = 'rights.export'`)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ subject: auditSubject(keys.pseudonym, x.matchKey), outcome: 'granted', details: { found: true } })
    const audit = JSON.stringify((await t.db.query('select * from audit_events')).rows)
    for (const v of [x.nir13, x.person.nom, x.person.prenom, x.birthDate]) expect(audit).not.toContain(v)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  it('shows every code with its French label, amounts in euros, and generalised values under their own name', () => {
    const fields = [...exported.data.flatMap((i) => i.fields.map((f) => ({ id: f.id, value: f.value, display: f.display })))]
    const coded = fields.filter((f) => codeListOf(f.id) && f.value !== null)
    // The person's dossier carries at least the state of the right, the role, the sex and the family situation.
    for (const id of ['dossier.etatDroit', 'personne.role', 'personne.sexe', 'dossier.situationFamiliale', 'personne.qualite', 'dossier.organisme']) {
      expect(coded.some((f) => f.id === id), id).toBe(true)
    }
    for (const f of coded) {
      const label = codeLabel(codeListOf(f.id)!, String(f.value))
      expect(label, `${f.id} has a label for its code`).toBeDefined()
      expect(f.display).toBe(`${String(f.value)} — ${label}`)
      expect(html).toContain(`<td>${esc(FIELDS_BY_ID.get(f.id)!.label)}</td><td>${esc(f.display)}</td>`)
    }
    const etat = coded.find((f) => f.id === 'dossier.etatDroit')!
    expect(html).toContain(`État du droit</td><td>${String(etat.value)} — ${codeLabel('ETATDOSRSA', String(etat.value))}`)
    const amounts = fields.filter((f) => FIELDS_BY_ID.get(f.id)?.type === 'decimal' && f.value !== null)
    expect(amounts.length).toBeGreaterThan(0)
    for (const a of amounts) {
      expect(a.display).toMatch(/^-?\d{1,3}(\u202f\d{3})*,\d{2}\u00a0€$/)
      expect(Number(a.display.replace(/[\u202f\u00a0€]/g, '').replace(',', '.'))).toBeCloseTo(Number(a.value), 2)
      expect(html).toContain(esc(a.display))
    }
    // No bare amount with a decimal point, no bare code after a field label.
    expect(html).not.toMatch(/<td>\d+\.\d{2}<\/td>/)
    expect(html).not.toMatch(/(État du droit|Sexe|Rôle dans le dossier|Civilité|Situation familiale)<\/td><td>[A-Z0-9]{1,3}<\/td>/)
    // A postcode reduced to the département is a « Département », a birth date reduced to the year an « Année de naissance ».
    const stats = exported.purposes.find((p) => p.id === 'statistiques')!.records.find((r) => r.place === 'active')!
    expect(stats.fields.find((f) => f.name === 'departement')).toMatchObject({ label: 'Département' })
    expect(stats.fields.find((f) => f.name === 'anneeNaissance')).toMatchObject({ label: 'Année de naissance', display: x.birthDate.slice(0, 4) })
    expect(html).not.toMatch(/<td>Code postal<\/td><td><code>departement<\/code>/)
    expect(html).toContain('<td>Département</td><td><code>departement</code>')
    // The state history reads in words too.
    for (const change of exported.stateChanges.filter((c) => c.field === 'État du droit')) {
      if (change.to !== null) expect(change.toDisplay).toBe(`${change.to} — ${codeLabel('ETATDOSRSA', change.to)}`)
    }
  })

  it('is French throughout: no ISO duration, no English sentence, a main landmark, the declared controller', () => {
    expect(html).not.toMatch(ISO_DURATION_PATTERN)
    for (const english of ['Intermediate archive', 'RSA beneficiaries', 'members of their household', 'Téléservice and instruction']) expect(html).not.toContain(english)
    for (const p of [...world.declarations.purposes.values()].filter((d) => d.description !== d.description_en)) expect(html).not.toContain(esc(p.description_en.replace(/\s+/g, ' ').trim()))
    expect(html).toMatch(/<main>[\s\S]*Réponse à votre demande d'accès[\s\S]*<\/main>/)
    expect(exported.controller?.name).toContain("Département de l'Exemple")
  })

  it('answers the same through the DPO API, and to nobody else', async () => {
    const opened = await app.request('/v1/dpo/rights-requests', {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.dpo}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'access', nir: x.nir13, birthDate: x.birthDate }),
    })
    expect(opened.status).toBe(201)
    const body = (await opened.json()) as { id: number; found: boolean; dueOn: string }
    expect(body).toMatchObject({ found: true, dueOn: '2026-05-10' })
    expect(JSON.stringify(body)).not.toContain(x.nir13)
    const asJson = await get(tokens.dpo!, `/v1/dpo/rights-requests/${body.id}/export`)
    expect(asJson.status).toBe(200)
    expect(((await asJson.json()) as AccessExport).data.length).toBe(exported.data.length)
    const asHtml = await get(tokens.dpo!, `/v1/dpo/rights-requests/${body.id}/export?format=html`)
    expect(asHtml.headers.get('content-type')).toMatch(/text\/html/)
    expect(await asHtml.text()).toContain('Qui a consulté votre dossier')
    // A referent gets 404, as for an unknown route; the attempt is audited.
    expect((await get(tokens.ref!, `/v1/dpo/rights-requests/${body.id}/export`)).status).toBe(404)
    expect((await get(tokens.ref!, '/v1/dpo/rights-requests')).status).toBe(404)
    const listed = (await (await get(tokens.dpo!, '/v1/dpo/rights-requests')).json()) as { items: { id: number }[] }
    expect(listed.items.map((i) => i.id)).toContain(body.id)
    const bad = await app.request('/v1/dpo/rights-requests', {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.dpo}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'access', nir: '1840299000124' + '55', birthDate: x.birthDate }),
    })
    expect(bad.status).toBe(400)
    expect(await bad.text()).not.toContain('1840299000124')
  })
})
