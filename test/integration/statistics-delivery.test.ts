import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { issueApiToken } from '../../src/auth/issue-api-token.ts'
import { createOrganisation } from '../../src/auth/organisations.ts'
import { completeSiret } from '../../src/auth/siret.ts'
import { createUser } from '../../src/auth/users.ts'
import { TEST_AUDIT_SIGNING_KEY, testKeys } from '../../src/crypto/keys.ts'
import { createApp } from '../../src/http/app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import type { Purpose } from '../../src/purposes/purpose.ts'
import { runExtract, type ExtractDeps, type MicrodataManifest } from '../../src/statistics/run-extract.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { startSftpForTests, type TestSftp } from '../helpers/sshd.ts'
import { seedStatisticsPopulation } from '../helpers/statistics-seed.ts'

const run = promisify(execFile)
const SIRET = completeSiret('1300000000001')
const OTHER_SIRET = completeSiret('1300000000002')

/** The shipped purpose with a small lattice, the observatory bound to SIRET and DREES pushed to the test server. */
function purposes(sftp: TestSftp): Map<string, Purpose> {
  const all = loadPurposes(path.join(REPO_ROOT, 'mappings'))
  const shipped = all.get('statistiques')!
  const source = sftp.source('depot-drees')
  all.set('statistiques', {
    ...shipped,
    statistics: {
      ...(shipped.statistics as Record<string, unknown>),
      quasi_identifiers: [
        { column: 'anneeNaissance', hierarchy: 'date', levels: ['band-5', 'band-10'] },
        { column: 'sexe', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'departement', hierarchy: 'commune', levels: ['departement'] },
        { column: 'organisme', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'roleDossier', hierarchy: 'categorical', levels: ['keep'] },
        { column: 'situationFamiliale', hierarchy: 'categorical', levels: [{ name: 'seul-ou-couple', map: { MAR: 'couple', PAC: 'couple', VIM: 'couple' }, other: 'seul' }] },
        { column: 'nombrePersonnesFoyer', hierarchy: 'count', levels: ['cap-3'] },
        { column: 'nombreEnfants', hierarchy: 'count', levels: ['cap-2'] },
        { column: 'anneeDemande', hierarchy: 'date', levels: ['band-10', '*'] },
      ],
      aggregates: [],
      max_suppression_rate: 0.25,
      recipients: [
        { id: 'observatoire', name: 'Observatoire', organisation: SIRET },
        {
          id: 'drees',
          name: 'DREES',
          sftp: { host: source.host, port: source.port, user: source.user, private_key_env: source.private_key_env, host_key_env: source.host_key_env, remote_dir: source.remote_dir },
        },
      ],
    },
  })
  return all
}

