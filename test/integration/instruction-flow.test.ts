import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { instructionFileName, writeInstructionFile, type InstructionFileReport } from '../../src/fixtures/cnaf/write-instruction-file.ts'
import { foyer as populationFoyer } from '../../src/fixtures/population.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { assignEveryApplicant, seedOrganisation, seedToken, seedUser } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { shippedDeclarations, tableCounts } from '../helpers/ingest.ts'

const NOW = new Date('2026-11-20T10:00:00Z')
const SEED = 'instruction'
const FOYERS = 12

// Planted in a hand-written application whose foyer refused (phone) or never gave (e-mail) consent, and whose
// second application breaks a rule on the e-mail: none may surface in logs, rejection rows or responses.
const SENTINEL_PHONE = '0477123987'
const SENTINEL_EMAIL = 'sentinelle.zq77@exemple.fr'
const SENTINEL_BAD_EMAIL = 'sentinelle-zq88-sans-arobase'
const SENTINEL_NAME = 'SENTINELLEZQNOM'

const application = (numdemrsa: string, nir13: string | undefined, contacts: string) =>
  `<InfoDemandeRSA>\n<IdentificationRSA>\n<Organisme>\n<FONORG>CAF</FONORG>\n<NUMORG>931</NUMORG>\n<MATRICULE>999000100000000</MATRICULE>\n</Organisme>\n` +
  `<DemandeRSA>\n<DTDEMRSA>2026-10-30</DTDEMRSA>\n<NUMDEMRSA>${numdemrsa}</NUMDEMRSA>\n</DemandeRSA>\n</IdentificationRSA>\n` +
  `<Personne>\n<Identification>\n<QUAL>MME</QUAL>\n<NOM>${SENTINEL_NAME}</NOM>\n<NOMNAI>${SENTINEL_NAME}</NOMNAI>\n<PRENOM>Zoé</PRENOM>\n` +
  `<DTNAI>1990-04-02</DTNAI>\n${nir13 === undefined ? '' : `<NIR>${nir13}</NIR>\n`}<SEXE>2</SEXE>\n</Identification>\n<Prestations>\n<NATPREST>RSA</NATPREST>\n<ROLEPERS>DEM</ROLEPERS>\n</Prestations>\n</Personne>\n` +
  `<DonneesAdministratives>\n${contacts}</DonneesAdministratives>\n</InfoDemandeRSA>\n`
const instructionXml = (natflux: string, applications: string[]) =>
  Buffer.from(
    `<?xml version="1.0" encoding="windows-1252"?>\n<Racine>\n<IdentificationFlux>\n<APPLIEME>NRS</APPLIEME>\n<NUMVERSIONAPPLIEME>1500</NUMVERSIONAPPLIEME>\n` +
      `<TYPEFLUX>I</TYPEFLUX>\n<NATFLUX>${natflux}</NATFLUX>\n<DTCREAFLUX>2026-11-05</DTCREAFLUX>\n<HEUCREAFLUX>01:00:00.0000</HEUCREAFLUX>\n</IdentificationFlux>\n` +
      applications.join('') +
      `<TransmissionFlux>\n<NBTOTDEMRSATRANSM>${String(applications.length).padStart(8, '0')}</NBTOTDEMRSATRANSM>\n</TransmissionFlux>\n</Racine>\n`,
    'latin1',
  )

/**
 * The instruction flow (VIRS0901, flows/caf-instruction.yaml and msa-instruction.yaml): applications load before the
 * beneficiary stock lists them, on the same dossiers and persons; the phone and e-mail reach a referent only where
 * the foyer agreed to their use; a file of the other nature is refused on either flow; nothing personal leaks.
 */
