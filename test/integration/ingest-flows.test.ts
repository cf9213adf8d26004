import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { pullFlow } from '../../src/ingestion/pull-flow.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { flowOnTestServer, pullDeps, tableCounts } from '../helpers/ingest.ts'
import { startSftpForTests, type TestSftp } from '../helpers/sshd.ts'

/** The MSA and France Travail flows end to end, and matching of the same persons across flows. */
describe.skipIf(postgresUnavailable())('MSA and France Travail flows', () => {
  let t: TestDatabase
  let sftp: TestSftp
  beforeAll(async () => {
    t = await createTestDatabase()
    sftp = await startSftpForTests()
  })
  afterAll(async () => {
    await sftp?.close()
    await t?.drop()
  })

  it('loads an MSA stock through the msa-beneficiaires flow', async () => {
    const flow = flowOnTestServer('msa-beneficiaires', sftp, 'msa')
    const dir = sftp.localPath(flow.source!.remote_dir)
    mkdirSync(dir, { recursive: true })
    const name = cnafFileName({ flow: 'msa', typeflux: 'M', dtcreaflux: '2026-11-02' })
    await writeCnafFile(path.join(dir, name), { flow: 'msa', seed: 3, typeflux: 'M', foyers: 40, dtcreaflux: '2026-11-02' })
    const [outcome] = await pullFlow(pullDeps(t.db, sftp), flow)
    expect(outcome).toMatchObject({ name, status: 'loaded', accepted: 40, rejected: 0 })
    const { rows } = await t.db.query<{ organisme: string; n: number }>(
      'select organisme, count(*)::int as n from dossiers group by organisme',
    )
    expect(rows).toEqual([{ organisme: 'MSA', n: 40 }])
  })

  it('refuses a CAF file sent through the MSA flow, naming the rule', async () => {
    const flow = flowOnTestServer('msa-beneficiaires', sftp, 'msa')
    const dir = sftp.localPath(flow.source!.remote_dir)
    const name = 'CAF093.RSABEI.20261103.xml'
    await writeCnafFile(path.join(dir, name), { flow: 'caf', seed: 3, typeflux: 'I', indices: [1, 2], dtcreaflux: '2026-11-03' })
    const [outcome] = await pullFlow(pullDeps(t.db, sftp), flow)
    expect(outcome?.status).toBe('rejected')
    expect(outcome?.reason).toMatch(/FONORG/)
  })

  it('loads France Travail stock then movements, matched to the CAF persons on NIR and birth date', async () => {
    const caf = flowOnTestServer('caf-beneficiaires', sftp, 'caf')
    const cafDir = sftp.localPath(caf.source!.remote_dir)
    mkdirSync(cafDir, { recursive: true })
    await writeCnafFile(path.join(cafDir, cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-11-02' })), {
      flow: 'caf', seed: 5, typeflux: 'M', foyers: 80, dtcreaflux: '2026-11-02',
    })
    expect((await pullFlow(pullDeps(t.db, sftp), caf))[0]?.status).toBe('loaded')

    const ft = flowOnTestServer('france-travail', sftp, 'ft')
    const ftDir = sftp.localPath(ft.source!.remote_dir)
    mkdirSync(ftDir, { recursive: true })
    const stock = await writeFranceTravailFile({ kind: 'stock', seed: 5, foyers: 80, date: '2026-11-05' }, ftDir)
    utimesSync(stock.path!, new Date('2026-11-05T06:00:00Z'), new Date('2026-11-05T06:00:00Z'))
    const cessations = await writeFranceTravailFile({ kind: 'cessations', seed: 5, foyers: { from: 0, count: 20 }, date: '2026-11-12' }, ftDir)
    utimesSync(cessations.path!, new Date('2026-11-12T06:00:00Z'), new Date('2026-11-12T06:00:00Z'))

    const outcomes = await pullFlow(pullDeps(t.db, sftp), ft)
    expect(outcomes.map((o) => [o.kind, o.status, o.rejected])).toEqual([
      ['stock', 'loaded', 0],
      ['cessations', 'loaded', 0],
    ])
    expect(outcomes[0]!.accepted).toBe(stock.rows)
    const { rows } = await t.db.query<{ etat: string; matched: number; n: number }>(
      `select r.etat, count(p.id)::int as matched, count(*)::int as n
       from france_travail_registrations r
       left join persons p on p.match_key = r.person_key
       group by r.etat
       order by r.etat`,
    )
    expect(rows.length).toBeGreaterThan(0)
    for (const row of rows) expect(row.matched).toBe(row.n)
    expect(rows.find((r) => r.etat === 'cessation')?.n).toBeGreaterThan(0)
    // Names France Travail sends are read and checked, never stored (no purpose stores France Travail's copy).
    const { rows: cols } = await t.db.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_name = 'france_travail_registrations'`,
    )
    expect(cols.map((c) => c.column_name)).not.toContain('nom')
  })

  it('refuses whole an instruction file (NATFLUX=I) on the beneficiary flow, loads nothing of it and nacks it naming the rule', async () => {
    const flow = flowOnTestServer('caf-beneficiaires', sftp, 'caf')
    const dir = sftp.localPath(flow.source!.remote_dir)
    mkdirSync(dir, { recursive: true })
    const name = 'CAF093.RSABEI.20261110.xml'
    const file = path.join(dir, name)
    await writeCnafFile(file, { flow: 'caf', seed: 5, typeflux: 'I', indices: [1, 2, 3], dtcreaflux: '2026-11-10' })
    // Instruction-shaped (VIRS0901 as far as it is public): NATFLUX=I, no DTREF, InfoDemandeRSA records.
    const beneficiary = readFileSync(file, 'latin1')
    const instruction = beneficiary
      .replace('<NATFLUX>D</NATFLUX>', '<NATFLUX>I</NATFLUX>')
      .replace(/<DTREF>[^<]*<\/DTREF>/, '')
      .replaceAll('InfosFoyerRSA>', 'InfoDemandeRSA>')
    expect(instruction).not.toBe(beneficiary)
    writeFileSync(file, instruction, 'latin1')
    const before = await tableCounts(t.db)
    const [outcome] = await pullFlow(pullDeps(t.db, sftp), flow)
    expect(outcome).toMatchObject({ name, status: 'rejected', code: 'wrong_flow_nature' })
    expect(outcome?.reason).toContain('instruction flow (NATFLUX=I) on a beneficiary flow')
    expect(outcome?.reason).not.toMatch(/DTREF|unexpected/)
    const after = await tableCounts(t.db)
    expect({ ...after, files: before.files, rejections: before.rejections }).toEqual(before)
    expect(existsSync(path.join(dir, 'rejected', name))).toBe(true)
    const nack = readFileSync(path.join(dir, `${name}.nack`), 'utf8')
    expect(nack).toContain('wrong_flow_nature')
    expect(nack).toContain('instruction flow (NATFLUX=I) on a beneficiary flow')
  })
})
