import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { DeclarationError } from '../../src/declarations/declaration-error.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { nirKey } from '../../src/ingestion/validation/nir.ts'
import { createLogger } from '../../src/log/logger.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'

/**
 * A new flow in a known shape is a YAML file only: two flows nobody wrote code for (one CSV-shaped, one
 * XML-shaped) are declared in a temporary flows folder beside the shipped purposes, and files are loaded through
 * them end to end. Accepted rows are stored; rejected records are rows naming field and rule, never a value; a
 * field no purpose declares (franceTravail.adresse) is read and checked but never stored.
 */
const NIR_A = '1800175123456'
const NIR_B = '2850693055123'
const NIR_C = '1920499350011'
const full = (nir13: string) => nir13 + nirKey(nir13)
// Sentinel values on the rejected records and the undeclared field: they must appear in no table.
const SENTINEL_ADDRESS = 'SENTINEL-ADRESSE-7Q3'
const SENTINEL_NAME = 'SENTINELNOMZ9'
const BAD_KEY_NIR = `${NIR_B}00`

const CSV_FLOW = `
title: Suivi France Travail (export CSV de test)
producer: France Travail
format:
  type: csv-records
  encoding: utf-8
  delimiter: ';'
  header: true
  null_literal: 'NULL'
  datetime_format: 'YYYY-MM-DD HH:mm:ss.S'
  kind: suivi
  fields:
    - { name: identifiant, column: [identifiant_ft, identifiant], field: franceTravail.identifiant, required: true, pattern: '^[0-9]{7}[A-Z0-9][0-9]{3}$' }
    - { name: nir, field: personne.nir, type: nir, required: true }
    - { name: nom, required: true, max_length: 100 }
    - { name: date_naissance, field: personne.dateNaissance, type: datetime, required: true }
    - { name: etat, field: franceTravail.etat, normalise: [lowercase], codes: [inscription, cessation, radiation], required: true }
    - { name: date_etat, field: franceTravail.dateEtat, type: datetime, required: true }
    - { name: agence, field: franceTravail.agence, max_length: 5 }
    - { name: adresse, field: franceTravail.adresse, max_length: 250 }
    - { name: brsa, type: boolean }
  target: registrations
schedule: '0 5 * * *'
retention: france-travail
max_rejected_rate: 0.5
`

const XML_FLOW = `
title: Liste mensuelle France Travail (XML de test)
producer: France Travail
format:
  type: xml-records
  encoding: iso-8859-1
  date_format: ['YYYY-MM-DD', 'DD/MM/YYYY']
  root: fichier
  record: dossier
  header: { element: entete, equals: { type: PECG, periodicite: M } }
  trailer: { element: fin, count: nb-dossiers }
  values: { franceTravail.etat: inscription }
  fields:
    - { name: nir, path: individu/nir, field: personne.nir, type: nir, required: true }
    - { name: nom, path: individu/nom, required: true }
    - { name: date_naissance, path: individu/date-naissance, field: personne.dateNaissance, type: date, required: true }
    - { name: identifiant_pe, path: inscription/identifiant, field: franceTravail.identifiant, normalise: [remove_spaces] }
    - { name: date_inscription, path: inscription/date, field: franceTravail.dateEtat, type: date, required: true }
    - { name: categorie, path: inscription/categorie, field: franceTravail.code, codes: ['1', '2', '3', '4', '5'] }
    - { name: adresse, path: individu/adresse, field: franceTravail.adresse }
  target: registrations
schedule: '0 6 * * *'
retention: france-travail
max_rejected_rate: 0.5
`

