import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { pullFlow, type PullDeps } from '../../src/ingestion/pull-flow.ts'
import { nirKey } from '../../src/ingestion/validation/nir.ts'
import { createLogger } from '../../src/log/logger.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { writeFichierPeCg } from '../../src/fixtures/france-travail/write-fichier-pe-cg.ts'

/**
 * A flow's `decrypt:` stage: files encrypted on the fly with the openssl binary, as France Travail sends the SPIE
 * extracts (`openssl cms -encrypt`), are deciphered as they stream into the csv-records reader. A file that does not
 * decrypt (another recipient, not encrypted, cut short) is rejected whole as `not_decryptable`, with the envelope's
 * fault and no value; a missing key is configuration (ConfigError), and the file is not recorded.
 */
const NIR_A = '1800175123456'
const full = (nir13: string) => nir13 + nirKey(nir13)
const SENTINEL_NAME = 'SENTINELCHIFFREQ7'

const FLOW = `
title: Extrait chiffré de test
producer: France Travail
decrypt: { type: cms, certificate_env: TEST_SMIME_CERTIFICATE, private_key_env: TEST_SMIME_PRIVATE_KEY }
format:
  type: csv-records
  encoding: utf-8
  delimiter: ';'
  header: true
  null_literal: 'NULL'
  datetime_format: 'YYYY-MM-DD HH:mm:ss.S'
  kind: suivi
  values: { franceTravail.etat: inscription }
  fields:
    - { name: identifiant, field: franceTravail.identifiant, required: true, pattern: '^[0-9]{7}[A-Z0-9][0-9]{3}$' }
    - { name: nir, field: personne.nir, type: nir, required: true }
    - { name: nom, required: true, max_length: 100 }
    - { name: date_naissance, field: personne.dateNaissance, type: datetime, required: true }
    - { name: date_etat, field: franceTravail.dateEtat, type: datetime, required: true }
  target: registrations
schedule: '0 5 * * *'
retention: france-travail
max_rejected_rate: 0.5
`

