import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useAuditKeys } from '../../src/audit/audit-keys.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations, type Declarations } from '../../src/declarations/load-declarations.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { ingestFile } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { linkQueued } from '../../src/matching/resolve-queued.ts'
import { eraseForRequest } from '../../src/rights/erasure.ts'
import { openRequest } from '../../src/rights/requests.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { adults, CONSENT_PURPOSE, SEED } from '../helpers/rights-world.ts'

/** A France Travail flow without NIR carrying the address fields a consent-based purpose's opposition clears. */
const FLOW = `
title: Suivi sans NIR (test)
producer: France Travail
format:
  type: csv-records
  encoding: utf-8
  delimiter: ';'
  header: true
  date_format: 'YYYY-MM-DD'
  kind: suivi
  values: { franceTravail.etat: inscription }
  fields:
    - { name: identifiant_ft, field: franceTravail.identifiant, normalise: [remove_spaces, uppercase] }
    - { name: nom_naissance, field: match.nomNaissance, max_length: 100 }
    - { name: prenom, field: match.prenom, max_length: 100 }
    - { name: date_naissance, field: personne.dateNaissance, type: date, required: true }
    - { name: date_inscription, field: franceTravail.dateEtat, type: date, required: true }
    - { name: localite, field: franceTravail.localite, max_length: 250 }
    - { name: adresse, field: franceTravail.adresse, max_length: 250 }
  target: registrations
schedule: '0 5 * * *'
retention: france-travail
max_rejected_rate: 0.5
`

/**
 * An opposition carried out, then an operator links a queued France Travail record (no NIR) to the person: what
 * the record brings is cleared again in the link's transaction, as a file's would be, with a receipt.
 */
describe.skipIf(postgresUnavailable())('a queued record linked to a person who objected', () => {
  let t: TestDatabase
  let declarations: Declarations
  const keys = testKeys()
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-link-opposition-'))
  const ingest = (flowId: string, file: string, at: string) =>
    ingestFile({ db: t.db, keys, log: createLogger({ level: 'silent' }), stored: declarations.stored, purposes: declarations.purposes }, declarations.flows.get(flowId)!, { path: file, name: path.basename(file), source: 'local', modifiedAt: new Date(at) })
  beforeAll(async () => {
    t = await createTestDatabase()
    useAuditKeys(keys.audit)
    const flowsDir = path.join(work, 'flows')
    const mappingsDir = path.join(work, 'mappings')
    cpSync(path.join(REPO_ROOT, 'flows'), flowsDir, { recursive: true })
    cpSync(path.join(REPO_ROOT, 'mappings'), mappingsDir, { recursive: true })
    writeFileSync(path.join(flowsDir, 'suivi-sans-nir.yaml'), FLOW)
    writeFileSync(path.join(mappingsDir, 'test-consentement.yaml'), CONSENT_PURPOSE)
    declarations = loadDeclarations({ flowsDir, mappingsDir })
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('clears what the linked record brings again, with a receipt, and keeps no sentinel', async () => {
    const caf = path.join(work, cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-03-02' }))
    await writeCnafFile(caf, { flow: 'caf', seed: SEED, typeflux: 'M', foyers: 30, dtcreaflux: '2026-03-02' })
    await ingest('caf-beneficiaires', caf, '2026-03-02T03:00:00Z')
    const ft = await writeFranceTravailFile({ kind: 'stock', seed: SEED, foyers: 30, date: '2026-03-03', layout: 'extended' }, work)
    await ingest('france-travail', ft.path!, '2026-03-03T03:00:00Z')
    const x = adults(30, { franceTravail: true })[0]!
    const registration = async () => (await t.db.query<{ localite: string | null; adresse: string | null }>('select localite, adresse from france_travail_registrations where person_key = $1', [x.matchKey])).rows[0]!
    const ctx = { db: t.db, keys, purposes: declarations.purposes, now: new Date('2026-03-10T10:00:00Z'), actor: 'dpo@test.example' }
    const opposition = await openRequest(ctx, { type: 'opposition', nir: x.nir13, birthDate: x.birthDate, purpose: 'test-consentement' })
    expect((await eraseForRequest(ctx, opposition.request.id)).decision.fieldsToClear).toContain('franceTravail.localite')
    expect(await registration()).toEqual({ localite: null, adresse: null })

    // A file without NIR names them under another France Travail identifier: queued, then linked by an operator.
    const file = path.join(work, 'suivi.csv')
    writeFileSync(file, `identifiant_ft;nom_naissance;prenom;date_naissance;date_inscription;localite;adresse\n9999999X999;${x.person.nomnai};${x.person.prenom};${x.birthDate};2026-03-08;ZZSENTINELVILLE;1 RUE ZZSENTINEL\n`)
    await ingest('suivi-sans-nir', file, '2026-03-08T03:00:00Z')
    const queued = (await t.db.query<{ id: number }>(`select id from matching_queue where state = 'pending'`)).rows
    expect(queued).toHaveLength(1)
    const publicId = (await t.db.query<{ p: string }>('select public_id::text as p from persons where match_key = $1', [x.matchKey])).rows[0]!.p
    const head = Number((await t.db.query<{ s: number }>('select max(seq) as s from audit_events')).rows[0]!.s)
    const linked = await linkQueued(t.db, { keys, purposes: declarations.purposes }, { id: Number(queued[0]!.id), personPublicId: publicId, actor: 'admin@test.example', now: ctx.now, via: 'cli' })
    expect(linked.registrationApplied).toBe(true)
    expect(await registration()).toEqual({ localite: null, adresse: null })
    const receipts = (await t.db.query<{ details: { reapplied: boolean; matchingQueueId: number } }>(`select details from audit_events where seq > $1 and action = 'rights.erase'`, [head])).rows
    expect(receipts.map((r) => [r.details.reapplied, r.details.matchingQueueId])).toEqual([[true, Number(queued[0]!.id)]])
    expect(JSON.stringify((await t.db.query('select * from audit_events where seq > $1', [head])).rows)).not.toMatch(/ZZSENTINEL/)
  })
})