describe.skipIf(postgresUnavailable())('a new flow declared in YAML only', () => {
  let t: TestDatabase
  let deps: IngestDeps
  const flowsDir = mkdtempSync(path.join(tmpdir(), 'passerelle-new-flows-'))
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-new-files-'))
  // The shipped flows (the purposes name them, their retention policies) and the two new flows beside them.
  cpSync(path.join(REPO_ROOT, 'flows'), flowsDir, { recursive: true })
  writeFileSync(path.join(flowsDir, 'suivi-france-travail.yaml'), CSV_FLOW)
  writeFileSync(path.join(flowsDir, 'liste-mensuelle.yaml'), XML_FLOW)
  const declarations = loadDeclarations({ flowsDir, mappingsDir: path.join(REPO_ROOT, 'mappings') })
  let minute = 0

  beforeAll(async () => {
    t = await createTestDatabase()
    deps = { db: t.db, keys: testKeys(), log: createLogger({ level: 'silent' }), stored: declarations.stored, purposes: declarations.purposes }
  })
  afterAll(async () => {
    await t?.drop()
  })

  const ingest = (flowId: string, name: string, content: string | Buffer) => {
    const file = path.join(work, name)
    writeFileSync(file, content)
    minute++
    return ingestFile(deps, declarations.flows.get(flowId)!, { path: file, name, source: 'local', modifiedAt: new Date(Date.UTC(2026, 10, 30, 8, minute)) })
  }

  const rejections = async (fileId: number) =>
    (await t.db.query<{ record_index: number; line: number; field: string; rule: string }>('select record_index, line, field, rule from rejections where file_id = $1 order by record_index, field', [fileId])).rows

  /** Every text of every table of the public schema, to look for values that must not be there. */
  const everything = async () => {
    const { rows: tables } = await t.db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`)
    let text = ''
    for (const { table_name } of tables) {
      const { rows } = await t.db.query<{ j: string }>(`select row_to_json(x)::text as j from "${table_name}" x`)
      text += rows.map((r) => r.j).join('\n')
    }
    return text
  }

  it('loads a CSV file through the new flow: accepted rows stored, rejections named, the undeclared field not stored', async () => {
    expect(declarations.stored.has('franceTravail.adresse')).toBe(false)
    expect(declarations.stored.has('franceTravail.agence')).toBe(true)
    const csv = [
      'identifiant_ft;nir;nom;date_naissance;etat;date_etat;agence;adresse;brsa',
      `0123456A001;${full(NIR_A)};MARTIN;1980-01-15 00:00:00.0;INSCRIPTION;2026-11-02 00:00:00.0;93012;${SENTINEL_ADDRESS};O`,
      `0234567B002;${NIR_C};DURAND;1992-04-30 00:00:00.0;cessation;2026-11-05 10:30:00.0;NULL;NULL;N`,
      `0345678C003;${BAD_KEY_NIR};${SENTINEL_NAME};1985-06-03 00:00:00.0;inscription;2026-11-03 00:00:00.0;93012;${SENTINEL_ADDRESS};OUI`,
      `0456789D004;${NIR_B};${SENTINEL_NAME};1985-06-03 00:00:00.0;suspendu;2026-02-30 00:00:00.0;93012;x;peut-etre`,
    ].join('\n')
    const outcome = await ingest('suivi-france-travail', 'suivi_20261130.csv', `${csv}\n`)
    expect(outcome).toMatchObject({ status: 'loaded', kind: 'suivi', accepted: 2, rejected: 2 })

    const { rows } = await t.db.query<{ identifiant_pe: string; etat: string; date_etat: string; ale: string | null; adresse: string | null }>(
      `select identifiant_pe, etat, to_char(date_etat, 'YYYY-MM-DD') as date_etat, ale, adresse from france_travail_registrations order by identifiant_pe`,
    )
    expect(rows).toEqual([
      { identifiant_pe: '0123456A001', etat: 'inscription', date_etat: '2026-11-02', ale: '93012', adresse: null },
      { identifiant_pe: '0234567B002', etat: 'cessation', date_etat: '2026-11-05', ale: null, adresse: null },
    ])
    expect(await rejections(outcome.fileId!)).toEqual([
      { record_index: 2, line: 4, field: 'nir', rule: 'nir_key' },
      { record_index: 3, line: 5, field: 'brsa', rule: 'boolean_value' },
      { record_index: 3, line: 5, field: 'date_etat', rule: 'date_calendar' },
      { record_index: 3, line: 5, field: 'etat', rule: 'etat_code' },
    ])
    const all = await everything()
    for (const value of [SENTINEL_ADDRESS, SENTINEL_NAME, BAD_KEY_NIR, NIR_B, 'suspendu', 'peut-etre', 'MARTIN']) expect(all).not.toContain(value)
  })

  it('loads an ISO-8859-1 XML file through the new flow, checking its header and its trailer count', async () => {
    const dossier = (nir: string, nom: string, birth: string, id: string, date: string, cat: string, adresse: string) =>
      `  <dossier>\n    <individu><nir>${nir}</nir><nom>${nom}</nom><date-naissance>${birth}</date-naissance><adresse>${adresse}</adresse></individu>\n    <inscription><identifiant>${id}</identifiant><date>${date}</date><categorie>${cat}</categorie></inscription>\n  </dossier>\n`
    const file = (dossiers: string[], count: number, periodicite = 'M') =>
      Buffer.from(
        `<?xml version="1.0" encoding="ISO-8859-1"?>\n<fichier>\n  <entete><type>PECG</type><periodicite>${periodicite}</periodicite></entete>\n${dossiers.join('')}  <fin><nb-dossiers>${count}</nb-dossiers></fin>\n</fichier>\n`,
        'latin1',
      )
    const good = [
      dossier(full(NIR_A), 'Lefèvre', '1980-01-15', '0123456 A001', '01/12/2026', '1', `12 rue de l'Église ${SENTINEL_ADDRESS}`),
      dossier(NIR_B, SENTINEL_NAME, '03/06/1985', '0999999Z999', '2026-12-02', '9', SENTINEL_ADDRESS),
      dossier(NIR_C, 'Durand', '1992-04-30', '0234567B002', '2026-12-03', '2', ''),
    ]
    const outcome = await ingest('liste-mensuelle', 'liste_202612.xml', file(good, 3))
    expect(outcome).toMatchObject({ status: 'loaded', kind: 'records', accepted: 2, rejected: 1 })
    expect(await rejections(outcome.fileId!)).toEqual([{ record_index: 1, line: 8, field: 'categorie', rule: 'categorie_code' }])
    const { rows } = await t.db.query<{ identifiant_pe: string; code: string; date_etat: string; adresse: string | null }>(
      `select identifiant_pe, code, to_char(date_etat, 'YYYY-MM-DD') as date_etat, adresse from france_travail_registrations where file_id = $1 order by identifiant_pe`,
      [outcome.fileId],
    )
    expect(rows).toEqual([
      { identifiant_pe: '0123456A001', code: '1', date_etat: '2026-12-01', adresse: null },
      { identifiant_pe: '0234567B002', code: '2', date_etat: '2026-12-03', adresse: null },
    ])

    const miscounted = await ingest('liste-mensuelle', 'liste_202612_bis.xml', file(good, 4))
    expect(miscounted).toMatchObject({ status: 'rejected', code: 'count_mismatch', accepted: 0 })
    const weekly = await ingest('liste-mensuelle', 'liste_202612_ter.xml', file(good, 3, 'H'))
    expect(weekly).toMatchObject({ status: 'rejected', code: 'bad_header' })
    const cut = await ingest('liste-mensuelle', 'liste_202612_cut.xml', file(good, 3).subarray(0, 400))
    expect(cut).toMatchObject({ status: 'rejected', code: 'truncated' })

    const all = await everything()
    for (const value of [SENTINEL_ADDRESS, SENTINEL_NAME, NIR_B, 'Lefèvre', 'Église']) expect(all).not.toContain(value)
  })

  it('refuses a flow whose fields name what its target cannot take, listing every problem', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-bad-flows-'))
    writeFileSync(
      path.join(dir, 'mauvais-flux.yaml'),
      CSV_FLOW.replace('field: franceTravail.agence', 'field: franceTravail.agenceLocale').replace("- { name: nir, field: personne.nir, type: nir, required: true }", '- { name: nir, type: nir }'),
    )
    let error: unknown
    try {
      loadDeclarations({ flowsDir: dir, mappingsDir: path.join(REPO_ROOT, 'mappings') })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DeclarationError)
    const problems = (error as DeclarationError).problems.join('\n')
    expect(problems).toContain('"franceTravail.agenceLocale" is not a field the registrations target takes')
    expect(problems).toContain('needs "personne.nir"')
  })
})