describe.skipIf(postgresUnavailable())('a flow whose files arrive encrypted (decrypt: cms)', () => {
  let t: TestDatabase
  let deps: IngestDeps
  const flowsDir = mkdtempSync(path.join(tmpdir(), 'passerelle-decrypt-flows-'))
  const keysDir = mkdtempSync(path.join(tmpdir(), 'passerelle-decrypt-keys-'))
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-decrypt-files-'))
  // The shipped flows (the purposes name them) and the test flow beside them.
  cpSync(path.join(REPO_ROOT, 'flows'), flowsDir, { recursive: true })
  writeFileSync(path.join(flowsDir, 'extrait-chiffre.yaml'), FLOW)
  // The shipped monthly XML flow, its files arriving encrypted: the xml-records reader behind the same stage.
  const mensuel = path.join(flowsDir, 'france-travail-mensuel.yaml')
  writeFileSync(mensuel, `decrypt: { type: cms, certificate_env: TEST_SMIME_CERTIFICATE, private_key_env: TEST_SMIME_PRIVATE_KEY }\n${readFileSync(mensuel, 'utf8')}`)
  const declarations = loadDeclarations({ flowsDir, mappingsDir: path.join(REPO_ROOT, 'mappings') })
  const flow = declarations.flows.get('extrait-chiffre')!
  const key = (name: string) => path.join(keysDir, name)
  for (const name of ['dept', 'other']) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key(`${name}.key`), '-out', key(`${name}.crt`), '-subj', `/CN=${name}`, '-days', '2'], { stdio: 'ignore' })
  }
  // The certificate as PEM text with `\n` escapes (as container environments pass it), the key as a file path.
  const env = { TEST_SMIME_CERTIFICATE: readFileSync(key('dept.crt'), 'utf8').replace(/\n/g, '\\n'), TEST_SMIME_PRIVATE_KEY: key('dept.key'), PASSERELLE_DEPARTEMENT: '93' }
  const clear = [
    'identifiant;nir;nom;date_naissance;date_etat',
    `0123456A001;${full(NIR_A)};${SENTINEL_NAME};1980-01-15 00:00:00.0;2026-11-02 00:00:00.0`,
    `0234567B002;NULL;${SENTINEL_NAME};1992-04-30 00:00:00.0;2026-11-05 10:30:00.0`,
  ].join('\n') + '\n'
  const encrypt = (name: string, recipient: string, options: string[] = ['-outform', 'DER']): Buffer => {
    const input = path.join(keysDir, `${name}.clear`)
    const output = path.join(keysDir, `${name}.enc`)
    writeFileSync(input, clear)
    execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-in', input, '-out', output, ...options, key(`${recipient}.crt`)], { stdio: 'ignore' })
    return readFileSync(output)
  }
  let minute = 0
  const ingest = (name: string, content: Buffer | string, withEnv: NodeJS.ProcessEnv = env) => {
    const file = path.join(work, name)
    writeFileSync(file, content)
    minute++
    return ingestFile({ ...deps, env: withEnv }, flow, { path: file, name, source: 'local', modifiedAt: new Date(Date.UTC(2026, 10, 30, 8, minute)) })
  }
  const rejections = async (fileId: number) =>
    (await t.db.query<{ field: string; rule: string }>('select field, rule from rejections where file_id = $1 order by record_index, field', [fileId])).rows
  const everything = async () => {
    const { rows: tables } = await t.db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`)
    let text = ''
    for (const { table_name } of tables) {
      const { rows } = await t.db.query<{ j: string }>(`select row_to_json(x)::text as j from "${table_name}" x`)
      text += rows.map((r) => r.j).join('\n')
    }
    return text
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    deps = { db: t.db, keys: testKeys(), log: createLogger({ level: 'silent' }), stored: declarations.stored, purposes: declarations.purposes }
  })
  afterAll(async () => {
    await t?.drop()
  })

  it('reads the flow declaration: decrypt block kept', () => {
    expect(flow.decrypt).toEqual({ type: 'cms', certificate_env: 'TEST_SMIME_CERTIFICATE', private_key_env: 'TEST_SMIME_PRIVATE_KEY' })
  })

  it('loads a file encrypted for the département (DER, then S/MIME): deciphered as it streams, nothing clear written', async () => {
    const der = await ingest('suivi_der.p7m', encrypt('der', 'dept'))
    expect(der).toMatchObject({ status: 'loaded', accepted: 1, rejected: 1 })
    const { rows } = await t.db.query<{ identifiant_pe: string }>('select identifiant_pe from france_travail_registrations order by identifiant_pe')
    expect(rows).toEqual([{ identifiant_pe: '0123456A001' }])
    expect(await rejections(der.fileId!)).toEqual([{ field: 'nir', rule: 'required' }])
    const smime = await ingest('suivi_smime.p7m', encrypt('smime', 'dept', ['-outform', 'SMIME']))
    expect(smime).toMatchObject({ status: 'loaded', accepted: 1, rejected: 1 })
    // The work folder holds the encrypted files only: no deciphered copy beside them.
    expect(readdirSync(work).sort()).toEqual(['suivi_der.p7m', 'suivi_smime.p7m'])
    for (const name of readdirSync(work)) expect(readFileSync(path.join(work, name)).includes(SENTINEL_NAME)).toBe(false)
  })

  it.each([
    ['encrypted for another certificate', () => encrypt('other', 'other'), /not encrypted for the département's certificate/],
    ['not encrypted at all', () => clear, /not a CMS or S\/MIME message/],
    ['cut short', () => encrypt('cut', 'dept').subarray(0, 600), /cut short/],
  ])('rejects whole a file %s: not_decryptable, the envelope named, no value', async (label, content, reason) => {
    const outcome = await ingest(`suivi_${label.replace(/\W+/g, '_')}.p7m`, content())
    expect(outcome).toMatchObject({ status: 'rejected', code: 'not_decryptable', accepted: 0 })
    expect(outcome.reason).toMatch(reason)
    expect(outcome.reason).not.toContain(SENTINEL_NAME)
    expect(await rejections(outcome.fileId!)).toEqual([{ field: '(file)', rule: 'not_decryptable' }])
    const { rows } = await t.db.query<{ reason: string }>('select reason from files where id = $1', [outcome.fileId])
    expect(rows[0]!.reason).toMatch(/^not_decryptable: /)
  })

  it('a missing or wrong key is configuration: ConfigError naming the variables, the file not recorded', async () => {
    const content = encrypt('nokey', 'dept')
    await expect(ingest('suivi_nokey.p7m', content, {})).rejects.toThrow(ConfigError)
    await expect(ingest('suivi_nokey.p7m', content, {})).rejects.toThrow(/TEST_SMIME_CERTIFICATE \(decrypt.certificate_env\) is not set/)
    const wrongKey = { ...env, TEST_SMIME_PRIVATE_KEY: key('other.key') }
    await expect(ingest('suivi_nokey.p7m', content, wrongKey)).rejects.toThrow(/is not the private key of the certificate/)
    const { rows } = await t.db.query('select id from files where name = $1', ['suivi_nokey.p7m'])
    expect(rows).toEqual([])
  })

  it('loads an encrypted fichier-PE-CG stock through the xml-records reader (ISO-8859-1 inside the envelope)', async () => {
    const clearFile = path.join(keysDir, 'pecg.xml')
    const written = await writeFichierPeCg(clearFile, { seed: 'decrypt-test', foyers: 120, date: '2027-01-15' })
    const encrypted = path.join(keysDir, 'pecg.xml.p7m')
    execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-outform', 'DER', '-in', clearFile, '-out', encrypted, key('dept.crt')], { stdio: 'ignore' })
    const at = path.join(work, 'PECG_202701.xml.p7m')
    writeFileSync(at, readFileSync(encrypted))
    const outcome = await ingestFile({ ...deps, env }, declarations.flows.get('france-travail-mensuel')!, { path: at, name: 'PECG_202701.xml.p7m', source: 'local', modifiedAt: new Date(Date.UTC(2027, 0, 16)) })
    expect(outcome).toMatchObject({ status: 'loaded', kind: 'stock', accepted: written.dossiers, rejected: 0 })
  })

  it('a scheduled pull of an encrypted flow without its key fails before the server is opened (no file touched)', async () => {
    const flowWithSource = declarations.flows.get('france-travail-mensuel')!
    expect(flowWithSource.source).toBeDefined()
    const pullDeps = { ...deps, env: {}, config: { stagingDir: path.join(work, 'staging'), sftp: { retries: 0, retryDelayMs: 0 } } } as unknown as PullDeps
    await expect(pullFlow(pullDeps, flowWithSource)).rejects.toThrow(ConfigError)
  })

  it('stores no value of the rejected files or records anywhere', async () => {
    expect(await everything()).not.toContain(SENTINEL_NAME)
  })
})
