import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { SPIE_ACTIONS_COLUMNS, SPIE_PRINCIPAL_COLUMNS, spieIdentifier } from '../../src/fixtures/france-travail/write-spie.ts'
import { generateFixture } from '../../src/fixtures/generate-fixture.ts'
import { adultsOf, foyer } from '../../src/fixtures/population.ts'
import { readCsvDeclared } from '../../src/ingestion/formats/csv-records/read-csv-declared.ts'
import type { DeclaredRecord } from '../../src/ingestion/formats/declared/declared-record.ts'
import type { ParsedRecord } from '../../src/ingestion/records/parsed-record.ts'

/**
 * The shipped SPIE flows' declarations (flows/france-travail-spie*.yaml) read the pilot's shape, without a database:
 * `;`, UTF-8, NULL, datetimes `2020-02-13 00:00:00.0`, booleans O/OUI/N, support modes; and a purpose declaring the
 * health flag without an Art. 9(2) condition stops `passerelle check` and every command (exit 78).
 */
const REPO = path.resolve(import.meta.dirname, '../..')
const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-spie-unit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const flows = loadFlows(path.join(REPO, 'flows'))

function csv(flowId: string) {
  const format = flows.get(flowId)?.format
  if (format?.type !== 'csv-records') throw new Error(`${flowId} is not a csv-records flow`)
  return format
}

async function read(flowId: string, kind: string, text: string): Promise<ParsedRecord<DeclaredRecord>[]> {
  const file = path.join(dir, `${flowId}-${Math.random().toString(36).slice(2)}.csv`)
  writeFileSync(file, text)
  const out: ParsedRecord<DeclaredRecord>[] = []
  for await (const batch of readCsvDeclared(file, csv(flowId), { kind, fileLabel: 'spie.csv' })) out.push(...batch)
  return out
}

const row = (columns: readonly string[], values: Record<string, string>) => columns.map((c) => values[c] ?? 'NULL').join(';')

