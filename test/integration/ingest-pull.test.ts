import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Flow } from '../../src/flows/flow.ts'
import { pullFlow, type PullDeps } from '../../src/ingestion/pull-flow.ts'
import { cnafFileName, writeCnafFile, type CnafFileOptions } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { foyer } from '../../src/fixtures/population.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { flowOnTestServer, pullDeps, tableCounts } from '../helpers/ingest.ts'
import { startSftpForTests, type TestSftp } from '../helpers/sshd.ts'

describe.skipIf(postgresUnavailable())('pulling CNAF flows over SFTP', () => {
  let t: TestDatabase
  let sftp: TestSftp
  let deps: PullDeps
  let caf: Flow
  let dropDir: string

  /** Writes a generated file into the CAF drop folder and returns its name and report. */
  async function drop(options: Omit<CnafFileOptions, 'flow' | 'seed'> & { name?: string; flow?: 'caf' | 'msa'; dir?: string }) {
    const name = options.name ?? cnafFileName({ flow: options.flow ?? 'caf', typeflux: options.typeflux, dtcreaflux: options.dtcreaflux })
    const report = await writeCnafFile(path.join(options.dir ?? dropDir, name), { flow: 'caf', seed: 7, ...options })
    return { name, report }
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    sftp = await startSftpForTests()
    deps = pullDeps(t.db, sftp)
    caf = flowOnTestServer('caf-beneficiaires', sftp, 'caf')
    dropDir = sftp.localPath(caf.source!.remote_dir)
    mkdirSync(dropDir, { recursive: true })
  })
  afterAll(async () => {
    await sftp?.close()
    await t?.drop()
  })

  it('loads a monthly stock, then acknowledges it and moves it to done/', async () => {
    const { name, report } = await drop({ typeflux: 'M', foyers: 60, dtcreaflux: '2026-10-02' })
    const [outcome, ...others] = await pullFlow(deps, caf)
    expect(others).toEqual([])
    expect(outcome).toMatchObject({ name, status: 'loaded', kind: 'stock', accepted: 60, rejected: 0 })
    const counts = await tableCounts(t.db)
    expect(counts.dossiers).toBe(60)
    expect(counts.dossier_members).toBe(report.persons)
    expect(existsSync(path.join(dropDir, name))).toBe(false)
    expect(existsSync(path.join(dropDir, 'done', name))).toBe(true)
    // The answer stays where the producer dropped the file.
    const ack = JSON.parse(readFileSync(path.join(dropDir, `${name}.ack`), 'utf8'))
    expect(ack).toMatchObject({ status: 'loaded' })
    // The pull's own staging folder is gone with its copy of the file.
    expect(readdirSync(deps.config.stagingDir)).toEqual([])
  })

  it('skips the same file delivered twice and changes nothing', async () => {
    const before = await tableCounts(t.db)
    const { name } = await drop({ typeflux: 'M', foyers: 60, dtcreaflux: '2026-10-02' })
    const [outcome] = await pullFlow(deps, caf)
    expect(outcome).toMatchObject({ name, status: 'skipped', code: 'already_loaded' })
    expect(await tableCounts(t.db)).toEqual(before)
    expect(existsSync(path.join(dropDir, name))).toBe(false)
  })

  it('applies daily files after the stock, and a new stock marks absent dossiers as no longer transmitted', async () => {
    const daily = await drop({ typeflux: 'I', indices: [0, 1, 2, 75], dtcreaflux: '2026-10-05' })
    const [d] = await pullFlow(deps, caf)
    expect(d).toMatchObject({ name: daily.name, status: 'loaded', kind: 'daily', accepted: 4 })
    expect((await tableCounts(t.db)).dossiers).toBe(61)
    const { rows: touched } = await t.db.query<{ n: number }>(
      'select count(*)::int as n from dossiers where file_id = $1',
      [d!.fileId],
    )
    expect(touched[0]!.n).toBe(4)

    const stock = await drop({ typeflux: 'M', foyers: 50, dtcreaflux: '2026-11-02' })
    const [s] = await pullFlow(deps, caf)
    expect(s).toMatchObject({ name: stock.name, status: 'loaded', accepted: 50 })
    const { rows } = await t.db.query<{ transmission_state: string; n: number }>(
      `select transmission_state, count(*)::int as n
       from dossiers
       group by transmission_state
       order by 1`,
    )
    expect(rows).toEqual([
      { transmission_state: 'not_transmitted', n: 11 },
      { transmission_state: 'transmitted', n: 50 },
    ])
    const { rows: history } = await t.db.query<{ n: number }>(
      `select count(*)::int as n from state_changes where field = 'transmission_state' and new_value = 'not_transmitted'`,
    )
    expect(history[0]!.n).toBe(11)
  })

  it('loads a file older than the last one applied, its older records superseded rather than rejected', async () => {
    const before = await tableCounts(t.db)
    const { name } = await drop({ typeflux: 'I', indices: [3], dtcreaflux: '2026-10-20' })
    const [outcome] = await pullFlow(deps, caf)
    // Foyer 3 was written by the stock of 2026-11-02: the daily file of 2026-10-20 does not overwrite it.
    expect(outcome).toMatchObject({ name, status: 'loaded', accepted: 0, rejected: 0, superseded: 1 })
    const after = await tableCounts(t.db)
    expect({ ...after, files: before.files }).toEqual(before)
    expect(existsSync(path.join(dropDir, 'done', name))).toBe(true)
    expect(existsSync(path.join(dropDir, `${name}.ack`))).toBe(true)
  })

  it('rejects a truncated file whole and loads nothing of it', async () => {
    const before = await tableCounts(t.db)
    const { name } = await drop({ typeflux: 'I', indices: [4, 5, 6, 7, 8, 9], dtcreaflux: '2026-11-03', defects: { truncate: { fraction: 0.7 } } })
    const [outcome] = await pullFlow(deps, caf)
    expect(outcome).toMatchObject({ name, status: 'rejected', code: 'truncated' })
    const after = await tableCounts(t.db)
    expect([after.dossiers, after.persons, after.dossier_members, after.state_changes]).toEqual([
      before.dossiers, before.persons, before.dossier_members, before.state_changes,
    ])
    const { rows } = await t.db.query<{ status: string; reason: string }>('select status, reason from files where id = $1', [outcome!.fileId])
    expect(rows[0]!.status).toBe('rejected')
    expect(rows[0]!.reason).toContain(name)
  })

  it('rejects a trailer count mismatch', async () => {
    const { name } = await drop({ typeflux: 'I', indices: [10, 11], dtcreaflux: '2026-11-04', defects: { countMismatch: { delta: 1 } } })
    const [outcome] = await pullFlow(deps, caf)
    expect(outcome).toMatchObject({ name, status: 'rejected', code: 'count_mismatch' })
  })

  it('rejects a file that is not XML', async () => {
    const name = 'CAF093.RSABEI.20261105.xml'
    writeFileSync(path.join(dropDir, name), 'NUMDEMRSA;ETATDOSRSA\n01234567890;2\n')
    const [outcome] = await pullFlow(deps, caf)
    expect(outcome).toMatchObject({ name, status: 'rejected' })
    expect(['not_well_formed', 'wrong_schema', 'bad_header']).toContain(outcome!.code)
  })

  it('loads the valid records of a file with bad NIR keys and records where and which rule, never the value', async () => {
    const { name, report } = await drop({ typeflux: 'I', indices: Array.from({ length: 200 }, (_, i) => 100 + i), dtcreaflux: '2026-11-06', defects: { badNirKey: { every: 100 } } })
    const hits = report.defects.badNirKey ?? []
    expect(hits.length).toBeGreaterThan(0)
    const [outcome] = await pullFlow(deps, caf)
    expect(outcome).toMatchObject({ name, status: 'loaded', rejected: hits.length, accepted: 200 - hits.length })
    const { rows } = await t.db.query<{ record_index: number; field: string; rule: string }>(
      'select record_index, field, rule from rejections where file_id = $1 order by record_index',
      [outcome!.fileId],
    )
    expect(rows.map((r) => r.record_index)).toEqual(hits.map((h) => h.recordIndex))
    expect(rows.every((r) => r.rule === 'nir_key' && r.field.includes('NIR'))).toBe(true)
    expect(rows.some((r) => /\d{6,}/.test(`${r.field} ${r.rule}`))).toBe(false)
  })

  it('keeps windows-1252 accents of names intact (the stored names are exactly the generated ones)', async () => {
    // Persons of the first stock (foyers 0..59, seed 7); compared as sets, printed only as counts.
    const expected = new Set(Array.from({ length: 60 }, (_, i) => foyer(7, i)).flatMap((f) => f.personnes.map((p) => `${p.nom}|${p.prenom}`)))
    const { rows } = await t.db.query<{ nom: string; prenom: string }>(
      `select p.nom, p.prenom
       from persons p
       join dossier_members m on m.person_id = p.id
       join dossiers d on d.id = m.dossier_id
       where d.numdemrsa = any($1::text[])`,
      [Array.from({ length: 60 }, (_, i) => foyer(7, i).numdemrsa)],
    )
    const stored = new Set(rows.map((r) => `${r.nom}|${r.prenom}`))
    const accented = [...expected].filter((n) => /[^\x00-\x7f]/.test(n)).length
    expect(accented).toBeGreaterThan(5)
    const missing = [...expected].filter((n) => !stored.has(n)).length
    const unexpected = [...stored].filter((n) => !expected.has(n)).length
    expect({ missing, unexpected }).toEqual({ missing: 0, unexpected: 0 })
  })

  it('retries a download cut mid-way and loads the file once', async () => {
    if (sftp.kind !== 'embedded') {
      // Fault injection needs the in-process server: run this case on it whatever the suite's server is.
      const { startEmbeddedSftpForTests } = await import('../helpers/sshd.ts')
      const embedded = await startEmbeddedSftpForTests()
      try {
        await cutDownloadCase(embedded)
      } finally {
        await embedded.close()
      }
    } else {
      await cutDownloadCase(sftp)
    }
  })

  async function cutDownloadCase(server: TestSftp) {
    const flow = flowOnTestServer('caf-beneficiaires', server, 'caf-cut')
    const dir = server.localPath(flow.source!.remote_dir)
    mkdirSync(dir, { recursive: true })
    const { name } = await drop({ typeflux: 'I', indices: Array.from({ length: 300 }, (_, i) => 400 + i), dtcreaflux: '2026-11-07', dir })
    server.embedded!.faults.cutAfterBytes = 64 * 1024
    server.embedded!.faults.cutConnections = 1
    const [outcome] = await pullFlow(pullDeps(t.db, server), flow)
    expect(outcome).toMatchObject({ name, status: 'loaded', accepted: 300 })
    expect(existsSync(path.join(dir, 'done', name))).toBe(true)
  }
})