describe.skipIf(postgresUnavailable())('delivery of statistical extracts', () => {
  let t: TestDatabase
  let sftp: TestSftp
  let all: Map<string, Purpose>
  let deps: ExtractDeps
  let outDir: string
  let keysDir: string

  beforeAll(async () => {
    t = await createTestDatabase()
    sftp = await startSftpForTests()
    all = purposes(sftp)
    await seedStatisticsPopulation(t.db, { foyers: 1_500, seed: 7 })
    keysDir = mkdtempSync(path.join(tmpdir(), 'passerelle-extract-keys-'))
    outDir = mkdtempSync(path.join(tmpdir(), 'passerelle-extracts-'))
    writeFileSync(path.join(keysDir, 'drees.v1.key'), Buffer.alloc(32, 31).toString('base64'), { mode: 0o600 })
    writeFileSync(path.join(keysDir, 'observatoire.v4.key'), Buffer.alloc(32, 32).toString('base64'), { mode: 0o600 })
    deps = {
      db: t.db,
      log: createLogger({ level: 'silent' }),
      env: { PASSERELLE_EXTRACT_KEYS_DIR: keysDir, ...sftp.env() },
      sftp: { retries: 0, retryDelayMs: 0 },
    }
  })
  afterAll(async () => {
    await sftp?.close()
    await t?.drop()
  })

  it('pushes the CSV, its codebook and its manifest to the recipient’s SFTP server, records and audits it', async () => {
    const result = await runExtract(deps, { purpose: all.get('statistiques')!, recipientId: 'drees', asOf: '2026-05-01', outDir })
    expect(result.pushedTo).toHaveLength(3)
    const remoteData = readFileSync(sftp.localPath(result.pushedTo![0]!))
    expect(createHash('sha256').update(remoteData).digest('hex')).toBe(result.manifest.file.sha256)
    const remoteCodebook = readFileSync(sftp.localPath(result.pushedTo![1]!))
    expect(createHash('sha256').update(remoteCodebook).digest('hex')).toBe(result.manifest.codebook.file.sha256)
    const remoteManifest = JSON.parse(readFileSync(sftp.localPath(result.pushedTo![2]!), 'utf8')) as MicrodataManifest
    expect(remoteManifest.id).toBe(result.manifest.id)
    const { rows } = await t.db.query<{ delivered_at: unknown; delivered_to: string }>('select delivered_at, delivered_to from extracts where public_id = $1', [result.manifest.id])
    expect(rows[0]!.delivered_at).not.toBeNull()
    expect(rows[0]!.delivered_to).toBe(result.pushedTo![0])
    const audit = await t.db.query<{ outcome: string; channel: string }>(
      `select outcome, details ->> 'channel' as channel from audit_events where action = 'extract.deliver' and details ->> 'extractId' = $1 order by seq`,
      [result.manifest.id],
    )
    expect(audit.rows).toEqual([
      { outcome: 'done', channel: 'file' },
      { outcome: 'done', channel: 'sftp' },
    ])
  })

  it('says the extract is written but not pushed when the server cannot be reached, and audits the failure', async () => {
    const unreachable = { ...deps, env: { ...deps.env, TEST_SFTP_PORT: '1' } }
    await expect(runExtract(unreachable, { purpose: all.get('statistiques')!, recipientId: 'drees', asOf: '2026-05-02', outDir })).rejects.toThrow(
      /written to .*, but the push to recipient "drees" failed/,
    )
    const { rows } = await t.db.query<{ n: number }>(`select count(*)::int as n from audit_events where action = 'extract.deliver' and outcome = 'failed' and details ->> 'channel' = 'sftp'`)
    expect(rows[0]!.n).toBe(1)
  })

  describe('over the API', () => {
    let app: ReturnType<typeof createApp>
    let writer: AuditWriter
    let token: string
    let otherToken: string
    let extractId: string

    beforeAll(async () => {
      writer = new AuditWriter(t.db)
      app = createApp({ db: t.db, keys: testKeys(), purposes: all, audit: writer, log: createLogger({ level: 'silent' }) })
      const org = await createOrganisation(t.db, { siret: SIRET, name: 'Observatoire', type: 'statistique' })
      const other = await createOrganisation(t.db, { siret: OTHER_SIRET, name: 'Autre service', type: 'departement' })
      await createUser(t.db, { email: 'stat@observatoire.example', displayName: 'Statisticienne', role: 'statistician', organisationId: org!.id })
      await createUser(t.db, { email: 'stat@autre.example', displayName: 'Autre', role: 'statistician', organisationId: other!.id })
      token = (await issueApiToken(t.db, all, { email: 'stat@observatoire.example', purposeId: 'statistiques', lifetime: '30d' }, new Date())).token
      otherToken = (await issueApiToken(t.db, all, { email: 'stat@autre.example', purposeId: 'statistiques', lifetime: '30d' }, new Date())).token
      const result = await runExtract(deps, { purpose: all.get('statistiques')!, recipientId: 'observatoire', asOf: '2026-05-01', outDir })
      extractId = result.manifest.id
    })

    const get = (url: string, bearer: string) => app.request(url, { headers: { authorization: `Bearer ${bearer}` } })

    it('lists and serves the extracts of the caller’s organisation, and audits the download', async () => {
      const list = await get('/v1/extracts', token)
      expect(list.status).toBe(200)
      const body = (await list.json()) as { data: { id: string; recipient: string; sha256: string; keyVersion: number }[] }
      expect(body.data.map((e) => e.id)).toEqual([extractId])
      expect(body.data[0]!.keyVersion).toBe(4)
      const download = await get(`/v1/extracts/${extractId}`, token)
      expect(download.status).toBe(200)
      expect(download.headers.get('content-type')).toBe('text/csv; charset=utf-8')
      const bytes = Buffer.from(await download.arrayBuffer())
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(body.data[0]!.sha256)
      expect(download.headers.get('x-content-sha256')).toBe(body.data[0]!.sha256)
      const manifest = (await (await get(`/v1/extracts/${extractId}/manifest`, token)).json()) as MicrodataManifest
      expect(manifest.file.sha256).toBe(body.data[0]!.sha256)
      await writer.drain()
      const { rows } = await t.db.query<{ outcome: string; subject: string | null; organisation: string }>(
        `select outcome, subject, organisation from audit_events where action = 'extract.download' and details ->> 'extractId' = $1`,
        [extractId],
      )
      expect(rows).toEqual([{ outcome: 'granted', subject: null, organisation: SIRET }])
    })

    it('answers 404 to a statistician of another organisation', async () => {
      expect(((await (await get('/v1/extracts', otherToken)).json()) as { data: unknown[] }).data).toEqual([])
      expect((await get(`/v1/extracts/${extractId}`, otherToken)).status).toBe(404)
      expect((await get(`/v1/extracts/${extractId}/manifest`, otherToken)).status).toBe(404)
    })

    it('refuses to serve a file that no longer matches its digest', async () => {
      const { rows } = await t.db.query<{ file_path: string }>('select file_path from extracts where public_id = $1', [extractId])
      const file = rows[0]!.file_path
      const original = readFileSync(file)
      writeFileSync(file, Buffer.concat([original, Buffer.from('x\n')]))
      try {
        const response = await get(`/v1/extracts/${extractId}`, token)
        expect(response.status).toBe(500)
        expect(await response.json()).toEqual({ error: { code: 'extract_altered', message: expect.any(String) } })
      } finally {
        writeFileSync(file, original)
      }
    })
  })

  it.skipIf(testBackend() !== 'postgres')('runs from the command line', async () => {
    const mappings = mkdtempSync(path.join(tmpdir(), 'passerelle-mappings-'))
    cpSync(path.join(REPO_ROOT, 'mappings'), mappings, { recursive: true })
    const purpose = all.get('statistiques')!
    const { id: _id, ...declaration } = purpose
    writeFileSync(path.join(mappings, 'statistiques.yaml'), stringify(declaration))
    const out = mkdtempSync(path.join(tmpdir(), 'passerelle-cli-extract-'))
    const key = Buffer.alloc(32, 5).toString('base64')
    const { stdout } = await run(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/passerelle.js'), 'extract', '--purpose', 'statistiques', '--recipient', 'observatoire', '--as-of', '2026-05-03', '--out', out],
      {
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: t.url,
          PASSERELLE_MAPPINGS_DIR: mappings,
          PASSERELLE_FLOWS_DIR: path.join(REPO_ROOT, 'flows'),
          PASSERELLE_NIR_KEY: key,
          PASSERELLE_INDEX_KEY: key,
          PASSERELLE_PSEUDONYM_KEY: key,
          PASSERELLE_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
          PASSERELLE_EXTRACT_KEYS_DIR: keysDir,
          LOG_LEVEL: 'silent',
        },
      },
    )
    expect(stdout).toMatch(/extract [0-9a-f-]{36} \(microdata\) for observatoire, as of 2026-05-03/)
    expect(stdout).toMatch(/key: +version 4/)
    const data = stdout.match(/data: +(\S+)/)![1]!
    expect(existsSync(data)).toBe(true)
  })
})
