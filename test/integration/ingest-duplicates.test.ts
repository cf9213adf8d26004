import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Flow } from '../../src/flows/flow.ts'
import { cnafFileName, writeCnafFile, type CnafFileOptions } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { foyer } from '../../src/fixtures/population.ts'
import { writeFranceTravailFile } from '../../src/fixtures/france-travail/write-france-travail-file.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { pullDeps, shippedDeclarations } from '../helpers/ingest.ts'
import { VRSB0801_XSD } from '../helpers/xsd.ts'

const hasXmllint = spawnSync('xmllint', ['--version']).status === 0 && existsSync(VRSB0801_XSD)

/** 1-based line of each InfosFoyerRSA start tag, by record index. */
function recordLines(file: string): number[] {
  const lines = readFileSync(file, 'latin1').split('\n')
  return lines.flatMap((l, i) => (l.includes('<InfosFoyerRSA') ? [i + 1] : []))
}

function validatesAgainstXsd(file: string): void {
  if (!hasXmllint) return
  const result = spawnSync('xmllint', ['--noout', '--schema', VRSB0801_XSD, file], { encoding: 'utf8' })
  expect(result.stderr.trim().split('\n').at(-1)).toBe(`${file} validates`)
}

/**
 * Two records of one dossier in a file (CNAF's own RSABEM sample has two foyers sharing a NUMDEMRSA with different
 * MATRICULEs): the first is stored, each later one is a `duplicate_dossier` rejection naming the first by position,
 * and what the load reports accepted is exactly what it stored.
 */
