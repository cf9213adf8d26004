import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { nirKey } from '../../src/ingestion/validation/nir.ts'
import { createLogger } from '../../src/log/logger.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { writeFichierPeCg } from '../../src/fixtures/france-travail/write-fichier-pe-cg.ts'

/**
 * The shipped `france-travail-mensuel` flow reads the monthly fichier-PE-CG XML stock (ISO-8859-1) in the shape of
 * the public sample (entete, dossier*, fin with nb-dossiers), from files written here: records stored, dirty PPAE
 * dates not a rejection, a file of another kind (periodicite) or with a wrong count rejected whole, and a file whose
 * dossiers carry no identity (as the public sample's) recognised, its records rejected, never an unknown layout.
 */
const NIR_A = '1800175123456'
const NIR_B = '2850693055123'
const full = (nir13: string) => nir13 + nirKey(nir13)
const SENTINEL = 'SENTINELMENSUELZ4'

interface Dossier {
  nir?: string
  nom?: string
  naissance?: string
  pe?: string
  debut?: string
  signature?: string
  dernier?: string
}
const dossier = (d: Dossier) =>
  `<dossier><individu>${d.nir === undefined ? '' : `<nir>${d.nir}</nir>`}${d.nom === undefined ? '' : `<nom-naissance>${d.nom}</nom-naissance><prenom>Zoé</prenom>`}` +
  `${d.naissance === undefined ? '' : `<date-naissance>${d.naissance}</date-naissance>`}<commune-residence>93066</commune-residence></individu>` +
  `<allocataire><identifiant-caf>1234567</identifiant-caf>${d.pe === undefined ? '' : `<identifiant-pe>${d.pe}</identifiant-pe>`}</allocataire>` +
  `<inscription>${d.debut === undefined ? '' : `<date-debut-ide>${d.debut}</date-debut-ide>`}<code-categorie>1</code-categorie><lib-situation>Inscrit</lib-situation></inscription>` +
  `<suivi><structure-principale-code>93012</structure-principale-code></suivi>` +
  `<ppae><date-signature>${d.signature ?? ''}</date-signature><date-dernier-ent>${d.dernier ?? ''}</date-dernier-ent></ppae></dossier>\n`
const file = (dossiers: Dossier[], options: { periodicite?: string; count?: number } = {}) =>
  Buffer.from(
    `<?xml version="1.0" encoding="ISO-8859-1"?>\n<fichier-PE-CG>\n` +
      `<entete><fichier>PECG</fichier><periodicite>${options.periodicite ?? 'M'}</periodicite><departement>93</departement><date-reference>2026-11-01</date-reference><date-fabrication>2026-11-15</date-fabrication><version>001,0</version></entete>\n` +
      dossiers.map(dossier).join('') +
      `<fin><departement>93</departement><date-reference>2026-11-01</date-reference><nb-dossiers>${String(options.count ?? dossiers.length).padStart(7, '0')}</nb-dossiers></fin>\n</fichier-PE-CG>\n`,
    'latin1',
  )