describe('the SPIE principal extract, as flows/france-travail-spie.yaml declares it', () => {
  const person = {
    identifiant_unique_de: '71288A46-3C4D-4372-9298-C32936D7E76D',
    civilite: 'MME',
    nom: 'DURAND',
    prenom: 'Amélie',
    date_naissance: '1982-02-01 00:00:00.0',
    der_entretien_ppae: '2020-02-13 00:00:00.0',
    der_entretien: '2021-08-09 14:30:00.0',
    inscription: '2019-10-17 00:00:00.0',
    categorie_inscription: '1',
    struct_principale: 'RETHEL',
    referent_nom: 'REFERENT_NOM 1',
    referent_prenom: 'Referent_prenom 1',
    referent_mail: 'Referent.1@Exemple.invalid',
    code_safir: '93015',
    modalite_accompagnement: 'renforce',
    struct_suivi: 'RETHEL',
    rome_1: 'A1101',
    appelation_rome_1: "Conducteur / Conductrice d'engins d'exploitation agricole",
    dif_sante: 'OUI',
    dif_logement: 'N',
    brsa: 'O',
  }

  it('maps the columns onto the catalogue: NULL is no value, datetimes give dates, O/OUI/N booleans, the identity for matching only', async () => {
    const [record] = await read('france-travail-spie', 'principal', `${SPIE_PRINCIPAL_COLUMNS.join(';')}\n${row(SPIE_PRINCIPAL_COLUMNS, person)}\n`)
    expect(record).toEqual({
      ok: true,
      value: {
        recordIndex: 0,
        line: 2,
        values: {
          'franceTravail.etat': 'inscription',
          'franceTravail.identifiant': '71288a46-3c4d-4372-9298-c32936d7e76d',
          'match.nomNaissance': 'DURAND',
          'match.prenom': 'Amélie',
          'personne.dateNaissance': '1982-02-01',
          'franceTravail.codeRome': 'A1101',
          'franceTravail.libelleRome': "Conducteur / Conductrice d'engins d'exploitation agricole",
          'franceTravail.dateDernierEntretienPpae': '2020-02-13',
          'franceTravail.dateDernierEntretien': '2021-08-09',
          'franceTravail.dateEtat': '2019-10-17',
          'franceTravail.categorieInscription': '1',
          'franceTravail.structurePrincipale': 'RETHEL',
          'franceTravail.conseiller': 'REFERENT_NOM 1',
          'franceTravail.conseillerPrenom': 'Referent_prenom 1',
          'franceTravail.conseillerEmail': 'referent.1@exemple.invalid',
          'franceTravail.agence': '93015',
          'franceTravail.modaliteAccompagnement': 'RENFORCE',
          'franceTravail.structureDeleguee': 'RETHEL',
          // Read here; dropped at staging unless a purpose declares it with an Art. 9(2) condition.
          'franceTravail.difficulteSante': true,
        },
      },
    })
  })

  it('leaves brsa N out and rejects, naming field and rule only: an unknown support mode, a bad date, no identifier, no brsa', async () => {
    const lines = [
      row(SPIE_PRINCIPAL_COLUMNS, { ...person, brsa: 'N' }),
      row(SPIE_PRINCIPAL_COLUMNS, { ...person, modalite_accompagnement: 'INTENSIF' }),
      row(SPIE_PRINCIPAL_COLUMNS, { ...person, date_naissance: '1982-02-30 00:00:00.0' }),
      row(SPIE_PRINCIPAL_COLUMNS, { ...person, identifiant_unique_de: 'NULL', dif_sante: 'peut-être' }),
      row(SPIE_PRINCIPAL_COLUMNS, { ...person, brsa: 'NULL' }),
    ]
    const records = await read('france-travail-spie', 'principal', `${SPIE_PRINCIPAL_COLUMNS.join(';')}\n${lines.join('\n')}\n`)
    expect(records.map((r) => (r.ok ? (r.skipped ?? 'ok') : r.issues))).toEqual([
      [{ field: 'brsa', rule: 'brsa_code' }],
      [{ field: 'modalite_accompagnement', rule: 'modalite_accompagnement_code' }],
      [{ field: 'date_naissance', rule: 'date_calendar' }],
      [
        { field: 'identifiant_unique_de', rule: 'required' },
        { field: 'dif_sante', rule: 'boolean_value' },
      ],
      [{ field: 'brsa', rule: 'required' }],
    ])
    // brsa N: a valid record, left out (not rejected) before it is stored.
    expect(records[0]).toMatchObject({ ok: true, skipped: [{ field: 'brsa', rule: 'brsa_code' }] })
    expect(JSON.stringify(records)).not.toContain('DURAND')
  })

  it('refuses a file cut inside its last line whose brsa then reads as a refusal (OUI cut to OU), rather than leave the person out', async () => {
    const header = SPIE_PRINCIPAL_COLUMNS.join(';')
    const whole = `${header}\n${row(SPIE_PRINCIPAL_COLUMNS, person)}\n${row(SPIE_PRINCIPAL_COLUMNS, { ...person, brsa: 'OUI' })}\n`
    expect(SPIE_PRINCIPAL_COLUMNS.at(-1)).toBe('brsa')
    const cut = whole.slice(0, -2)
    expect(cut.endsWith(';OU')).toBe(true)
    const error = await read('france-travail-spie', 'principal', cut).then(
      () => undefined,
      (e: unknown) => e as { code: string; where: unknown; message: string },
    )
    expect(error?.code).toBe('truncated')
    expect(error?.where).toEqual({ recordIndex: 1, line: 3 })
    expect(error?.message).not.toContain('DURAND')
    // The same last line ended by its line break is a record left out, as any brsa N; a valid last line without a
    // line break is a record like any other.
    const endsWithBreak = await read('france-travail-spie', 'principal', `${cut}\n`)
    expect(endsWithBreak.map((r) => (r.ok ? (r.skipped ? 'left out' : 'ok') : 'rejected'))).toEqual(['ok', 'left out'])
    const noFinalBreak = await read('france-travail-spie', 'principal', whole.slice(0, -1))
    expect(noFinalBreak.map((r) => (r.ok ? (r.skipped ? 'left out' : 'ok') : 'rejected'))).toEqual(['ok', 'ok'])
  })
})