describe.skipIf(postgresUnavailable())('two records of the same dossier in one file', () => {
  let t: TestDatabase
  let deps: IngestDeps
  let caf: Flow
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-dup-'))
  let day = 1

  beforeAll(async () => {
    t = await createTestDatabase()
    deps = pullDeps(t.db, undefined)
    caf = shippedDeclarations().flows.get('caf-beneficiaires')!
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  /** Writes a CAF file dated one day after the previous one (files are applied in order). */
  async function write(options: Omit<CnafFileOptions, 'flow' | 'dtcreaflux'>) {
    const dtcreaflux = `2026-10-${String(day++).padStart(2, '0')}`
    const file = path.join(work, cnafFileName({ flow: 'caf', typeflux: options.typeflux, dtcreaflux }))
    const report = await writeCnafFile(file, { flow: 'caf', dtcreaflux, ...options })
    return { file, report }
  }

  async function load(file: string, flow: Flow = caf) {
    return ingestFile(deps, flow, { path: file, name: path.basename(file), source: 'local', modifiedAt: new Date() })
  }

  it('stores the first of two foyers sharing a NUMDEMRSA and rejects the second, naming the first by position', async () => {
    const { file, report } = await write({ seed: 21, typeflux: 'M', foyers: 60, defects: { duplicateDossier: { pairs: [{ recordIndex: 41, sameAs: 17 }] } } })
    validatesAgainstXsd(file)
    const lines = recordLines(file)
    const first = foyer(21, 17, { organisme: 'CAF', departement: '93' })
    const second = foyer(21, 41, { organisme: 'CAF', departement: '93' })
    expect(first.matricule === second.matricule).toBe(false)

    const outcome = await load(file)
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 59, rejected: 1 })
    const { rows: stored } = await t.db.query<{ n: number; members: number }>(
      `select count(distinct d.id)::int as n, count(m.person_id)::int as members
       from dossiers d
       left join dossier_members m on m.dossier_id = d.id
       where d.file_id = $1`,
      [outcome.fileId],
    )
    const keptPersons = report.persons - second.personnes.length
    expect(stored[0]).toEqual({ n: 59, members: keptPersons })
    const { rows: file_ } = await t.db.query<{ records_accepted: number; records_rejected: number; records_total: number }>(
      'select records_accepted, records_rejected, records_total from files where id = $1',
      [outcome.fileId],
    )
    expect(file_[0]).toEqual({ records_accepted: 59, records_rejected: 1, records_total: 60 })
    const { rows: rejections } = await t.db.query(
      'select record_index, line, field, rule, duplicate_of_record_index, duplicate_of_line from rejections where file_id = $1',
      [outcome.fileId],
    )
    expect(rejections).toEqual([
      {
        record_index: 41, line: lines[41], field: 'IdentificationRSA.DemandeRSA.NUMDEMRSA', rule: 'duplicate_dossier',
        duplicate_of_record_index: 17, duplicate_of_line: lines[17],
      },
    ])
    // The first occurrence is the one kept (compared, never printed): its CAF allocataire number, the MATRICULE's
    // first 7 digits (src/ingestion/cnaf/allocataire-number.ts).
    const { rows: kept } = await t.db.query<{ matricule: string }>('select matricule from dossiers where numdemrsa = $1', [first.numdemrsa])
    expect(kept.length).toBe(1)
    expect(kept[0]!.matricule === first.matricule.slice(0, 7)).toBe(true)
    expect(kept[0]!.matricule === second.matricule.slice(0, 7)).toBe(false)
  })

  it('keeps the dossier transmitted when the next stock repeats it', async () => {
    const { file } = await write({ seed: 21, typeflux: 'M', foyers: 60, defects: { duplicateDossier: { pairs: [{ recordIndex: 50, sameAs: 3 }] } } })
    const outcome = await load(file)
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 59, rejected: 1 })
    const { rows } = await t.db.query<{ transmission_state: string; n: number }>(
      `select transmission_state, count(*)::int as n from dossiers group by 1 order by 1`,
    )
    // Foyer 50 (its record was the duplicate) is absent from this stock; every other dossier stays transmitted.
    expect(rows).toEqual([
      { transmission_state: 'not_transmitted', n: 1 },
      { transmission_state: 'transmitted', n: 59 },
    ])
    const absent = foyer(21, 50, { organisme: 'CAF', departement: '93' })
    const { rows: gone } = await t.db.query<{ transmission_state: string }>('select transmission_state from dossiers where numdemrsa = $1', [absent.numdemrsa])
    expect(gone).toEqual([{ transmission_state: 'not_transmitted' }])
  })

  it('rejects a two-foyer file in the shape of RSABEM.xml whole: its duplicate counts against the rejection limit', async () => {
    const { file } = await write({ seed: 33, typeflux: 'M', foyers: 2, defects: { duplicateDossier: { pairs: [{ recordIndex: 1, sameAs: 0 }] } } })
    validatesAgainstXsd(file)
    const before = await t.db.query<{ n: number }>('select count(*)::int as n from dossiers')
    const outcome = await load(file)
    expect(outcome).toMatchObject({ status: 'rejected', code: 'too_many_rejections', accepted: 0, rejected: 1 })
    expect(outcome.reason).toContain('duplicate_dossier')
    expect((await t.db.query<{ n: number }>('select count(*)::int as n from dossiers')).rows).toEqual(before.rows)
    const { rows } = await t.db.query('select record_index, rule, duplicate_of_record_index from rejections where file_id = $1 order by rule', [outcome.fileId])
    expect(rows).toEqual([
      { record_index: 1, rule: 'duplicate_dossier', duplicate_of_record_index: 0 },
      { record_index: -1, rule: 'too_many_rejections', duplicate_of_record_index: null },
    ])
  })

  it('loads the same two-foyer file through a flow that tolerates it: 1 accepted, 1 dossier, 1 rejection row', async () => {
    const { file } = await write({ seed: 34, typeflux: 'I', indices: [5, 9], defects: { duplicateDossier: { pairs: [{ recordIndex: 1, sameAs: 0 }] } } })
    validatesAgainstXsd(file)
    const outcome = await load(file, { ...caf, max_rejected_rate: 0.5 })
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 1, rejected: 1 })
    const { rows } = await t.db.query<{ n: number }>('select count(*)::int as n from dossiers where file_id = $1', [outcome.fileId])
    expect(rows[0]!.n).toBe(1)
  })

  it('rejects a foyer that names the same person twice, rather than storing one of the two', async () => {
    const { file } = await write({ seed: 35, typeflux: 'I', indices: [2, 3, 4, 6] })
    // The first Personne of the second record is repeated right after itself.
    const text = readFileSync(file, 'latin1')
    const second = text.indexOf('<InfosFoyerRSA', text.indexOf('<InfosFoyerRSA') + 1)
    const start = text.indexOf('<Personne>', second)
    const end = text.indexOf('</Personne>', start) + '</Personne>'.length
    writeFileSync(file, Buffer.from(text.slice(0, end) + '\n' + text.slice(start, end) + text.slice(end), 'latin1'))
    validatesAgainstXsd(file)
    const outcome = await load(file, { ...caf, max_rejected_rate: 0.5 })
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 3, rejected: 1 })
    const { rows } = await t.db.query('select record_index, field, rule from rejections where file_id = $1', [outcome.fileId])
    expect(rows).toEqual([{ record_index: 1, field: 'Personne[1]', rule: 'duplicate_member' }])
    const stored = await t.db.query<{ n: number }>('select count(*)::int as n from dossiers where file_id = $1', [outcome.fileId])
    expect(stored.rows[0]!.n).toBe(3)
  })

  it('stores one France Travail row per person and rejects the person\'s other rows of the file, naming the kept one', async () => {
    const ft = shippedDeclarations().flows.get('france-travail')!
    const dir = path.join(work, 'ft')
    mkdirSync(dir, { recursive: true })
    const report = await writeFranceTravailFile({ kind: 'inscriptions', seed: 21, foyers: 80, date: '2026-11-05' }, dir)
    // The file's first data row is sent again at its end (same person, same movement): the first one is kept.
    const bytes = readFileSync(report.path!)
    const lines = bytes.toString('latin1').split('\r\n')
    writeFileSync(report.path!, Buffer.concat([bytes, Buffer.from(`${lines[1]}\r\n`, 'latin1')]))
    const twice = 1
    const outcome = await load(report.path!, ft)
    expect(outcome).toMatchObject({ status: 'loaded', accepted: report.rows, rejected: twice })
    const stored = await t.db.query<{ n: number }>('select count(*)::int as n from france_travail_registrations where file_id = $1', [outcome.fileId])
    expect(stored.rows[0]!.n).toBe(outcome.accepted)
    const { rows } = await t.db.query<{ record_index: number; rule: string; duplicate_of_record_index: number; duplicate_of_line: number; line: number }>(
      'select record_index, line, rule, duplicate_of_record_index, duplicate_of_line from rejections where file_id = $1 order by record_index',
      [outcome.fileId],
    )
    expect(rows).toEqual([{ record_index: report.rows, line: report.rows + 2, rule: 'duplicate_person', duplicate_of_record_index: 0, duplicate_of_line: 2 }])
  })

  it('counts a France Travail row older than the stored one as superseded, not accepted: nothing is stored that the outcome does not say', async () => {
    const ft = shippedDeclarations().flows.get('france-travail')!
    const dir = path.join(work, 'ft-older')
    mkdirSync(dir, { recursive: true })
    const header = 'nir;identifiantpe;nom;prenom;dtnai;date;code;nir2'
    const line = (date: string, code: string) => `2690575056123;0123456A001;NOM;PRENOM;05/05/1969;${date};${code};2690575056123`
    const write = (name: string, date: string, code: string) => {
      const file = path.join(dir, name)
      writeFileSync(file, `${header}\r\n${line(date, code)}\r\n`, 'latin1')
      return file
    }
    const first = await load(write('RSA_INSCRIPTION_older_1.csv', '01/02/2026', '1'), ft)
    expect(first).toMatchObject({ status: 'loaded', accepted: 1, rejected: 0, superseded: 0 })
    // Sent later, but about an earlier movement: not written over the later one.
    const late = await load(write('RSA_INSCRIPTION_older_2.csv', '01/01/2026', '2'), ft)
    expect(late).toMatchObject({ status: 'loaded', accepted: 0, rejected: 0, superseded: 1 })
    const { rows } = await t.db.query<{ file_id: number; date_etat: string; code: string }>(
      `select file_id, date_etat, code from france_travail_registrations where identifiant_pe = '0123456A001'`,
    )
    expect(rows).toEqual([{ file_id: first.fileId, date_etat: '2026-02-01', code: '1' }])
    const { rows: files } = await t.db.query<{ records_accepted: number; records_superseded: number }>('select records_accepted, records_superseded from files where id = $1', [late.fileId])
    expect(files).toEqual([{ records_accepted: 0, records_superseded: 1 }])
  })

  it('property: over files with random duplicates, accepted = dossiers stored and accepted + rejected = records read', async () => {
    const tolerant: Flow = { ...caf, max_rejected_rate: 1 }
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 40 }).chain((records) =>
          fc.record({
            records: fc.constant(records),
            seed: fc.integer({ min: 1, max: 10_000 }),
            pairs: fc.uniqueArray(
              fc.integer({ min: 1, max: records - 1 }).chain((recordIndex) => fc.record({ recordIndex: fc.constant(recordIndex), sameAs: fc.integer({ min: 0, max: recordIndex - 1 }) })),
              { selector: (p) => p.recordIndex, maxLength: records - 1 },
            ),
            badNirEvery: fc.option(fc.integer({ min: 2, max: 10 }), { nil: undefined }),
          }),
        ),
        async ({ records, seed, pairs, badNirEvery }) => {
          const { file, report } = await write({
            seed,
            typeflux: 'I',
            indices: Array.from({ length: records }, (_, i) => i),
            defects: { duplicateDossier: { pairs }, ...(badNirEvery ? { badNirKey: { every: badNirEvery } } : {}) },
          })
          const outcome = await load(file, tolerant)
          expect(outcome.status).toBe('loaded')
          expect(outcome.accepted + outcome.rejected).toBe(report.foyers)
          const stored = await t.db.query<{ n: number }>('select count(*)::int as n from dossiers where file_id = $1', [outcome.fileId])
          expect(stored.rows[0]!.n).toBe(outcome.accepted)
          const rejected = await t.db.query<{ n: number }>('select count(distinct record_index)::int as n from rejections where file_id = $1', [outcome.fileId])
          expect(rejected.rows[0]!.n).toBe(outcome.rejected)
          const { rows: files } = await t.db.query<{ records_accepted: number; records_rejected: number }>(
            'select records_accepted, records_rejected from files where id = $1',
            [outcome.fileId],
          )
          expect(files[0]).toEqual({ records_accepted: outcome.accepted, records_rejected: outcome.rejected })
          rmSync(file)
        },
      ),
      { numRuns: 12, seed: 13 },
    )
  }, 240_000)
})