describe.skipIf(postgresUnavailable())('france-travail-mensuel: the monthly fichier-PE-CG stock', () => {
  let t: TestDatabase
  let deps: IngestDeps
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-pecg-'))
  const declarations = loadDeclarations({ flowsDir: path.join(REPO_ROOT, 'flows'), mappingsDir: path.join(REPO_ROOT, 'mappings') })
  const flow = declarations.flows.get('france-travail-mensuel')!
  let minute = 0
  const ingest = (name: string, content: Buffer) => {
    const at = path.join(work, name)
    writeFileSync(at, content)
    minute++
    return ingestFile(deps, flow, { path: at, name, source: 'local', modifiedAt: new Date(Date.UTC(2026, 10, 30, 8, minute)) })
  }
  const rules = async (fileId: number) =>
    (await t.db.query<{ field: string; rule: string }>('select field, rule from rejections where file_id = $1 order by record_index, field', [fileId])).rows

  beforeAll(async () => {
    t = await createTestDatabase()
    deps = { db: t.db, keys: testKeys(), log: createLogger({ level: 'silent' }), stored: declarations.stored, purposes: declarations.purposes, env: { PASSERELLE_DEPARTEMENT: '93' } }
  })
  afterAll(async () => {
    await t?.drop()
  })

  it('loads the stock: Latin-1 names read, dirty PPAE dates ("2020", empty) no rejection, stored by NIR and birth date', async () => {
    const outcome = await ingest(
      'PECG_202611.xml',
      file([
        { nir: full(NIR_A), nom: 'LÉGER', naissance: '1980-01-15', pe: '0123456A001', debut: '2026-10-02', signature: '2026-10-20', dernier: '2020' },
        { nir: NIR_B, nom: 'NOËL', naissance: '1985-06-03', pe: '0234567 B002', debut: '2025-03-04', signature: '', dernier: '' },
      ]),
    )
    expect(outcome).toMatchObject({ status: 'loaded', kind: 'stock', accepted: 2, rejected: 0 })
    const { rows } = await t.db.query<{ identifiant_pe: string; etat: string; date_etat: string; code: string; ale: string }>(
      `select identifiant_pe, etat, to_char(date_etat, 'YYYY-MM-DD') as date_etat, code, ale from france_travail_registrations order by identifiant_pe`,
    )
    expect(rows).toEqual([
      { identifiant_pe: '0123456A001', etat: 'inscription', date_etat: '2026-10-02', code: '1', ale: '93012' },
      { identifiant_pe: '0234567B002', etat: 'inscription', date_etat: '2025-03-04', code: '1', ale: '93012' },
    ])
  })

  it('loads a generated stock of the synthetic population whole (dirty PPAE dates included); reloading it is skipped', async () => {
    const at = path.join(work, 'PECG_202702.xml')
    const written = await writeFichierPeCg(at, { seed: 'pecg-test', foyers: 300, date: '2027-02-15' })
    expect(written.dossiers).toBeGreaterThan(100)
    minute++
    const local = { path: at, name: 'PECG_202702.xml', source: 'local' as const, modifiedAt: new Date(Date.UTC(2026, 10, 30, 8, minute)) }
    const outcome = await ingestFile(deps, flow, local)
    expect(outcome).toMatchObject({ status: 'loaded', accepted: written.dossiers, rejected: 0 })
    expect(await ingestFile(deps, flow, local)).toMatchObject({ status: 'skipped', code: 'already_loaded' })
  })

  it('rejects whole a file of another periodicity (bad_header) and a file whose nb-dossiers is wrong (count_mismatch)', async () => {
    const one = [{ nir: full(NIR_A), nom: SENTINEL, naissance: '1980-01-15', pe: '0123456A001', debut: '2026-10-02' }]
    expect(await ingest('PECG_202612_Q.xml', file(one, { periodicite: 'Q' }))).toMatchObject({ status: 'rejected', code: 'bad_header' })
    const counted = await ingest('PECG_202612.xml', file(one, { count: 2 }))
    expect(counted).toMatchObject({ status: 'rejected', code: 'count_mismatch' })
    expect(counted.reason).not.toContain(SENTINEL)
  })

  it('recognises a file whose dossiers carry no identity (the public sample): records rejected, not an unknown layout', async () => {
    const outcome = await ingest('PECG_202701.xml', file([{ signature: '2011-05-31', dernier: '2020-11-19' }, { dernier: '2020' }]))
    expect(outcome).toMatchObject({ status: 'rejected', code: 'too_many_rejections', rejected: 2 })
    const found = await rules(outcome.fileId!)
    expect(found).toContainEqual({ field: 'nir', rule: 'required' })
    expect(found).toContainEqual({ field: '(file)', rule: 'too_many_rejections' })
  })
})