describe('the SPIE actions extract', () => {
  it('is checked and keeps no value: the checked target takes no canonical field', async () => {
    const line = row(SPIE_ACTIONS_COLUMNS, {
      identifiant_unique_de: '0000a336-403f-4b1f-a3d1-dcfb7f6629be',
      codeaction: 'PES',
      lblaction: 'PARCOURS EMPLOI SANTE',
      date_prescription: '2022-03-03 00:00:00.0',
      date_debut: '2022-03-16 00:00:00.0',
      date_fin: '2022-03-10 00:00:00.0',
      'adr.dc_commune_id': '13005',
    })
    const records = await read('france-travail-spie-actions', 'actions', `${SPIE_ACTIONS_COLUMNS.join(';')}\n${line}\n${line.replace('2022-03-10', '2023-03-16')}\n`)
    expect(records).toEqual([
      { ok: false, recordIndex: 0, line: 2, key: undefined, issues: [{ field: 'date_fin', rule: 'fin_avant_debut' }] },
      { ok: true, value: { recordIndex: 1, line: 3, values: {} } },
    ])
  })
})

describe('dif_sante is Art. 9 data: declaring it needs an Art. 9(2) condition', () => {
  const dirs = mkdtempSync(path.join(tmpdir(), 'passerelle-spie-art9-'))
  afterAll(() => rmSync(dirs, { recursive: true, force: true }))
  cpSync(path.join(REPO, 'flows'), path.join(dirs, 'flows'), { recursive: true })
  cpSync(path.join(REPO, 'mappings'), path.join(dirs, 'mappings'), { recursive: true })
  // accompagnement-rsa has no article9 entry: declaring the health flag there must be refused.
  const mapping = path.join(dirs, 'mappings', 'accompagnement-rsa.yaml')
  writeFileSync(mapping, readFileSync(mapping, 'utf8').replace(/^fields:\n/m, 'fields:\n  - { field: franceTravail.difficulteSante, as: difficulteSante }\n'))
  const run = (args: string[]) =>
    spawnSync(process.execPath, [path.join(REPO, 'bin/passerelle.js'), ...args], {
      cwd: REPO,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PASSERELLE_DATA_DIR: path.join(dirs, 'data'),
        PASSERELLE_FLOWS_DIR: path.join(dirs, 'flows'),
        PASSERELLE_MAPPINGS_DIR: path.join(dirs, 'mappings'),
      },
    })
  const problem = /mappings\/accompagnement-rsa\.yaml: fields\[0\] \(franceTravail\.difficulteSante\)\.field: .*special-category data \(GDPR Art\. 9, category "sante"\)/

  it('passerelle check fails, naming the file and the field', () => {
    const check = run(['check'])
    expect(check.status).not.toBe(0)
    expect(check.stdout + check.stderr).toMatch(problem)
  })

  it('every command refuses to start on it: exit 78', () => {
    const ingest = run(['ingest', '--flow', 'france-travail-spie'])
    expect(ingest.status).toBe(78)
    expect(ingest.stderr).toMatch(problem)
  })
})

describe('the SPIE fixtures (passerelle fixtures --flow france-travail-spie)', () => {
  it('write both extracts for the registered adults of the population, with their identity and no NIR, every line valid', async () => {
    const out = path.join(dir, 'fixtures')
    const result = await generateFixture({ flow: 'france-travail-spie', foyers: 120, seed: 5, outDir: out, date: '2026-11-30' })
    if (result.flow !== 'france-travail-spie') throw new Error('unexpected flow')
    const text = readFileSync(result.path, 'utf8')
    const registered = Array.from({ length: 120 }, (_, i) => foyer(5, i)).flatMap((f) => adultsOf(f).filter((p) => p.franceTravail).map((p) => ({ f, p })))
    expect(result.report.records).toBe(registered.length)
    for (const { f, p } of registered) {
      expect(text).toContain(`${spieIdentifier(5, f.index, p.personIndex)};${p.sexe === '1' ? 'M.' : 'MME'};${p.nomnai};${p.prenom};`)
      if (p.nir13) expect(text).not.toContain(p.nir13)
    }
    const principal = await read('france-travail-spie', 'principal', text)
    // Every line is valid; only the brsa = N lines are left out.
    expect(principal.every((r) => r.ok)).toBe(true)
    const leftOut = principal.flatMap((r) => (r.ok && r.skipped ? r.skipped : []))
    expect(leftOut.length).toBeGreaterThan(0)
    expect(new Set(leftOut.map((i) => `${i.field} ${i.rule}`))).toEqual(new Set(['brsa brsa_code']))
    const actions = await read('france-travail-spie-actions', 'actions', readFileSync(result.report.actions.path, 'utf8'))
    expect(actions.length).toBe(result.report.actions.records)
    expect(actions.every((r) => r.ok)).toBe(true)
  })
})
