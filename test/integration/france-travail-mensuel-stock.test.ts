import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatOutcome } from '../../src/cli/commands/ingest.ts'
import { ConfigError } from '../../src/config/config.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import type { ApiApp } from '../../src/http/app.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { nirKey } from '../../src/ingestion/validation/nir.ts'
import { createLogger } from '../../src/log/logger.ts'
import { seedAssignment, seedFile, seedOrganisation, seedPerson, seedToken, seedUser, syntheticNir13, worldApp, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'

/**
 * The monthly fichier-PE-CG stock (flows/france-travail-mensuel.yaml) as the département receives it, on the shipped
 * declarations: a file for another département is refused whole (wrong_recipient, nack) and one that cannot be
 * checked (PASSERELLE_DEPARTEMENT unset) waits; dirty optional dates are warnings counted in the file's summary, the
 * value stored empty, never a rejection; a stock marks whom it no longer lists "no longer transmitted", never deleted,
 * and a later file listing them brings them back; a CSV movement does not empty what the stock wrote; a referent
 * (accompagnement-rsa) sees France Travail's support mode, adviser and last interview, a purpose that does not
 * declare them (orientation) does not. Planted values never reach a rejection row, a file reason or a log line.
 */
const SENTINEL_NAME = 'SENTINELPECGNOMQ7'
const SENTINEL_DATE = 'SENTINEL-DATE-9Z'
const ENV = { PASSERELLE_DEPARTEMENT: '93' }

interface Dossier {
  person: { nir13: string; dateNaissance: string }
  pe: string
  debut?: string
  nom?: string
  modalite?: string
  conseiller?: string
  signature?: string
  dernier?: string
  radiation?: string
}
const full = (nir13: string) => nir13 + nirKey(nir13)
const dossier = (d: Dossier) =>
  `<dossier><individu><nir>${full(d.person.nir13)}</nir><nom-naissance>${d.nom ?? 'LÉGER'}</nom-naissance><prenom>Zoé</prenom>` +
  `<date-naissance>${d.person.dateNaissance}</date-naissance><commune-residence>93066</commune-residence></individu>` +
  `<allocataire><identifiant-caf>1234567</identifiant-caf><identifiant-pe>${d.pe}</identifiant-pe></allocataire>` +
  `<inscription><date-debut-ide>${d.debut ?? '2026-10-02'}</date-debut-ide><code-categorie>1</code-categorie><code-situation>01</code-situation><lib-situation>Inscrit</lib-situation>` +
  `${d.radiation ? `<date-radiation-ide>${d.radiation}</date-radiation-ide><motif-radiation-ide>R2</motif-radiation-ide>` : ''}</inscription>` +
  `<suivi><structure-principale-code>93012</structure-principale-code><structure-principale-nom>Agence de Saint-Denis</structure-principale-nom></suivi>` +
  `<romev3><code-rome>k1304</code-rome><lib-rome>Services domestiques</lib-rome></romev3>` +
  `<ppae><conseiller-pe>${d.conseiller ?? 'M. CONSEILLER'}</conseiller-pe><date-signature>${d.signature ?? ''}</date-signature>` +
  `<date-dernier-ent>${d.dernier ?? ''}</date-dernier-ent><modalite-code>${d.modalite ?? 'RENFORCE'}</modalite-code></ppae></dossier>\n`
const file = (dossiers: Dossier[], departement = '93') =>
  Buffer.from(
    `<?xml version="1.0" encoding="ISO-8859-1"?>\n<fichier-PE-CG>\n` +
      `<entete><fichier>PECG</fichier><periodicite>M</periodicite><departement>${departement}</departement><date-reference>2026-11-01</date-reference><date-fabrication>2026-11-15</date-fabrication><version>001,0</version></entete>\n` +
      dossiers.map(dossier).join('') +
      `<fin><departement>${departement}</departement><date-reference>2026-11-01</date-reference><nb-dossiers>${String(dossiers.length).padStart(7, '0')}</nb-dossiers></fin>\n</fichier-PE-CG>\n`,
    'latin1',
  )

describe.skipIf(postgresUnavailable())('france-travail-mensuel: département, warnings, stock absence, what purposes see', () => {
  let t: TestDatabase
  let deps: IngestDeps
  let app: ApiApp
  const keys = testKeys()
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-pecg-stock-'))
  const declarations = loadDeclarations({ flowsDir: path.join(REPO_ROOT, 'flows'), mappingsDir: path.join(REPO_ROOT, 'mappings') })
  const mensuel = declarations.flows.get('france-travail-mensuel')!
  const csv = declarations.flows.get('france-travail')!
  let logged = ''
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged += chunk.toString()
      done()
    },
  })
  let day = 0
  const ingest = (name: string, content: Buffer | string, env: NodeJS.ProcessEnv = ENV, flow = mensuel) => {
    const at = path.join(work, name)
    writeFileSync(at, content)
    day++
    return ingestFile({ ...deps, env }, flow, { path: at, name, source: 'local', modifiedAt: new Date(Date.UTC(2026, 5, day, 6)) })
  }
  const registration = async (p: SeededPerson) =>
    (
      await t.db.query<Record<string, string | null>>(
        `select identifiant_pe, transmission_state, to_char(not_transmitted_since, 'YYYY-MM-DD') as not_transmitted_since, flow_id,
                modalite_accompagnement, conseiller_nom, to_char(date_signature_ppae, 'YYYY-MM-DD') as date_signature_ppae,
                to_char(date_dernier_entretien_ppae, 'YYYY-MM-DD') as date_dernier_entretien_ppae, code_rome, categorie_inscription
         from france_travail_registrations where person_key = $1`,
        [p.matchKey],
      )
    ).rows[0]
  const everything = async () => {
    const { rows: tables } = await t.db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`)
    let text = ''
    for (const { table_name } of tables) text += (await t.db.query<{ j: string }>(`select row_to_json(x)::text as j from "${table_name}" x`)).rows.map((r) => r.j).join('\n')
    return text
  }

  const persons: SeededPerson[] = []
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    t = await createTestDatabase()
    deps = { db: t.db, keys, log: createLogger({ level: 'debug', destination }), stored: declarations.stored, purposes: declarations.purposes }
    const fileId = await seedFile(t.db)
    for (const n of [1, 2, 3]) persons.push(await seedPerson(t.db, keys, fileId, { n }))
    const org = await seedOrganisation(t.db, 1, 'ccas')
    await seedUser(t.db, 'referent@ccas.test', 'referent', org.id)
    await seedUser(t.db, 'manager@ccas.test', 'structure-manager', org.id)
    const referent = (await t.db.query<{ id: number }>(`select id from users where email = 'referent@ccas.test'`)).rows[0]!.id
    for (const p of persons) await seedAssignment(t.db, { personId: p.personId, organisationId: org.id, referentUserId: referent, startsOn: '2026-01-01' })
    tokens.referent = (await seedToken(t.db, declarations.purposes, 'referent@ccas.test', 'accompagnement-rsa', new Date('2026-06-01T00:00:00Z'))).token
    tokens.orientation = (await seedToken(t.db, declarations.purposes, 'manager@ccas.test', 'orientation', new Date('2026-06-01T00:00:00Z'))).token
    app = worldApp(t.db, keys, declarations.purposes, { now: () => new Date('2026-06-20T10:00:00Z') })
  })
  afterAll(async () => {
    await t?.drop()
  })

  it('refuses whole a file for another département (wrong_recipient, the expected code named), stores nothing of it', async () => {
    const [p1] = persons
    const outcome = await ingest('PECG_202605_DPT94.xml', file([{ person: p1!, pe: '0123456A001', nom: SENTINEL_NAME }], '94'))
    expect(outcome).toMatchObject({ status: 'rejected', code: 'wrong_recipient', accepted: 0 })
    expect(outcome.reason).toContain('departement is not "93" (PASSERELLE_DEPARTEMENT)')
    expect((await t.db.query('select id from france_travail_registrations')).rows).toEqual([])
    const { rows } = await t.db.query<{ field: string; rule: string }>('select field, rule from rejections where file_id = $1', [outcome.fileId])
    expect(rows).toEqual([{ field: '(file)', rule: 'wrong_recipient' }])
  })

  it('waits while PASSERELLE_DEPARTEMENT is unset: a configuration error, the file not recorded (so not nacked)', async () => {
    const [p1] = persons
    await expect(ingest('PECG_202605_NOCONF.xml', file([{ person: p1!, pe: '0123456A001' }]), {})).rejects.toThrow(ConfigError)
    await expect(ingest('PECG_202605_NOCONF.xml', file([{ person: p1!, pe: '0123456A001' }]), {})).rejects.toThrow(/PASSERELLE_DEPARTEMENT .* is not set/)
    expect((await t.db.query('select id from files where name = $1', ['PECG_202605_NOCONF.xml'])).rows).toEqual([])
  })

  it('loads dirty optional dates as warnings: stored empty, counted by field and rule in the summary, no rejection', async () => {
    const [p1, p2, p3] = persons
    const outcome = await ingest(
      'PECG_202606.xml',
      file([
        { person: p1!, pe: '0123456A001', signature: '2026-03-02', dernier: '2026-05-28', conseiller: 'Mme ADVISER' },
        { person: p2!, pe: '0234567B002', signature: SENTINEL_DATE, dernier: '2020', modalite: 'GUIDE' },
        { person: p3!, pe: '0345678C003', signature: '', dernier: '', modalite: 'INCONNU' },
      ]),
    )
    expect(outcome).toMatchObject({ status: 'loaded', kind: 'stock', accepted: 3, rejected: 0, warned: 2 })
    expect(outcome.warnings).toEqual({ 'date_dernier_entretien date_format': 1, 'date_signature_ppae date_format': 1, 'modalite modalite_code': 1 })
    // What `passerelle ingest` prints: the counts by field and rule, never the value.
    expect(formatOutcome(outcome)).toContain('accepted 3  rejected 0  warned 2')
    expect(formatOutcome(outcome)).toContain('warnings: date_dernier_entretien date_format ×1, date_signature_ppae date_format ×1, modalite modalite_code ×1')
    expect(formatOutcome(outcome)).not.toContain(SENTINEL_DATE)
    const { rows } = await t.db.query<{ records_warned: number; warnings: unknown; records_rejected: number }>(
      'select records_warned, warnings, records_rejected from files where id = $1',
      [outcome.fileId],
    )
    expect(rows[0]).toMatchObject({ records_warned: 2, records_rejected: 0 })
    expect(typeof rows[0]!.warnings === 'string' ? JSON.parse(rows[0]!.warnings) : rows[0]!.warnings).toEqual(outcome.warnings)
    expect(await registration(p1!)).toMatchObject({
      modalite_accompagnement: 'RENFORCE',
      conseiller_nom: 'Mme ADVISER',
      date_signature_ppae: '2026-03-02',
      date_dernier_entretien_ppae: '2026-05-28',
      code_rome: 'K1304',
      categorie_inscription: '1',
      flow_id: 'france-travail-mensuel',
      transmission_state: 'transmitted',
    })
    expect(await registration(p2!)).toMatchObject({ modalite_accompagnement: 'GUIDE', date_signature_ppae: null, date_dernier_entretien_ppae: null })
    expect(await registration(p3!)).toMatchObject({ modalite_accompagnement: null })
  })

  it('marks whom the next stock no longer lists "no longer transmitted", never deleted; a rejected record is not taken as gone', async () => {
    const [p1, p2, p3] = persons
    // p3's record is rejected (an identifier of the wrong shape): it is not gone, only unreadable this month.
    const outcome = await ingest(
      'PECG_202607.xml',
      file([
        { person: p1!, pe: '0123456A001', signature: '2026-03-02', dernier: '2026-06-30', conseiller: 'Mme ADVISER' },
        { person: p3!, pe: 'NOT-AN-ID' },
      ]),
    )
    // One rejection in two records is above the flow's 5 % limit: the file is refused whole and changes nothing.
    expect(outcome).toMatchObject({ status: 'rejected', code: 'too_many_rejections' })
    expect((await registration(p2!))?.transmission_state).toBe('transmitted')

    const many = [p1!, ...Array.from({ length: 25 }, (_, i) => ({ nir13: syntheticNir13(100 + i), dateNaissance: '1990-02-03' }))]
    const listed = many.map((person, i) => ({ person, pe: `0${String(500000 + i).padStart(6, '0')}D00${i % 10}`, signature: '2026-03-02', dernier: '2026-06-30', conseiller: 'Mme ADVISER' }))
    const loaded = await ingest('PECG_202608.xml', file([...listed, { person: p3!, pe: 'NOT-AN-ID' }]))
    expect(loaded).toMatchObject({ status: 'loaded', kind: 'stock', rejected: 1 })
    expect(await registration(p2!)).toMatchObject({ transmission_state: 'not_transmitted', not_transmitted_since: '2026-06-06', identifiant_pe: '0234567B002', modalite_accompagnement: 'GUIDE' })
    expect(await registration(p3!)).toMatchObject({ transmission_state: 'transmitted' })
    expect(await registration(p1!)).toMatchObject({ transmission_state: 'transmitted', date_dernier_entretien_ppae: '2026-06-30' })
    const { rows: changes } = await t.db.query<{ old_value: string; new_value: string }>(
      `select old_value, new_value from state_changes where person_key = $1 and field = 'france_travail.transmission_state'`,
      [p2!.matchKey],
    )
    expect(changes).toEqual([{ old_value: 'transmitted', new_value: 'not_transmitted' }])

    // Listed again the month after: transmitted again.
    const back = await ingest('PECG_202609.xml', file([...listed, { person: p2!, pe: '0234567B002', modalite: 'SUIVI' }, { person: p3!, pe: '0345678C003' }]))
    expect(back).toMatchObject({ status: 'loaded', rejected: 0 })
    expect(await registration(p2!)).toMatchObject({ transmission_state: 'transmitted', not_transmitted_since: null, modalite_accompagnement: 'SUIVI' })
  })

  it('a CSV movement of the other France Travail flow keeps the follow-up details the stock wrote', async () => {
    const [p1] = persons
    const line = `${p1!.nir13};0123456A001;NOM;PRENOM;${p1!.dateNaissance.split('-').reverse().join('/')};02/11/2026;2;${p1!.nir13}`
    const outcome = await ingest('RSA_INSCRIPTION_202607_DPT93.csv', `nir;identifiantpe;nom;prenom;dtnai;date;code;nir2\n${line}\n`, ENV, csv)
    expect(outcome).toMatchObject({ status: 'loaded', accepted: 1 })
    expect(await registration(p1!)).toMatchObject({ flow_id: 'france-travail', conseiller_nom: 'Mme ADVISER', modalite_accompagnement: 'RENFORCE', date_dernier_entretien_ppae: '2026-06-30' })
  })

  it('serves a referent (accompagnement-rsa) the support mode, the adviser and the last interview; orientation gets no adviser nor interview', async () => {
    const [p1] = persons
    const get = async (token: string) => {
      const res = await app.request(`/v1/beneficiaires/${p1!.publicId}`, { headers: { Authorization: `Bearer ${token}` } })
      expect(res.status).toBe(200)
      return ((await res.json()) as { data: Record<string, unknown> }).data
    }
    const referent = await get(tokens.referent!)
    expect(referent).toMatchObject({
      modaliteAccompagnementFranceTravail: 'RENFORCE',
      conseillerFranceTravail: 'Mme ADVISER',
      dateDernierEntretienPpae: '2026-06-30',
      dateSignaturePpae: '2026-03-02',
      codeRomeMetierRecherche: 'K1304',
    })
    const orientation = await get(tokens.orientation!)
    expect(orientation).toMatchObject({ modaliteAccompagnementFranceTravail: 'RENFORCE' })
    for (const name of ['conseillerFranceTravail', 'prenomConseillerFranceTravail', 'courrielConseillerFranceTravail', 'dateDernierEntretienPpae', 'dateSignaturePpae', 'codeRomeMetierRecherche']) {
      expect(orientation).not.toHaveProperty(name)
    }
  })

  it('never writes a planted value to a rejection row, a file reason or a log line', async () => {
    const stored = await everything()
    expect(stored).not.toContain(SENTINEL_NAME)
    expect(stored).not.toContain(SENTINEL_DATE)
    expect(stored).not.toContain('NOT-AN-ID')
    expect(logged).not.toContain(SENTINEL_NAME)
    expect(logged).not.toContain(SENTINEL_DATE)
    expect(logged).not.toContain('NOT-AN-ID')
    expect(logged).toContain('"warned":2')
  })
})
