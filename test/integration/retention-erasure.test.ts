import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createLogger } from '../../src/log/logger.ts'
import { addLegalHold, releaseLegalHold } from '../../src/retention/legal-holds.ts'
import { runRetention, type RetentionDeps } from '../../src/retention/run-retention.ts'
import { fileFlowsOnly, flowDeclarations } from '../helpers/declarations.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { day, resetRetentionTables, seedDossier, seedRegistration } from '../helpers/retention-seed.ts'

const keys = testKeys()
const flowsDir = path.resolve('flows')

/** Every row of every table in `public` and `archive`, as text, per table (to search for a person). */
async function dumpAll(t: TestDatabase): Promise<Map<string, string[]>> {
  const { rows: columns } = await t.db.query<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(
    `select c.table_schema, c.table_name, c.column_name, c.data_type
     from information_schema.columns c
     join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name and tb.table_type = 'BASE TABLE'
     where c.table_schema in ('public', 'archive')
     order by c.table_schema, c.table_name, c.ordinal_position`,
  )
  const byTable = new Map<string, { column: string; type: string }[]>()
  for (const c of columns) {
    const key = `${c.table_schema}.${c.table_name}`
    if (!byTable.has(key)) byTable.set(key, [])
    byTable.get(key)!.push({ column: c.column_name, type: c.data_type })
  }
  const dump = new Map<string, string[]>()
  for (const [table, cols] of byTable) {
    const exprs = cols.map((c) => (c.type === 'bytea' ? `encode("${c.column}", 'hex')` : `"${c.column}"::text`))
    const named = await t.db.query<Record<string, unknown>>(`select ${cols.map((c, i) => `${exprs[i]} as "${c.column}"`).join(', ')} from ${table}`)
    dump.set(table, named.rows.map((r) => cols.map((c) => `${c.column}=${r[c.column] ?? ''}`).join('|')))
  }
  return dump
}

