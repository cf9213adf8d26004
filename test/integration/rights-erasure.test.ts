import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { nirIndex } from '../../src/crypto/blind-index.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { writeCnafFile, cnafFileName } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { ingestFile, type FileOutcome } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { applyRightsAfterFile } from '../../src/rights/apply-rights-after-file.ts'
import { eraseForRequest } from '../../src/rights/erasure.ts'
import { openRequest, showRequest } from '../../src/rights/requests.ts'
import { seedAssignment, seedOrganisation } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import {
  adults,
  columnValues,
  CONSENT_PURPOSE,
  dumpEveryTable,
  loadPopulation,
  mappingsWith,
  rightsContext,
  SEED,
  type LoadedWorld,
  type Subject,
} from '../helpers/rights-world.ts'

const FOYERS = 40
const NOW = new Date('2026-03-10T10:00:00Z')
const keys = testKeys()

/** Loads another CAF or France Travail stock of the same foyers (the source keeps sending the person). */
async function reload(t: TestDatabase, world: LoadedWorld, flow: 'caf' | 'ft', date: string): Promise<FileOutcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-rights-reload-'))
  const deps = { db: t.db, keys, log: createLogger({ level: 'silent' }), stored: world.declarations.stored, purposes: world.declarations.purposes }
  if (flow === 'caf') {
    const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: date })
    await writeCnafFile(path.join(dir, name), { flow: 'caf', seed: SEED, typeflux: 'M', foyers: FOYERS, dtcreaflux: date })
    return ingestFile(deps, world.declarations.flows.get('caf-beneficiaires')!, { path: path.join(dir, name), name, source: 'local', modifiedAt: new Date(`${date}T03:00:00Z`) })
  }
  const written = await writeFranceTravailFile({ kind: 'stock', seed: SEED, foyers: FOYERS, date, layout: 'extended' }, dir)
  return ingestFile(deps, world.declarations.flows.get('france-travail')!, { path: written.path!, name: written.fileName, source: 'local', modifiedAt: new Date(`${date}T03:00:00Z`) })
}

async function afterFile(t: TestDatabase, world: LoadedWorld, file: FileOutcome) {
  expect(file.status).toBe('loaded')
  return t.db.transaction((tx) => applyRightsAfterFile(tx, { keys, purposes: world.declarations.purposes }, file.fileId!, NOW))
}

