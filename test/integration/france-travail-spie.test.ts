import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations, type Declarations } from '../../src/declarations/load-declarations.ts'
import { writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { SPIE_PRINCIPAL_COLUMNS, writeSpieActions, writeSpiePrincipal, type SpieOptions } from '../../src/fixtures/france-travail/write-spie.ts'
import { foyer } from '../../src/fixtures/population.ts'
import { smimeKeyPair, writeEncrypted } from '../../src/fixtures/smime.ts'
import { ingestFile, type FileOutcome, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'

/**
 * The SPIE extracts (flows/france-travail-spie.yaml, france-travail-spie-actions.yaml) as France Travail sends them:
 * no NIR, S/MIME-encrypted on the fly with the openssl binary for the département's certificate, deciphered as they
 * stream. A CAF stock of the same synthetic population is loaded first (the persons to match), with two homonym
 * applicants (same birth name, first name and birth date as another applicant, another NIR).
 */
const SEED = 'spie-it'
const FOYERS = 40
const DATE = '2026-11-20'
const SENTINEL_NOM = 'SENTINELSPIENOMQ7'
const SENTINEL_PRENOM = 'SentinelSpiePrenomZ3'

/** Two new foyers whose applicant is the homonym of an applicant registered at France Travail. */
function homonyms(): Record<number, number> {
  const pairs: Record<number, number> = {}
  for (let i = 0, n = 0; n < 2; i++) if (foyer(SEED, i).personnes.find((p) => p.role === 'DEM')?.franceTravail) pairs[FOYERS + n++] = i
  return pairs
}

async function clearText(write: (out: Writable) => Promise<unknown>): Promise<string> {
  const out = new PassThrough()
  let text = ''
  out.on('data', (d: Buffer) => (text += d.toString('utf8')))
  await write(out)
  return text
}

describe.skipIf(postgresUnavailable())('France Travail SPIE extracts (encrypted, no NIR)', () => {
  let t: TestDatabase
  let deps: IngestDeps
  let logged = ''
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-spie-files-'))
  const keysDir = mkdtempSync(path.join(tmpdir(), 'passerelle-spie-keys-'))
  const dept = smimeKeyPair(keysDir, 'dept')
  const other = smimeKeyPair(keysDir, 'other')
  const env = { FT_SMIME_CERTIFICATE: dept.certificateFile, FT_SMIME_PRIVATE_KEY: dept.privateKeyFile }
  const declarations = loadDeclarations({ flowsDir: path.join(REPO_ROOT, 'flows'), mappingsDir: path.join(REPO_ROOT, 'mappings') })
  const principalFlow = declarations.flows.get('france-travail-spie')!
  const actionsFlow = declarations.flows.get('france-travail-spie-actions')!
  const pairs = homonyms()
  const options: SpieOptions = { seed: SEED, foyers: FOYERS, date: DATE, extra: Object.keys(pairs).map(Number), homonyms: pairs }
  let minute = 0
  const ingest = (d: IngestDeps, flowId: string, file: string, flows: Declarations['flows'] = declarations.flows) =>
    ingestFile({ ...d, env }, flows.get(flowId)!, {
      path: file,
      name: path.basename(file),
      source: 'local',
      modifiedAt: new Date(Date.UTC(2026, 10, 20, 8, ++minute)),
    })

  const loadPopulation = async (d: IngestDeps) => {
    const caf = path.join(work, `CAF093.RSABEM.${minute}.xml`)
    await writeCnafFile(caf, { flow: 'caf', seed: SEED, typeflux: 'M', foyers: FOYERS + 2, dtcreaflux: '2026-11-02', homonyms: pairs })
    const outcome = await ingestFile(d, declarations.flows.get('caf-beneficiaires')!, { path: caf, name: path.basename(caf), source: 'local', modifiedAt: new Date(Date.UTC(2026, 10, 2, 3)) })
    expect(outcome.status).toBe('loaded')
    rmSync(caf)
  }
  const encryptedPrincipal = async (name: string, recipient = dept.certificateFile) => {
    const file = path.join(work, name)
    await writeEncrypted(file, recipient, (clear) => writeSpiePrincipal(clear, options))
    return file
  }
  const count = async (db: TestDatabase, sql: string) => Number((await db.db.query<{ n: string }>(sql)).rows[0]!.n)
  const rejections = async (fileId: number) =>
    (await t.db.query<{ field: string; rule: string }>('select field, rule from rejections where file_id = $1 order by record_index, field', [fileId])).rows
  /** Every row of every table, as JSON text. */
  const everything = async (db: TestDatabase) => {
    const { rows: tables } = await db.db.query<{ table_schema: string; table_name: string }>(
      `select table_schema, table_name from information_schema.tables where table_schema in ('public', 'archive') and table_type = 'BASE TABLE'`,
    )
    let text = ''
    for (const { table_schema, table_name } of tables) {
      const { rows } = await db.db.query<{ j: string }>(`select row_to_json(x)::text as j from "${table_schema}"."${table_name}" x`)
      text += rows.map((r) => r.j).join('\n')
    }
    return text
  }
  /** What the SPIE loads decide, without the provenance columns a reload rewrites. */
  const state = async () => ({
    registrations: (await t.db.query(`select person_key, identifiant_pe, etat, date_etat, categorie_inscription, modalite_accompagnement, conseiller_nom, date_dernier_entretien, code_rome, difficulte_sante from france_travail_registrations order by person_key`)).rows,
    queue: await count(t, 'select count(*) as n from matching_queue'),
  })

  beforeAll(async () => {
    t = await createTestDatabase()
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString()
        done()
      },
    })
    deps = { db: t.db, keys: testKeys(), log: createLogger({ level: 'debug', destination }), stored: declarations.stored, purposes: declarations.purposes }
    await loadPopulation(deps)
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
    rmSync(keysDir, { recursive: true, force: true })
  })

  let principal: FileOutcome
  it('loads an encrypted principal extract: matched without a NIR or queued, brsa N lines left out (not rejected), no clear text on disk', async () => {
    const clear = await clearText((out) => writeSpiePrincipal(out, options))
    const lines = clear.trim().split('\n').slice(1).map((l) => l.split(';'))
    const brsaNo = lines.filter((l) => l.at(-1) === 'N').length
    principal = await ingest(deps, 'france-travail-spie', await encryptedPrincipal('extract_spie_20261120_principal.csv.p7m'))
    expect(brsaNo).toBeGreaterThan(0)
    expect(principal).toMatchObject({ status: 'loaded', accepted: lines.length - brsaNo, rejected: 0, skipped: brsaNo, skips: { 'brsa brsa_code': brsaNo } })
    expect(await rejections(principal.fileId!)).toEqual([])
    expect(await count(t, `select records_skipped as n from files where id = ${principal.fileId}`)).toBe(brsaNo)
    const matching = principal.matching
    expect(matching).toBeDefined()
    expect(matching!.identity).toBeGreaterThan(0)
    // Each homonym pair's registered applicant designates two persons: queued, never linked.
    expect(matching!.queued).toBeGreaterThanOrEqual(2)
    expect(matching!.identifier + matching!.identity + matching!.queued).toBe(lines.length - brsaNo)
    expect(await count(t, `select count(*) as n from matching_queue`)).toBe(matching!.queued)
    expect(await count(t, `select count(*) as n from france_travail_registrations where modalite_accompagnement is not null`)).toBeGreaterThan(0)
    expect(readdirSync(work)).toEqual(['extract_spie_20261120_principal.csv.p7m'])
    expect(readFileSync(path.join(work, readdirSync(work)[0]!)).includes(Buffer.from('identifiant_unique_de'))).toBe(false)
  })

  it('never stores dif_sante (health, Art. 9): no shipped purpose declares it', async () => {
    const clear = await clearText((out) => writeSpiePrincipal(out, options))
    const column = clear.split('\n')[0]!.split(';').indexOf('dif_sante')
    expect(clear.split('\n').filter((l) => l.split(';')[column] === 'O').length).toBeGreaterThan(0)
    expect(declarations.stored.has('franceTravail.difficulteSante' as never)).toBe(false)
    expect(await count(t, 'select count(*) as n from france_travail_registrations where difficulte_sante is not null')).toBe(0)
    expect(await count(t, 'select count(*) as n from france_travail_registrations')).toBeGreaterThan(0)
  })

  it('stores it only when a purpose declares it with an Art. 9(2) condition (the control the test above needs)', async () => {
    const dirs = mkdtempSync(path.join(tmpdir(), 'passerelle-spie-art9-'))
    cpSync(path.join(REPO_ROOT, 'flows'), path.join(dirs, 'flows'), { recursive: true })
    cpSync(path.join(REPO_ROOT, 'mappings'), path.join(dirs, 'mappings'), { recursive: true })
    const instruction = path.join(dirs, 'mappings', 'instruction.yaml')
    // instruction has an Art. 9 (sante) condition already (the payment-suspension reason).
    writeFileSync(instruction, readFileSync(instruction, 'utf8').replace(/^fields:\n/m, 'fields:\n  - { field: franceTravail.difficulteSante, as: difficulteSante }\n'))
    const withHealth = loadDeclarations({ flowsDir: path.join(dirs, 'flows'), mappingsDir: path.join(dirs, 'mappings') })
    expect(withHealth.stored.has('franceTravail.difficulteSante' as never)).toBe(true)
    const t2 = await createTestDatabase()
    try {
      const d2: IngestDeps = { db: t2.db, keys: testKeys(), log: createLogger({ level: 'silent' }), stored: withHealth.stored, purposes: withHealth.purposes }
      await loadPopulation(d2)
      const outcome = await ingest(d2, 'france-travail-spie', await encryptedPrincipal('extract_spie_art9_principal.csv.p7m'), withHealth.flows)
      expect(outcome.status).toBe('loaded')
      expect(await count(t2, 'select count(*) as n from france_travail_registrations where difficulte_sante is not null')).toBeGreaterThan(0)
    } finally {
      await t2.drop()
      rmSync(dirs, { recursive: true, force: true })
      rmSync(path.join(work, 'extract_spie_art9_principal.csv.p7m'), { force: true })
    }
  })

  it('rejects whole a file encrypted for another certificate: not_decryptable, nothing half-loaded', async () => {
    const before = await state()
    const rejectionsBefore = await count(t, 'select count(*) as n from rejections')
    const outcome = await ingest(deps, 'france-travail-spie', await encryptedPrincipal('extract_spie_other_principal.csv.p7m', other.certificateFile))
    expect(outcome).toMatchObject({ status: 'rejected', code: 'not_decryptable', accepted: 0 })
    expect(await rejections(outcome.fileId!)).toEqual([{ field: '(file)', rule: 'not_decryptable' }])
    expect(await state()).toEqual(before)
    expect(await count(t, 'select count(*) as n from rejections')).toBe(rejectionsBefore + 1)
  })

  it('reloading changes nothing: the same file is skipped, the same records re-encrypted under another name change no row', async () => {
    const before = await state()
    const again = await ingest(deps, 'france-travail-spie', path.join(work, 'extract_spie_20261120_principal.csv.p7m'))
    expect(again.status).toBe('skipped')
    // Encrypting again gives other bytes (a new content key): the file is read and matched again.
    const reloaded = await ingest(deps, 'france-travail-spie', await encryptedPrincipal('extract_spie_20261121_principal.csv.p7m'))
    expect(reloaded).toMatchObject({ status: 'loaded', accepted: principal.accepted, rejected: principal.rejected, skipped: principal.skipped })
    expect(await state()).toEqual(before)
  })

  it('never writes a name it reads: sentinels absent from logs, rejections, file reasons and every table', async () => {
    const columns: readonly string[] = SPIE_PRINCIPAL_COLUMNS
    const header = columns.join(';')
    const line = (values: Record<string, string>) => columns.map((c) => values[c] ?? 'NULL').join(';')
    const base = { identifiant_unique_de: '0a1b2c3d-0000-4000-8000-00000000abcd', civilite: 'MME', nom: SENTINEL_NOM, prenom: SENTINEL_PRENOM, date_naissance: '1981-04-12 00:00:00.0', modalite_accompagnement: 'GUIDE', brsa: 'O' }
    const clear = [
      header,
      // Nobody of the base: queued, the identity sealed (ten lines, so the rejection stays under the file's rate).
      ...Array.from({ length: 10 }, (_, i) => line({ ...base, identifiant_unique_de: `0a1b2c3d-0000-4000-8000-0000000000${10 + i}` })),
      line({ ...base, identifiant_unique_de: '0a1b2c3d-0000-4000-8000-00000000abce', brsa: 'N' }), // left out: brsa_code
      line({ ...base, identifiant_unique_de: '0a1b2c3d-0000-4000-8000-00000000abcf', date_naissance: '1981-02-30 00:00:00.0' }), // rejected: date_calendar
    ].join('\n') + '\n'
    const clearFile = path.join(keysDir, 'sentinel.csv')
    writeFileSync(clearFile, clear)
    const file = path.join(work, 'extract_spie_sentinel_principal.csv.p7m')
    // `openssl smime -encrypt`, the other command France Travail may use.
    execFileSync('openssl', ['smime', '-encrypt', '-binary', '-aes256', '-outform', 'DER', '-in', clearFile, '-out', file, dept.certificateFile], { stdio: 'ignore' })
    rmSync(clearFile)
    logged = ''
    const outcome = await ingest(deps, 'france-travail-spie', file)
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 10, rejected: 1, skipped: 1, skips: { 'brsa brsa_code': 1 }, matching: { identifier: 0, identity: 0, queued: 10 } })
    expect(await rejections(outcome.fileId!)).toEqual([{ field: 'date_naissance', rule: 'date_calendar' }])
    const said = [logged, JSON.stringify(outcome), await everything(t)].join('\n')
    for (const sentinel of [SENTINEL_NOM, SENTINEL_PRENOM, SENTINEL_NOM.slice(3, 12), SENTINEL_PRENOM.toUpperCase()]) expect(said).not.toContain(sentinel)
  })

  it('the public sample’s shape: four persons, one with brsa N, loads with three queued and one left out; a missing brsa is rejected', async () => {
    const columns: readonly string[] = SPIE_PRINCIPAL_COLUMNS
    const line = (values: Record<string, string>) => columns.map((c) => values[c] ?? 'NULL').join(';')
    const person = (n: number, brsa: string) => ({
      identifiant_unique_de: `5b6c7d8e-0000-4000-8000-00000000000${n}`, civilite: n % 2 ? 'MME' : 'M.', nom: `ECHANTILLON${'ABCD'[n]}`,
      prenom: `PRENOM${'ABCD'[n]}`, date_naissance: `197${n}-0${n + 1}-1${n} 00:00:00.0`, code_rome: 'FAKE', brsa,
    })
    const write = async (name: string, rows: Record<string, string>[]) => {
      const clearFile = path.join(keysDir, `${name}.csv`)
      writeFileSync(clearFile, [columns.join(';'), ...rows.map(line)].join('\n') + '\n')
      const file = path.join(work, name)
      execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes256', '-outform', 'DER', '-in', clearFile, '-out', file, dept.certificateFile], { stdio: 'ignore' })
      rmSync(clearFile)
      return file
    }
    const queuedBefore = await count(t, `select count(*) as n from matching_queue`)
    const sample = await ingest(deps, 'france-travail-spie', await write('extract_spie_sample_principal.csv.p7m', [person(0, 'O'), person(1, 'N'), person(2, 'O'), person(3, 'OUI')]))
    expect(sample).toMatchObject({ status: 'loaded', accepted: 3, rejected: 0, skipped: 1, skips: { 'brsa brsa_code': 1 }, matching: { identifier: 0, identity: 0, queued: 3 } })
    expect(await count(t, `select count(*) as n from matching_queue`)).toBe(queuedBefore + 3)
    const missing = await ingest(deps, 'france-travail-spie', await write('extract_spie_nobrsa_principal.csv.p7m', [person(0, 'O'), person(2, 'NULL')]))
    expect(missing).toMatchObject({ status: 'rejected', code: 'too_many_rejections' })
    expect(missing.reason).toContain('brsa required')
  })

  it('the actions extract: deciphered and checked line by line, nothing of it stored', async () => {
    const clear = await clearText((out) => writeSpieActions(out, options))
    const records = clear.trim().split('\n').length - 1
    expect(clear).toContain('PARCOURS EMPLOI SANTE')
    const before = await state()
    const file = path.join(work, 'extract_spie_20261120_actions.csv.p7m')
    await writeEncrypted(file, dept.certificateFile, (out) => writeSpieActions(out, options))
    const outcome = await ingest(deps, 'france-travail-spie-actions', file)
    expect(outcome).toMatchObject({ status: 'loaded', accepted: records, rejected: 0 })
    expect(await state()).toEqual(before)
    const stored = await everything(t)
    for (const label of ['PARCOURS EMPLOI SANTE', "UNE AUTRE ACTION SUR OFFRE D'EMPLOI"]) expect(stored).not.toContain(label)
    const wrongKey = path.join(work, 'extract_spie_other_actions.csv.p7m')
    await writeEncrypted(wrongKey, other.certificateFile, (out) => writeSpieActions(out, options))
    expect(await ingest(deps, 'france-travail-spie-actions', wrongKey)).toMatchObject({ status: 'rejected', code: 'not_decryptable' })
  })
})
