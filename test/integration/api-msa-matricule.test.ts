import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { writeCnafFile, type CnafFileReport } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { foyer as populationFoyer } from '../../src/fixtures/population.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { storedFieldIds } from '../../src/purposes/stored-fields.ts'
import { assignEveryApplicant, seedOrganisation, seedToken, seedUser } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const NOW = new Date('2026-11-20T10:00:00Z')
const SEED = 'msa-matricule'

/**
 * An MSA stock whose MATRICULE is, for some foyers, the demandeur's NIR (rdv-insertion #87), with 10-character
 * NUMDEMRSA: loaded through the msa-beneficiaires flow and served to a referent through `accompagnement-rsa`, a
 * purpose without the NIR. Those NIRs are the planted sentinels: they appear in no response and in no stored
 * matricule; the other MSA matricules are served as sent, not cut to the CAF's 7 digits.
 */
describe.skipIf(postgresUnavailable())('MSA matricules through the partner API', () => {
  let t: TestDatabase
  let app: ApiApp
  let token: string
  let dir: string
  let report: CnafFileReport
  let sentinels: string[]
  const keys = testKeys()
  const flows = loadFlows(path.join(ROOT, 'flows'))
  const purposes = loadPurposes(path.join(ROOT, 'mappings'))
  let logged = ''
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged += chunk.toString()
      done()
    },
  })
  const deps = (): IngestDeps => ({ db: t.db, keys, log: createLogger({ level: 'debug', destination }), stored: storedFieldIds(purposes), purposes })

  beforeAll(async () => {
    t = await createTestDatabase()
    dir = mkdtempSync(path.join(tmpdir(), 'psl-msa-matricule-'))
    const name = 'MSABEM.xml'
    report = await writeCnafFile(path.join(dir, name), {
      flow: 'msa', seed: SEED, typeflux: 'M', foyers: 40, dtcreaflux: '2026-11-02', msaIdentifiers: { nirMatriculeEvery: 3, numdemrsa10: true },
    })
    sentinels = report.nirAsMatricule!.map((h) => populationFoyer(SEED, h.foyerIndex, { organisme: 'MSA' }).personnes.find((p) => p.role === 'DEM')!.nir13!)
    expect(sentinels.length).toBeGreaterThan(5)
    const outcome = await ingestFile(deps(), flows.get('msa-beneficiaires')!, { path: path.join(dir, name), name, source: 'local', modifiedAt: new Date('2026-11-02T03:00:00Z') })
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 40, rejected: 0 })
    const org = await seedOrganisation(t.db, 1, 'ccas')
    await seedUser(t.db, 'referente@ccas.example', 'referent', org.id)
    token = (await seedToken(t.db, purposes, 'referente@ccas.example', 'accompagnement-rsa', NOW, '90d')).token
    const { outcome: assigned, applicants } = await assignEveryApplicant(deps(), flows.get('orientations')!, dir, { siret: org.siret, email: 'referente@ccas.example', start: '01/10/2026', fileDate: '2026-11-03' })
    expect(assigned).toMatchObject({ status: 'loaded', accepted: applicants, rejected: 0 })
    app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => NOW, options: { rateLimit: { perSecond: 1000, burst: 1000 } } })
  })
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true })
    await t?.drop()
  })

  it('counts the matricules withheld in the ingest log, which holds none of them', () => {
    const line = logged.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => 'matriculesWithheld' in l)
    expect(line?.matriculesWithheld).toBe(sentinels.length)
    for (const nir of sentinels) expect(logged).not.toContain(nir)
  })

  it('stores no NIR as a matricule, and the other MSA matricules as sent', async () => {
    const { rows } = await t.db.query<{ numdemrsa: string; matricule: string | null }>('select numdemrsa, matricule from dossiers order by numdemrsa')
    expect(rows).toHaveLength(40)
    expect(rows.every((r) => r.numdemrsa.length === 10)).toBe(true)
    const stored = JSON.stringify(rows)
    for (const nir of sentinels) expect(stored).not.toContain(nir)
    const withMatricule = rows.filter((r) => r.matricule !== null)
    expect(withMatricule).toHaveLength(40 - sentinels.length)
    expect(withMatricule.every((r) => r.matricule!.length === 15)).toBe(true)
  })

  it('serves a referent every beneficiary, with the MSA matricule as sent and never a NIR', async () => {
    let cursor: string | null = null
    const served: string[] = []
    const numbers: unknown[] = []
    do {
      const res = await app.request(`/v1/beneficiaires?limit=15${cursor ? `&cursor=${cursor}` : ''}`, { headers: { Authorization: `Bearer ${token}` } })
      expect(res.status).toBe(200)
      const text = await res.text()
      served.push(text)
      const body = JSON.parse(text) as { items: { id: string; data: Record<string, unknown> }[]; nextCursor: string | null }
      for (const item of body.items) {
        numbers.push(item.data.numeroAllocataire)
        const detail = await app.request(`/v1/beneficiaires/${item.id}`, { headers: { Authorization: `Bearer ${token}` } })
        expect(detail.status).toBe(200)
        served.push(await detail.text())
        const history = await app.request(`/v1/beneficiaires/${item.id}/historique`, { headers: { Authorization: `Bearer ${token}` } })
        served.push(await history.text())
      }
      cursor = body.nextCursor
    } while (cursor)
    expect(numbers).toHaveLength(40)
    expect(numbers.filter((n) => n === null)).toHaveLength(sentinels.length)
    expect(numbers.filter((n) => typeof n === 'string' && n.length === 15)).toHaveLength(40 - sentinels.length)
    const everything = served.join('\n')
    for (const nir of sentinels) expect(everything).not.toContain(nir)
  })
})