describe.skipIf(postgresUnavailable())('instruction flow (VIRS0901): applications, contacts under consent', () => {
  let t: TestDatabase
  let app: ApiApp
  let token: string
  let dir: string
  let cafReport: InstructionFileReport
  let msaReport: InstructionFileReport
  const keys = testKeys()
  const declarations = shippedDeclarations()
  const flows = declarations.flows
  let logged = ''
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged += chunk.toString()
      done()
    },
  })
  const deps = (): IngestDeps => ({ db: t.db, keys, log: createLogger({ level: 'debug', destination }), stored: declarations.stored, purposes: declarations.purposes })
  const ingest = (flowId: string, name: string, at: string) =>
    ingestFile(deps(), flows.get(flowId)!, { path: path.join(dir, name), name, source: 'local', modifiedAt: new Date(at) })
  const cafName = instructionFileName({ flow: 'caf', dtcreaflux: '2026-10-20' })
  const msaName = instructionFileName({ flow: 'msa', dtcreaflux: '2026-10-20' })
  const indices = Array.from({ length: FOYERS }, (_, i) => i)

  beforeAll(async () => {
    t = await createTestDatabase()
    dir = mkdtempSync(path.join(tmpdir(), 'psl-instruction-'))
    cafReport = await writeInstructionFile(path.join(dir, cafName), { flow: 'caf', seed: SEED, indices, dtcreaflux: '2026-10-20' })
    msaReport = await writeInstructionFile(path.join(dir, msaName), { flow: 'msa', seed: SEED, indices, dtcreaflux: '2026-10-20' })
  })
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true })
    await t?.drop()
  })

  it('loads CAF and MSA applications before any beneficiary stock: dossiers, persons, members', async () => {
    expect(await ingest('caf-instruction', cafName, '2026-10-20T03:00:00Z')).toMatchObject({ status: 'loaded', accepted: FOYERS, rejected: 0 })
    expect(await ingest('msa-instruction', msaName, '2026-10-20T03:00:00Z')).toMatchObject({ status: 'loaded', accepted: FOYERS, rejected: 0 })
    const { rows } = await t.db.query<{ organisme: string; numdemrsa: string; flow_id: string; etat_droit: string | null }>(
      'select organisme, numdemrsa, flow_id, etat_droit from dossiers order by organisme, numdemrsa',
    )
    expect(rows).toHaveLength(2 * FOYERS)
    expect(rows.filter((r) => r.organisme === 'MSA').every((r) => r.numdemrsa.length === 10 && r.flow_id === 'msa-instruction')).toBe(true)
    expect(rows.filter((r) => r.organisme === 'CAF').every((r) => r.numdemrsa.length === 11 && r.flow_id === 'caf-instruction')).toBe(true)
    expect(rows.every((r) => r.etat_droit === null)).toBe(true)
    const members = await t.db.query<{ n: number }>('select count(*)::int as n from dossier_members')
    expect(members.rows[0]!.n).toBe(cafReport.persons + msaReport.persons)
    // Contacts stored as sent; the Art. 9 difficulties (DIFSOC, DIFDISP) of the file have no column at all.
    const stored = await t.db.query<{ n: number }>("select count(*)::int as n from dossiers where organisme = 'CAF' and telephone is not null")
    expect(stored.rows[0]!.n).toBe(cafReport.contacts.filter((c) => c?.telephone !== undefined).length)
    const columns = await t.db.query<{ column_name: string }>("select column_name from information_schema.columns where table_name in ('persons', 'dossiers') and column_name like '%dif%'")
    expect(columns.rows).toEqual([])
  })

  it('joins the beneficiary stock on the same keys: no second dossier or person, contacts kept, the stock authoritative', async () => {
    const before = await tableCounts(t.db)
    const caf = 'CAF093.RSABEM.20261101.xml'
    await writeCnafFile(path.join(dir, caf), { flow: 'caf', seed: SEED, typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-11-01' })
    expect(await ingest('caf-beneficiaires', caf, '2026-11-01T03:00:00Z')).toMatchObject({ status: 'loaded', accepted: FOYERS, rejected: 0 })
    const msa = 'MSA093.MSABEM.20261101.xml'
    await writeCnafFile(path.join(dir, msa), { flow: 'msa', seed: SEED, typeflux: 'M', foyers: FOYERS, dtcreaflux: '2026-11-01', msaIdentifiers: { numdemrsa10: true } })
    expect(await ingest('msa-beneficiaires', msa, '2026-11-01T03:00:00Z')).toMatchObject({ status: 'loaded', accepted: FOYERS, rejected: 0 })
    const after = await tableCounts(t.db)
    expect(after.dossiers).toBe(before.dossiers)
    expect(after.persons).toBe(before.persons)
    expect(after.dossier_members).toBe(before.dossier_members)
    const { rows } = await t.db.query<{ flow_id: string; etat_droit: string | null; telephone: string | null }>('select flow_id, etat_droit, telephone from dossiers')
    expect(rows.every((r) => r.flow_id.endsWith('-beneficiaires') && r.etat_droit !== null)).toBe(true)
    const phones = cafReport.contacts.filter((c) => c?.telephone !== undefined).length + msaReport.contacts.filter((c) => c?.telephone !== undefined).length
    expect(rows.filter((r) => r.telephone !== null)).toHaveLength(phones)
  })

  it('shows a referent the phone and e-mail only where the foyer agreed to their use', async () => {
    const org = await seedOrganisation(t.db, 1, 'ccas')
    await seedUser(t.db, 'referente@ccas.example', 'referent', org.id)
    token = (await seedToken(t.db, declarations.purposes, 'referente@ccas.example', 'accompagnement-rsa', NOW, '90d')).token
    const { outcome } = await assignEveryApplicant(deps(), flows.get('orientations')!, dir, { siret: org.siret, email: 'referente@ccas.example', start: '01/11/2026', fileDate: '2026-11-03' })
    expect(outcome.status).toBe('loaded')
    app = createApp({ db: t.db, keys, purposes: declarations.purposes, audit: new AuditWriter(t.db), now: () => NOW, options: { rateLimit: { perSecond: 1000, burst: 1000 } } })
    const res = await app.request('/v1/beneficiaires?limit=100', { headers: { Authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { items: { data: Record<string, unknown> }[] }
    expect(body.items).toHaveLength(2 * FOYERS)
    const expected = new Map<string, InstructionFileReport['contacts'][number]>()
    for (const [organisme, report] of [['CAF', cafReport], ['MSA', msaReport]] as const) {
      for (const [i, c] of report.contacts.entries()) {
        const numdemrsa = populationFoyer(SEED, i, { organisme }).numdemrsa
        expected.set(`${organisme}|${organisme === 'MSA' ? numdemrsa.slice(1) : numdemrsa}`, c)
      }
    }
    let shown = 0
    let withheld = 0
    for (const { data } of body.items) {
      const c = expected.get(`${data.organisme}|${data.numeroDemandeRsa}`)
      expect(data).toHaveProperty('telephone')
      expect(data.accordUtilisationTelephone ?? undefined).toBe(c?.telephone)
      if (c?.telephone === 'A') {
        expect(data.telephone).toMatch(/^0\d{9}$/)
        shown++
      } else {
        expect(data.telephone).toBeNull()
        if (c?.telephone !== undefined) withheld++
      }
      if (c?.email === 'A') expect(data.courriel).toMatch(/@exemple\.fr$/)
      else expect(data.courriel).toBeNull()
      expect(data).toHaveProperty('niveauEtude')
    }
    expect(shown).toBeGreaterThan(3)
    expect(withheld).toBeGreaterThan(0)
  })

  it('refuses an instruction file on the beneficiary flow, and a beneficiary file on the instruction flow, by NATFLUX', async () => {
    const before = await tableCounts(t.db)
    const onBeneficiary = 'CAF093.RSABEI.20261106.xml'
    writeFileSync(path.join(dir, onBeneficiary), instructionXml('I', [application('77700000001', '2900475123456', '')]))
    const refused = await ingest('caf-beneficiaires', onBeneficiary, '2026-11-06T03:00:00Z')
    expect(refused).toMatchObject({ status: 'rejected', code: 'wrong_flow_nature' })
    expect(refused.reason).toContain('instruction flow (NATFLUX=I) on a beneficiary flow')
    const onInstruction = 'CAF093.IRSACG.20261106.xml'
    await writeCnafFile(path.join(dir, onInstruction), { flow: 'caf', seed: SEED, typeflux: 'I', indices: [1, 2], dtcreaflux: '2026-11-06' })
    const refusedToo = await ingest('caf-instruction', onInstruction, '2026-11-06T03:00:00Z')
    expect(refusedToo).toMatchObject({ status: 'rejected', code: 'wrong_flow_nature' })
    expect(refusedToo.reason).toContain('beneficiary flow (NATFLUX=D) on an instruction flow')
    // Nothing loaded: one file-level rejection row each, naming the rule.
    const after = await tableCounts(t.db)
    expect({ ...after, files: 0, rejections: 0 }).toEqual({ ...before, files: 0, rejections: 0 })
    expect(after.rejections! - before.rejections!).toBe(2)
  })

  it('never lets a planted phone, e-mail or name out: logs, rejection rows, responses without consent', async () => {
    const name = 'CAF093.IRSACG.20261107.xml'
    const refusedPhone = `<ModesContacts>\n<NUMTEL>${SENTINEL_PHONE}</NUMTEL>\n<AUTORUTITEL>R</AUTORUTITEL>\n<ADRELEC>${SENTINEL_EMAIL}</ADRELEC>\n</ModesContacts>\n`
    const badEmail = `<ModesContacts>\n<NUMTEL>${SENTINEL_PHONE}</NUMTEL>\n<AUTORUTITEL>A</AUTORUTITEL>\n<ADRELEC>${SENTINEL_BAD_EMAIL}</ADRELEC>\n<AUTORUTIADRELEC>A</AUTORUTIADRELEC>\n</ModesContacts>\n`
    // Enough good applications around the bad one for the file to stay under the flow's max_rejected_rate.
    const others = Array.from({ length: 60 }, (_, i) => application(`8880000${String(100 + i).padStart(4, '0')}`, undefined, ''))
    writeFileSync(path.join(dir, name), instructionXml('I', [application('88800000001', '2900475123456', refusedPhone), application('88800000002', '1850312345678', badEmail), ...others]))
    logged = ''
    const outcome = await ingest('caf-instruction', name, '2026-11-07T03:00:00Z')
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 61, rejected: 1 })
    const rejections = await t.db.query<{ field: string; rule: string }>('select * from rejections where file_id = $1', [outcome.fileId])
    expect(rejections.rows.map((r) => [r.field, r.rule])).toEqual([['adrelec', 'email_format']])
    const org = await t.db.query<{ siret: string }>("select siret from organisations where name like '%' limit 1")
    const { outcome: assigned } = await assignEveryApplicant(deps(), flows.get('orientations')!, dir, { siret: org.rows[0]!.siret, email: 'referente@ccas.example', start: '01/11/2026', fileDate: '2026-11-08' })
    expect(assigned.status).toBe('loaded')
    const res = await app.request('/v1/beneficiaires?limit=100', { headers: { Authorization: `Bearer ${token}` } })
    const text = await res.text()
    const item = (JSON.parse(text) as { items: { data: Record<string, unknown> }[] }).items.find((i) => i.data.numeroDemandeRsa === '88800000001')
    expect(item?.data).toMatchObject({ telephone: null, accordUtilisationTelephone: 'R', courriel: null, accordUtilisationCourriel: null })
    const everything = [logged, JSON.stringify(rejections.rows), JSON.stringify(outcome), text].join('\n')
    for (const s of [SENTINEL_PHONE, SENTINEL_EMAIL, SENTINEL_BAD_EMAIL]) expect(everything).not.toContain(s)
    expect([logged, JSON.stringify(rejections.rows), JSON.stringify(outcome)].join('\n')).not.toContain(SENTINEL_NAME)
  })

  it('reloads idempotently: the same file is skipped, the same content under another name changes nothing', async () => {
    const before = await tableCounts(t.db)
    const dossiers = (await t.db.query('select organisme, numdemrsa, telephone, email, accord_telephone from dossiers order by 1, 2')).rows
    expect(await ingest('caf-instruction', cafName, '2026-10-20T03:00:00Z')).toMatchObject({ code: 'already_loaded' })
    const copy = 'CAF093.IRSACG.20261109.xml'
    await writeInstructionFile(path.join(dir, copy), { flow: 'caf', seed: SEED, indices, dtcreaflux: '2026-10-20' })
    expect(await ingest('caf-instruction', copy, '2026-11-09T03:00:00Z')).toMatchObject({ status: 'loaded', accepted: FOYERS })
    const after = await tableCounts(t.db)
    expect({ ...after, files: 0 }).toEqual({ ...before, files: 0 })
    expect((await t.db.query('select organisme, numdemrsa, telephone, email, accord_telephone from dossiers order by 1, 2')).rows).toEqual(dossiers)
  })
})