describe.skipIf(postgresUnavailable())('retention: erasure, crash and rerun, minimisation', () => {
  let t: TestDatabase
  let logLines: string[] = []
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk))
        done()
      },
    }),
  })
  const deps = (extra: Partial<RetentionDeps> = {}): RetentionDeps => ({ db: t.db, keys, log, declarations: flowDeclarations(flowsDir), ...extra })
  const count = async (table: string, where = 'true', params: unknown[] = []) =>
    (await t.db.query<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`, params)).rows[0]!.n

  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())
  beforeEach(async () => {
    await resetRetentionTables(t.db)
    logLines = []
  })

  it('after destruction, no table, staging file or log line still holds the destroyed person', async () => {
    const staging = mkdtempSync(path.join(tmpdir(), 'passerelle-staging-'))
    try {
      const nir13 = '1840299000123'
      const person = { nir13, birthDate: '1984-02-03', nom: 'ZORGLUBNOM', prenom: 'ZORGLUBPRENOM' }
      const a = await seedDossier(t.db, keys, { numdemrsa: 'ERASE0001', etatDroit: '5', dateCloture: '2016-03-31', transmittedAt: day('2016-04-05'), persons: [person] })
      const b = await seedDossier(t.db, keys, { numdemrsa: 'ERASE0002', organisme: 'MSA', flowId: 'msa-beneficiaires', etatDroit: '1', dateRefus: '2016-05-02', transmittedAt: day('2016-05-05'), persons: [person] })
      const p = a.persons[0]!
      expect(b.persons[0]!.id).toBe(p.id)
      await seedRegistration(t.db, { personKey: p.matchKey, etat: 'cessation', dateEtat: '2016-01-01', transmittedAt: day('2016-02-01') })
      // Someone else, kept: the scan must still find them (the search is not vacuous).
      const other = await seedDossier(t.db, keys, { numdemrsa: 'KEEP0001', transmittedAt: day('2026-01-01'), persons: [{ nir13: '2900175000999', birthDate: '1990-01-01', nom: 'GARDENOM', prenom: 'GARDEPRENOM' }] })
      const cipher = (await t.db.query<{ hex: string }>(`select encode(nir_cipher, 'hex') as hex from persons where id = $1`, [p.id])).rows[0]!.hex
      // A leftover staged file with the person in it, and a recent one being loaded.
      mkdirSync(path.join(staging, 'caf-beneficiaires'))
      const leftover = path.join(staging, 'caf-beneficiaires', 'CAF.RSABEM.old.xml')
      writeFileSync(leftover, `<NIR>${nir13}</NIR><NOM>${person.nom}</NOM>`)
      utimesSync(leftover, day('2016-04-05'), day('2016-04-05'))
      writeFileSync(path.join(staging, 'caf-beneficiaires', 'CAF.RSABEI.today.xml'), '<NIR>2900175000999</NIR>')
      utimesSync(path.join(staging, 'caf-beneficiaires', 'CAF.RSABEI.today.xml'), day('2026-06-01'), day('2026-06-01'))
      // A hold on one of the dossiers, released before the run: its NUMDEMRSA is erased with the dossier.
      const hold = await addLegalHold(t.db, keys, { numdemrsa: 'ERASE0001', reason: 'contentieux clos', actor: 'dpo', now: day('2026-05-01') })
      await releaseLegalHold(t.db, { id: hold.id, actor: 'dpo', now: day('2026-05-02') })

      const before = await dumpAll(t)
      const all = (dump: Map<string, string[]>) => [...dump.entries()].flatMap(([table, lines]) => lines.map((l) => `${table}: ${l}`))
      expect(all(before).some((l) => l.includes(p.matchKey))).toBe(true)

      const report = await runRetention(deps({ stagingDir: staging }), { now: day('2026-06-02'), dryRun: false })
      expect(report.errors).toEqual([])
      const after = all(await dumpAll(t))

      const needles = [p.matchKey, p.nirIndex, p.publicId, a.publicId, b.publicId, cipher, nir13, person.nom, person.prenom, 'ERASE0001', 'ERASE0002']
      for (const needle of needles) expect(after.filter((l) => l.includes(needle)).map((l) => l.split(':')[0])).toEqual([])
      // Internal ids: no row names the destroyed person or dossiers by id any more.
      const values = (line: string, column: string) =>
        line.slice(line.indexOf(': ') + 2).split('|').filter((kv) => kv.startsWith(`${column}=`)).map((kv) => kv.slice(column.length + 1))
      const dossierIds = [String(a.id), String(b.id)]
      for (const line of after) {
        const table = line.slice(0, line.indexOf(': '))
        if (table.endsWith('.persons')) expect(values(line, 'id')).not.toContain(String(p.id))
        if (table.endsWith('.dossiers')) expect(values(line, 'id').filter((v) => dossierIds.includes(v))).toEqual([])
        expect(values(line, 'person_id')).not.toContain(String(p.id))
        expect(values(line, 'dossier_id').filter((v) => dossierIds.includes(v))).toEqual([])
      }
      expect(after.some((l) => l.includes('GARDENOM'))).toBe(true)
      expect(await count('dossiers', 'id = $1', [other.id])).toBe(1)

      // Staging: the leftover is gone, the file being loaded today stays.
      expect(readdirSync(path.join(staging, 'caf-beneficiaires'))).toEqual(['CAF.RSABEI.today.xml'])
      // Logs: counts and ids only.
      expect(logLines.length).toBeGreaterThan(0)
      for (const needle of needles) expect(logLines.filter((l) => l.includes(needle))).toEqual([])
      expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    } finally {
      rmSync(staging, { recursive: true, force: true })
    }
  })

  it('deletes statistical extract files three months after they were written, with a receipt; a dry run only counts them', async () => {
    const extracts = mkdtempSync(path.join(tmpdir(), 'passerelle-extracts-'))
    try {
      const write = (name: string, when: string) => {
        writeFileSync(path.join(extracts, name), 'pseudonyme;tranche_age\nA1;30-39\n')
        utimesSync(path.join(extracts, name), day(when), day(when))
      }
      write('statistiques.observatoire.2026-02-01.csv', '2026-02-01')
      write('statistiques.observatoire.2026-02-01.manifest.json', '2026-02-01')
      write('statistiques.observatoire.2026-02-20.csv.partial', '2026-02-20')
      write('statistiques.observatoire.2026-03-01.csv', '2026-03-03')
      write('statistiques.observatoire.2026-05-01.csv', '2026-05-01')

      const dry = await runRetention(deps({ extractsDir: extracts }), { now: day('2026-06-02'), dryRun: true })
      expect(dry.policies.find((p) => p.id === 'extract-files')!.destroyed).toMatchObject({ extract_files: 3 })
      expect(readdirSync(extracts)).toHaveLength(5)

      const report = await runRetention(deps({ extractsDir: extracts }), { now: day('2026-06-02'), dryRun: false })
      expect(report.errors).toEqual([])
      expect(report.policies.find((p) => p.id === 'extract-files')!.destroyed).toMatchObject({ extract_files: 3 })
      // Written on or before 2026-03-02 (three months before the run's day): gone; later ones stay.
      expect(readdirSync(extracts).sort()).toEqual(['statistiques.observatoire.2026-03-01.csv', 'statistiques.observatoire.2026-05-01.csv'])
      const { rows } = await t.db.query<{ details: { policy: string; counts: Record<string, number> } }>(
        `select details from audit_events where action = 'retention.destroy' and details->>'policy' = 'extract-files'`,
      )
      expect(rows).toHaveLength(1)
      expect(rows[0]!.details.counts).toMatchObject({ extract_files: 3 })
      expect(JSON.stringify(rows[0])).not.toContain('observatoire')
      expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    } finally {
      rmSync(extracts, { recursive: true, force: true })
    }
  })

  it('records each chunk of swept files before deleting them: a crash mid-sweep never leaves a file deleted unrecorded', async () => {
    const extracts = mkdtempSync(path.join(tmpdir(), 'passerelle-extracts-'))
    try {
      for (let i = 0; i < 2500; i++) {
        const name = path.join(extracts, `statistiques.observatoire.${String(i).padStart(4, '0')}.csv`)
        writeFileSync(name, 'x\n')
        utimesSync(name, day('2026-01-05'), day('2026-01-05'))
      }
      const receipts = async () =>
        (await t.db.query<{ n: number }>(`select coalesce(sum((details->'counts'->>'extract_files')::int), 0)::int as n from audit_events where action = 'retention.destroy' and details->>'policy' = 'extract-files'`)).rows[0]!.n
      const before = await receipts()
      const crashed = await runRetention(deps({ extractsDir: extracts }), {
        now: day('2026-06-02'),
        dryRun: false,
        onChunk: (c) => {
          if (c.step === 'destroy.extract_files' && c.index === 1) throw new Error('killed')
        },
      })
      expect(crashed.errors.map((e) => e.step)).toEqual(['destroy:extract-files'])
      // Chunk 0 recorded then deleted; chunk 1 rolled back with its receipt, its files still there.
      expect(readdirSync(extracts)).toHaveLength(1500)
      expect((await receipts()) - before).toBe(1000)
      const rerun = await runRetention(deps({ extractsDir: extracts }), { now: day('2026-06-02'), dryRun: false })
      expect(rerun.errors).toEqual([])
      expect(readdirSync(extracts)).toEqual([])
      expect((await receipts()) - before).toBe(2500)
      expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    } finally {
      rmSync(extracts, { recursive: true, force: true })
    }
  })

  it('a crash in the middle of a run leaves whole chunks done; a rerun finishes, with nothing done twice', async () => {
    for (let i = 0; i < 11; i++) {
      const d = await seedDossier(t.db, keys, {
        numdemrsa: `CRASH${String(i).padStart(3, '0')}`,
        etatDroit: '5',
        dateCloture: i < 6 ? '2015-01-31' : '2022-01-31',
        transmittedAt: day(i < 6 ? '2015-02-05' : '2022-02-05'),
        persons: [{ nir13: `18001750${String(10000 + i)}`, birthDate: '1980-01-01', nom: `CRASHNOM${i}`, prenom: 'P' }],
      })
      await seedRegistration(t.db, { personKey: d.persons[0]!.matchKey, etat: 'radiation', dateEtat: '2014-12-01', transmittedAt: day(i < 6 ? '2015-01-01' : '2025-01-01') })
    }
    // 11 dossiers past the active phase on 2026-03-01; the 6 closed in 2015 are also past the archive phase.
    let chunks = 0
    const crashed = await runRetention(deps(), {
      now: day('2026-03-01'),
      dryRun: false,
      chunkSize: 2,
      onChunk: ({ step }) => {
        if (step === 'archive.dossiers' && ++chunks === 3) throw new Error('simulated crash')
      },
    })
    expect(crashed.ok).toBe(false)
    expect(crashed.errors).toEqual([{ step: 'archive:rsa-beneficiaires', message: 'simulated crash' }])
    // Two whole chunks moved (4 dossiers with their person), the third rolled back.
    expect(await count('dossiers')).toBe(7)
    expect(await count('persons')).toBe(7)
    expect(await count('audit_events', "action = 'retention.archive' and details->>'policy' = 'rsa-beneficiaires'")).toBe(2)
    // The other steps still ran: the four archived dossiers closed in 2015 were destroyed.
    expect(await count('archive.dossiers')).toBe(0)

    // A second crash, now in the middle of destruction.
    let destroyChunks = 0
    await runRetention(deps(), {
      now: day('2026-03-01'),
      dryRun: false,
      chunkSize: 2,
      onChunk: ({ step }) => {
        if (step === 'destroy.dossiers' && ++destroyChunks === 2) throw new Error('simulated crash')
      },
    })
    const rerun = await runRetention(deps(), { now: day('2026-03-01'), dryRun: false, chunkSize: 2 })
    expect(rerun.ok).toBe(true)
    expect(await count('dossiers')).toBe(0)
    expect(await count('persons')).toBe(0)
    // The 5 dossiers closed in 2022 stay archived; the 6 closed in 2015 are destroyed, once.
    expect((await t.db.query<{ numdemrsa: string }>('select numdemrsa from archive.dossiers order by numdemrsa')).rows.map((r) => r.numdemrsa)).toEqual(
      ['CRASH006', 'CRASH007', 'CRASH008', 'CRASH009', 'CRASH010'],
    )
    expect(await count('archive.persons')).toBe(5)
    expect(await count('archive.dossier_members')).toBe(5)
    const receipts = (await t.db.query<{ action: string; details: { counts: Record<string, number> } }>(
      `select action, details from audit_events where action in ('retention.archive', 'retention.destroy') and details->>'policy' = 'rsa-beneficiaires'`,
    )).rows
    const sum = (action: string, key: string) => receipts.filter((r) => r.action === action).reduce((n, r) => n + (r.details.counts[key] ?? 0), 0)
    expect(sum('retention.archive', 'dossiers')).toBe(11)
    expect(sum('retention.destroy', 'archive.dossiers')).toBe(6)
    expect(sum('retention.destroy', 'archive.persons')).toBe(6)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    // A further run has nothing to do.
    const idle = await runRetention(deps(), { now: day('2026-03-01'), dryRun: false, chunkSize: 2 })
    const rsa = idle.policies.find((p) => p.id === 'rsa-beneficiaires')!
    expect(Object.values(rsa.archived).every((n) => n === 0)).toBe(true)
    expect(rsa.destroyed).toEqual({})
  })

  it('clears what no purpose stores any more, and what the archive does not keep, with a receipt', async () => {
    const mappings = mkdtempSync(path.join(tmpdir(), 'passerelle-mappings-'))
    try {
      writeFileSync(
        path.join(mappings, 'minimal.yaml'),
        `title: Minimal
title_en: Minimal
description: Test purpose.
description_en: Test purpose.
controller: { name: Département, contact: dpd@example.org }
legal_basis: { gdpr: 6(1)(e), national: CASF }
data_subjects: [Bénéficiaires]
recipients: [{ role: referent, organisation_types: [departement] }]
source_flows: [caf-beneficiaires]
fields:
  - { field: dossier.numdemrsa }
  - { field: personne.nom }
retention: rsa-beneficiaires
`,
      )
      const d = await seedDossier(t.db, keys, { numdemrsa: 'MIN1', transmittedAt: day('2026-01-01'), persons: [{ nir13: '1800175000111', birthDate: '1980-01-01', nom: 'MINNOM', prenom: 'MINPRENOM' }] })
      const report = await runRetention(deps({ declarations: loadDeclarations({ flowsDir: fileFlowsOnly(mappings), mappingsDir: mappings }) }), { now: day('2026-01-02'), dryRun: false })
      expect(report.errors).toEqual([])
      expect(report.minimisation.cleared).toMatchObject({ dossiers: 1, persons: 1, dossier_members: 1 })
      const dossier = (await t.db.query<Record<string, unknown>>('select * from dossiers where id = $1', [d.id])).rows[0]!
      expect(dossier).toMatchObject({ numdemrsa: 'MIN1', etat_droit: '2', matricule: null, adresse_nom_voie: null, motif_suspension_versement: null })
      const person = (await t.db.query<Record<string, unknown>>('select * from persons')).rows[0]!
      expect(person).toMatchObject({ nom: 'MINNOM', prenom: null, date_naissance: null, nir_cipher: null, nir_index: d.persons[0]!.nirIndex })
      const member = (await t.db.query<Record<string, unknown>>('select * from dossier_members')).rows[0]!
      expect(member).toMatchObject({ role: 'DEM', ressources_mensuelles: null, soumis_droits_devoirs: null })
      const receipts = (await t.db.query<{ details: { counts: Record<string, number>; columns: string[] } }>(`select details from audit_events where action = 'retention.minimise' order by seq`)).rows
      expect(receipts.map((r) => Object.keys(r.details.counts)[0])).toEqual(['dossiers', 'persons', 'dossier_members'])
      expect(receipts[1]!.details.columns).toContain('prenom')
      // Nothing left to clear on the next run.
      const again = await runRetention(deps({ declarations: loadDeclarations({ flowsDir: fileFlowsOnly(mappings), mappingsDir: mappings }) }), { now: day('2026-01-03'), dryRun: false })
      expect(again.minimisation.cleared).toEqual({})

      // The archive keeps what its policy keeps: an archived row with a column the archive does not keep is cleared.
      await seedDossier(t.db, keys, { numdemrsa: 'MIN2', etatDroit: '5', dateCloture: '2020-01-31', transmittedAt: day('2020-02-05'), persons: [] })
      await runRetention(deps(), { now: day('2023-02-01'), dryRun: false })
      await t.db.query(`update archive.dossiers set adresse_commune = 'VILLE' where numdemrsa = 'MIN2'`)
      const r = await runRetention(deps(), { now: day('2023-02-02'), dryRun: false })
      expect(r.minimisation.cleared).toEqual({ 'archive.dossiers': 1 })
      expect(await count('archive.dossiers', 'adresse_commune is not null')).toBe(0)
    } finally {
      rmSync(mappings, { recursive: true, force: true })
    }
  })

  it('deletes API tokens a year after they expired or were revoked (when the partner API is installed)', async () => {
    const { rows } = await t.db.query<{ t: string | null }>(`select to_regclass('public.api_tokens')::text as t`)
    if (rows[0]!.t === null) {
      const report = await runRetention(deps(), { now: day('2026-01-01'), dryRun: false })
      expect(report.policies.find((p) => p.id === 'api-tokens')!.destroyed).toEqual({ api_tokens: 0 })
      return
    }
    await t.db.exec(`truncate api_tokens, users, organisations restart identity cascade`)
    const org = (await t.db.query<{ id: number }>(`insert into organisations (siret, name, type) values ('12345678900011', 'Org', 'departement') returning id`)).rows[0]!.id
    const user = (await t.db.query<{ id: number }>(`insert into users (email, display_name, role, organisation_id) values ('a@b.fr', 'A', 'referent', $1) returning id`, [org])).rows[0]!.id
    const token = (hash: string, expires: string, revoked: string | null) =>
      t.db.query(`insert into api_tokens (token_hash, user_id, organisation_id, purpose, expires_at, revoked_at) values ($1, $2, $3, 'orientation', $4, $5)`, [hash.repeat(64), user, org, day(expires), revoked ? day(revoked) : null])
    await token('a', '2024-12-31', null) // expired more than a year ago: deleted
    await token('b', '2025-06-30', null) // expired less than a year ago: kept
    await token('c', '2027-01-01', '2024-11-30') // revoked more than a year ago: deleted
    await token('d', '2027-01-01', null) // valid: kept
    await runRetention(deps(), { now: day('2026-01-01'), dryRun: false })
    expect((await t.db.query<{ h: string }>('select substr(token_hash, 1, 1) as h from api_tokens order by 1')).rows.map((r) => r.h)).toEqual(['b', 'd'])
  })
})