describe.skipIf(postgresUnavailable())('rights: opposition and erasure under the shipped public-interest purposes', () => {
  let t: TestDatabase
  let world: LoadedWorld
  let x: Subject
  const ctx = () => rightsContext(t.db, world.declarations, NOW, keys)
  const person = async () => (await t.db.query<Record<string, unknown>>('select * from persons where match_key = $1', [x.matchKey])).rows[0]
  const registration = async () => (await t.db.query<Record<string, unknown>>('select * from france_travail_registrations where person_key = $1', [x.matchKey])).rows[0]

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await loadPopulation(t.db, keys, mappingsWith({ 'test-consentement': CONSENT_PURPOSE }), FOYERS)
    x = adults(FOYERS, { franceTravail: true }).find((p) => p.person.prenom3 !== undefined)!
  })
  afterAll(() => t?.drop())

  it('ships no erasable purpose: the consent-based one is a test declaration', () => {
    const shipped = [...world.declarations.purposes.values()].filter((p) => p.id !== 'test-consentement')
    expect(shipped.length).toBeGreaterThanOrEqual(4)
    expect(shipped.filter((p) => p.erasable)).toEqual([])
  })

  it('a public-interest purpose refuses erasure, with the reason to give the person; nothing is deleted', async () => {
    const before = await dumpEveryTable(t.db)
    const opened = await openRequest(ctx(), { type: 'erasure', nir: x.nir13, birthDate: x.birthDate, purpose: 'accompagnement-rsa' })
    const result = await eraseForRequest(ctx(), opened.request.id)
    expect(result.decision).toMatchObject({ outcome: 'refused', scope: 'none', granted: [] })
    const reason = result.decision.refused[0]!.reason
    expect(reason).toMatch(/mission d'intérêt public/)
    expect(reason).toMatch(/CASF art\. L\.262-1/)
    expect(reason).toMatch(/17\.3\.b/)
    expect(result.counts).toEqual({})
    const after = await dumpEveryTable(t.db)
    const canonical = (lines: string[]) => lines.filter((l) => /^(public|archive)\.(persons|dossiers|dossier_members|france_travail_registrations|state_changes):/.test(l))
    expect(canonical(after)).toEqual(canonical(before))
    const event = (await t.db.query<{ outcome: string; details: Record<string, unknown> }>(`select outcome, details from audit_events where action = 'rights.erase'`)).rows
    expect(event).toEqual([expect.objectContaining({ outcome: 'denied', details: expect.objectContaining({ outcome: 'refused', refused: ['accompagnement-rsa'] }) })])
    const actions = (await showRequest(ctx(), opened.request.id)).actions
    expect(actions.at(-1)).toMatchObject({ action: 'rights.erase', details: { outcome: 'refused' } })
  })

  it('an erasure of every purpose erases what consent allowed and refuses the public-interest ones', async () => {
    const opened = await openRequest(ctx(), { type: 'erasure', nir: x.nir13, birthDate: x.birthDate })
    const dry = await eraseForRequest(ctx(), opened.request.id, { dryRun: true })
    expect(dry.decision.outcome).toBe('partially_granted')
    expect(dry.decision.granted).toEqual(['test-consentement'])
    expect(dry.decision.refused.map((r) => r.purpose).sort()).toEqual(['accompagnement-rsa', 'instruction', 'orientation', 'pilotage-et-controle', 'statistiques'])
    // The consent purpose's own fields go; shared ones (nom, used by public-interest purposes) stay.
    expect(dry.decision.fieldsToClear).toEqual(['franceTravail.adresse', 'franceTravail.localite', 'personne.prenom3'])
    expect((await person())!.prenom3).toBe(x.person.prenom3)
    expect(await t.db.query(`select 1 from rights_oppositions`)).toMatchObject({ rows: [] })

    const before = { person: await person(), registration: await registration() }
    expect(before.registration!.adresse).not.toBeNull()
    const done = await eraseForRequest(ctx(), opened.request.id)
    expect(done.counts).toEqual(dry.counts)
    expect(done.ids).toEqual(dry.ids)
    expect(done.counts).toEqual({ persons: 1, france_travail_registrations: 1 })
    const p = (await person())!
    const r = (await registration())!
    expect([p.prenom3, r.adresse, r.localite]).toEqual([null, null, null])
    expect(p.nom).toBe(before.person!.nom)
    expect(r.etat).toBe(before.registration!.etat)
    const receipt = (await t.db.query<{ subject: string; details: Record<string, any> }>(`select subject, details from audit_events where action = 'rights.erase' order by seq desc limit 1`)).rows[0]!
    expect(receipt.subject).toBe(auditSubject(keys.pseudonym, x.matchKey))
    expect(receipt.details).toMatchObject({ scope: 'fields', granted: ['test-consentement'], counts: { persons: 1, france_travail_registrations: 1 }, ids: { count: 2 } })
    expect(receipt.details.ids.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect((await showRequest(ctx(), opened.request.id)).oppositions.map((o) => o.purpose)).toEqual(['test-consentement'])
  })

  it('a later flow bringing the values back has them cleared again, with a receipt', async () => {
    // The loader re-applies standing oppositions in the file's own transaction: the values never show.
    const ft = await reload(t, world, 'ft', '2026-03-20')
    expect((await registration())!.adresse).toBeNull()
    // The hook is idempotent: run again for the same file, it has nothing left to do.
    expect((await afterFile(t, world, ft)).oppositionsReapplied).toBe(0)
    const receipt = (await t.db.query<{ actor: string; details: Record<string, any> }>(`select actor, details from audit_events where action = 'rights.erase' order by seq desc limit 1`)).rows[0]!
    expect(receipt).toMatchObject({ actor: 'passerelle:ingestion', details: { reapplied: true, fileId: ft.fileId, scope: 'fields', counts: { france_travail_registrations: 1 } } })
    // The CAF stock brings the third first name back: cleared again.
    await reload(t, world, 'caf', '2026-03-21')
    expect((await person())!.prenom3).toBeNull()
  })

  it('writes no personal value in the audit log or the requests', async () => {
    const text = (await dumpEveryTable(t.db)).filter((l) => l.startsWith('public.audit_events') || l.startsWith('public.rights_')).join('\n')
    for (const v of [x.nir13, x.person.nom, x.person.prenom, x.person.prenom3!, x.birthDate]) expect(text).not.toContain(v)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })
})

