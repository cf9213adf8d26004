import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { exposedName } from '../../src/purposes/purpose.ts'
import { storedFieldIds } from '../../src/purposes/stored-fields.ts'
import { assignEveryApplicant, seedOrganisation, seedToken, seedUser } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const NOW = new Date('2026-11-20T10:00:00Z')

/**
 * The product path end to end, with the shipped declarations: a generated CAF stock is ingested, the orientations
 * flow assigns its applicants to a referent, the referent pages through the portfolio while the next stock is
 * being imported, and sees every beneficiary once, through the fields of `accompagnement-rsa` only.
 */
describe.skipIf(postgresUnavailable())('CAF stock → orientations → partner API', () => {
  let t: TestDatabase
  let app: ApiApp
  let token: string
  let dir: string
  const keys = testKeys()
  const flows = loadFlows(path.join(ROOT, 'flows'))
  const purposes = loadPurposes(path.join(ROOT, 'mappings'))
  const deps = (): IngestDeps => ({ db: t.db, keys, log: createLogger({ level: 'silent' }), stored: storedFieldIds(purposes), purposes })
  const cafStock = async (foyers: number, date: string) => {
    const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: date })
    await writeCnafFile(path.join(dir, name), { flow: 'caf', seed: 'api-e2e', typeflux: 'M', foyers, dtcreaflux: date })
    return ingestFile(deps(), flows.get('caf-beneficiaires')!, { path: path.join(dir, name), name, source: 'local', modifiedAt: new Date(`${date}T03:00:00Z`) })
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    dir = mkdtempSync(path.join(tmpdir(), 'psl-api-e2e-'))
    expect(await cafStock(80, '2026-10-02')).toMatchObject({ status: 'loaded' })
    const org = await seedOrganisation(t.db, 1, 'ccas')
    await seedUser(t.db, 'referente@ccas.example', 'referent', org.id)
    token = (await seedToken(t.db, purposes, 'referente@ccas.example', 'accompagnement-rsa', NOW, '90d')).token
    // The orientation tool assigns every applicant (DEM) of the stock to the referent.
    const { outcome, applicants } = await assignEveryApplicant(deps(), flows.get('orientations')!, dir, { siret: org.siret, email: 'referente@ccas.example', start: '01/10/2026', fileDate: '2026-10-03' })
    expect(outcome).toMatchObject({ status: 'loaded', accepted: applicants, rejected: 0 })
    app = createApp({ db: t.db, keys, purposes, audit: new AuditWriter(t.db), now: () => NOW, options: { rateLimit: { perSecond: 1000, burst: 1000 } } })
  })
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true })
    await t?.drop()
  })

  it('pages the whole portfolio exactly once while the next stock is imported', async () => {
    const assigned = (await t.db.query<{ n: number }>('select count(distinct person_id)::int as n from assignments')).rows[0]!.n
    expect(assigned).toBeGreaterThan(40)
    const seen: string[] = []
    let cursor: string | null = null
    let importing: Promise<unknown> | undefined
    do {
      const res = await app.request(`/v1/beneficiaires?limit=15${cursor ? `&cursor=${cursor}` : ''}`, { headers: { Authorization: `Bearer ${token}` } })
      expect(res.status).toBe(200)
      const body = (await res.json()) as { items: { id: string; data: Record<string, unknown> }[]; nextCursor: string | null }
      seen.push(...body.items.map((i) => i.id))
      const declared = purposes.get('accompagnement-rsa')!.fields.filter((f) => f.transform !== 'omit').map(exposedName).sort()
      for (const item of body.items) expect(Object.keys(item.data).sort()).toEqual(declared)
      // The next monthly stock (more foyers, changed states) is imported while the referent pages.
      importing ??= cafStock(120, '2026-11-02')
      cursor = body.nextCursor
    } while (cursor)
    expect(await importing).toMatchObject({ status: 'loaded' })
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.length).toBe(assigned)
  })

  it('serves each beneficiary through the purpose, and the state history the flows recorded', async () => {
    const { rows } = await t.db.query<{ public_id: string }>('select p.public_id from persons p join assignments a on a.person_id = p.id limit 1')
    const res = await app.request(`/v1/beneficiaires/${rows[0]!.public_id}`, { headers: { Authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    expect(body.data).not.toHaveProperty('nir')
    expect(body.data.roleDossier).toBe('DEM')
    const history = await app.request(`/v1/beneficiaires/${rows[0]!.public_id}/historique`, { headers: { Authorization: `Bearer ${token}` } })
    const items = ((await history.json()) as any).items as { field: string }[]
    expect(items.length).toBeGreaterThan(0)
    expect(new Set(items.map((i) => i.field))).toEqual(new Set(['etatDroit']))
  })
})