describe.skipIf(postgresUnavailable())('rights: full erasure when no purpose keeps a basis', () => {
  let t: TestDatabase
  let world: LoadedWorld
  let x: Subject
  let kept: Subject
  const ids = { person: 0, dossier: 0, publicId: '', dossierPublicId: '', cipher: '' }
  const ctx = () => rightsContext(t.db, world.declarations, NOW, keys)
  let requestIds: number[] = []

  beforeAll(async () => {
    t = await createTestDatabase()
    const mappings = mkdtempSync(path.join(tmpdir(), 'passerelle-rights-consent-only-'))
    writeFileSync(path.join(mappings, 'test-consentement.yaml'), CONSENT_PURPOSE)
    world = await loadPopulation(t.db, keys, mappings, FOYERS)
    // A person alone in their foyer, registered at France Travail: their dossier is theirs only.
    x = adults(FOYERS, { franceTravail: true }).find((p) => p.foyer.personnes.length === 1)!
    kept = adults(FOYERS).find((p) => p.foyerIndex !== x.foyerIndex)!
    const row = (await t.db.query<{ id: number; public_id: string; cipher: string | null }>(
      `select id, public_id::text as public_id, encode(nir_cipher, 'hex') as cipher from persons where match_key = $1`,
      [x.matchKey],
    )).rows[0]!
    const dossier = (await t.db.query<{ id: number; public_id: string }>(
      'select d.id, d.public_id::text as public_id from dossiers d join dossier_members dm on dm.dossier_id = d.id where dm.person_id = $1',
      [row.id],
    )).rows[0]!
    Object.assign(ids, { person: row.id, publicId: row.public_id, cipher: row.cipher ?? '', dossier: dossier.id, dossierPublicId: dossier.public_id })
    // Everything else that may hold them: an assignment, a limitation, a contested field, an archived earlier right.
    const org = await seedOrganisation(t.db, 1, 'association', 'Association Tremplin')
    await seedAssignment(t.db, { personId: row.id, organisationId: org.id, startsOn: '2026-01-01' })
    requestIds.push((await openRequest(ctx(), { type: 'limitation', nir: x.nir13, birthDate: x.birthDate })).request.id)
    requestIds.push((await openRequest(ctx(), { type: 'rectification', nir: x.nir13, birthDate: x.birthDate, fields: ['personne.nom', 'franceTravail.adresse'] })).request.id)
    await t.db.query(
      `insert into archive.dossiers (id, public_id, policy_id, flow_id, organisme, numdemrsa, etat_droit, file_id, transmitted_at, anchor_day, archived_at)
       values (990001, gen_random_uuid(), 'rsa-beneficiaires', 'caf-beneficiaires', 'CAF', 'ARCHERASE01', '6', $1, now(), '2019-05-31', now())`,
      [world.caf.fileId],
    )
    await t.db.query(
      `insert into archive.persons (id, public_id, policy_id, match_key, nir_index, nom, file_id, transmitted_at, anchor_day, archived_at)
       values ($1, $2, 'rsa-beneficiaires', $3, $4, 'ANCIENNOM', $5, now(), '2019-05-31', now())`,
      [row.id, row.public_id, x.matchKey, nirIndex(keys.index, x.nir13), world.caf.fileId],
    )
    await t.db.query(`insert into archive.dossier_members (dossier_id, person_id, role, file_id, transmitted_at) values (990001, $1, 'DEM', $2, now())`, [row.id, world.caf.fileId])
    await t.db.query(
      `insert into archive.state_changes (id, dossier_id, field, old_value, new_value, file_id, transmitted_at) values (990002, 990001, 'etat_droit', '2', '6', $1, now())`,
      [world.caf.fileId],
    )
    // A rejected record naming the dossier, and France Travail records without a NIR queued under the person's identity:
    // one theirs (they alone bore it), one several homonyms could own (it stays for the decision).
    await t.db.query(`insert into rejections (file_id, record_index, field, rule, numdemrsa) values ($1, 7, 'NUMDEMRSA', 'duplicate_dossier', $2)`, [world.caf.fileId, x.foyer.numdemrsa])
    const identity = (await t.db.query<{ identity_index: string | null }>('select identity_index from persons where id = $1', [row.id])).rows[0]!.identity_index ?? 'identity-of-x'
    await t.db.query('update persons set identity_index = $2 where id = $1', [row.id, identity])
    for (const [key, reason] of [['q-theirs', 'identifier_conflict'], ['q-homonyms', 'ambiguous']] as const) {
      await t.db.query(
        `insert into matching_queue (flow_id, queue_key, identity_index, reason, candidates, identity_sealed, registration, file_id, record_index, transmitted_at)
         values ('france-travail', $1, $2, $3, $4, '\\x00', '{}', $5, 1, now())`,
        [key, identity, reason, reason === 'ambiguous' ? 2 : 1, world.caf.fileId],
      )
    }
  })
  afterAll(() => t?.drop())

  /** Lines of every table of every schema that still name the person. */
  async function traces(): Promise<string[]> {
    const lines = await dumpEveryTable(t.db)
    const needles = [x.matchKey, nirIndex(keys.index, x.nir13), ids.publicId, ids.dossierPublicId, x.foyer.numdemrsa, 'ARCHERASE01', 'ANCIENNOM', x.nir13]
    if (ids.cipher) needles.push(ids.cipher)
    const found = lines.filter((l) => needles.some((n) => l.includes(n)))
    for (const line of lines) {
      const table = line.slice(0, line.indexOf(': '))
      const named =
        ((table.endsWith('.persons') && columnValues(line, 'id').includes(String(ids.person))) ||
          columnValues(line, 'person_id').includes(String(ids.person)) ||
          (table.endsWith('.dossiers') && columnValues(line, 'id').some((v) => v === String(ids.dossier) || v === '990001')) ||
          columnValues(line, 'dossier_id').some((v) => v === String(ids.dossier) || v === '990001') ||
          (table === 'public.rights_contested_fields')) &&
        !table.startsWith('public.audit_events')
      if (named) found.push(line)
    }
    return found
  }

  it('finds the person everywhere before (the search is not vacuous)', async () => {
    const found = await traces()
    const tables = new Set(found.map((l) => l.slice(0, l.indexOf(': '))))
    for (const table of ['public.persons', 'public.dossiers', 'public.dossier_members', 'public.france_travail_registrations', 'public.state_changes', 'public.assignments', 'public.limitations', 'public.rights_contested_fields', 'public.rights_requests', 'archive.persons', 'archive.dossiers', 'archive.dossier_members', 'archive.state_changes']) {
      expect(tables, table).toContain(table)
    }
  })

  it('the access answer lists the France Travail records waiting for a decision that name the person, a homonym\'s possibly', async () => {
    const { renderAccessExport } = await import('../../src/rights/access-export.ts')
    const access = await openRequest(ctx(), { type: 'access', nir: x.nir13, birthDate: x.birthDate })
    requestIds.push(access.request.id)
    const answer = await renderAccessExport(ctx(), access.request.id)
    expect(answer.export.queuedRecords.map((q) => [q.state, q.reason, q.possiblyOther])).toEqual([
      ['pending', 'identifier_conflict', false],
      ['pending', 'ambiguous', true],
    ])
    expect(answer.html).toContain('Enregistrements de France Travail en attente de rapprochement')
    expect(answer.html).toContain('il peut concerner un homonyme')
  })

  it('deletes the person everywhere, with a receipt of counts and hashed ids', async () => {
    const opened = await openRequest(ctx(), { type: 'erasure', nir: x.nir13, birthDate: x.birthDate })
    requestIds.push(opened.request.id)
    const dry = await eraseForRequest(ctx(), opened.request.id, { dryRun: true })
    expect(dry.decision).toMatchObject({ outcome: 'granted', scope: 'full', granted: ['test-consentement'] })
    expect((await traces()).length).toBeGreaterThan(10)
    const done = await eraseForRequest(ctx(), opened.request.id)
    expect(done.counts).toEqual(dry.counts)
    expect(done.counts).toMatchObject({
      persons: 1,
      dossiers: 1,
      dossier_members: 1,
      france_travail_registrations: 1,
      assignments: 1,
      limitations: 1,
      'archive.persons': 1,
      'archive.dossiers': 1,
      'archive.dossier_members': 1,
      'archive.state_changes': 1,
    })
    expect(done.counts.state_changes).toBeGreaterThanOrEqual(2)
    expect(done.counts.rights_contested_fields).toBe(2)
    expect(done.counts).toMatchObject({ rejections_redacted: 1, matching_queue: 1, matching_queue_ambiguous_left: 1 })
    expect((await t.db.query<{ queue_key: string }>('select queue_key from matching_queue')).rows).toEqual([{ queue_key: 'q-homonyms' }])
    expect(await traces()).toEqual([])
    // The requests keep only the pseudonym; someone else's data is untouched.
    const requests = (await t.db.query<{ id: number; match_key: string | null; nir_index: string | null; subject: string }>('select id, match_key, nir_index, subject from rights_requests order by id')).rows
    expect(requests.map((r) => [r.match_key, r.nir_index, r.subject])).toEqual(requestIds.map(() => [null, null, auditSubject(keys.pseudonym, x.matchKey)]))
    expect((await t.db.query('select 1 from persons where match_key = $1', [kept.matchKey])).rows).toHaveLength(1)
    const receipt = (await t.db.query<{ subject: string; outcome: string; details: Record<string, any> }>(`select subject, outcome, details from audit_events where action = 'rights.erase'`)).rows
    expect(receipt).toHaveLength(1)
    expect(receipt[0]).toMatchObject({ outcome: 'done', details: { scope: 'full', counts: done.counts, ids: done.ids } })
    const audit = JSON.stringify((await t.db.query('select * from audit_events')).rows)
    for (const v of [x.nir13, x.person.nom, x.person.prenom, x.birthDate, x.matchKey, ids.publicId]) expect(audit).not.toContain(v)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  it('a person the sources send again is deleted again on arrival, with a receipt', async () => {
    // The loader deletes the person again in the file's own transaction: they are never visible in between.
    const caf = await reload(t, world, 'caf', '2026-03-20')
    expect((await t.db.query('select 1 from persons where match_key = $1', [x.matchKey])).rows).toHaveLength(0)
    expect(await afterFile(t, world, caf)).toMatchObject({ oppositionsReapplied: 0 })
    await reload(t, world, 'ft', '2026-03-21')
    expect(await traces()).toEqual([])
    const receipts = (await t.db.query<{ details: Record<string, any> }>(`select details from audit_events where action = 'rights.erase' order by seq`)).rows
    expect(receipts.map((r) => [r.details.scope, r.details.reapplied ?? false])).toEqual([
      ['full', false],
      ['full', true],
      ['full', true],
    ])
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })
})
