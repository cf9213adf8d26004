import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createLogger } from '../../src/log/logger.ts'
import { addLegalHold, listLegalHolds, releaseLegalHold } from '../../src/retention/legal-holds.ts'
import { anchorDay, dossierAnchorFacts, dossierAnchorSql, registrationAnchorFacts, registrationAnchorSql } from '../../src/retention/anchors.ts'
import { planRetention } from '../../src/retention/plan.ts'
import { showArchivedDossier } from '../../src/retention/read-archive.ts'
import { loadRetentionPolicies } from '../../src/retention/load-policies.ts'
import { runRetention, type RetentionOptions } from '../../src/retention/run-retention.ts'
import { ANCHORS } from '../../src/retention/policy.ts'
import { withAdvisoryLock } from '../../src/db/advisory-lock.ts'
import { openPostgres } from '../../src/db/postgres.ts'
import { flowDeclarations } from '../helpers/declarations.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { day, resetRetentionTables, retransmitRegistration, seedDossier, seedRegistration } from '../helpers/retention-seed.ts'

const keys = testKeys()
const log = createLogger({ level: 'silent' })
const flowsDir = path.resolve('flows')

describe.skipIf(postgresUnavailable())('retention lifecycle', () => {
  let t: TestDatabase
  const run = (now: Date, extra: Partial<RetentionOptions> = {}) =>
    runRetention({ db: t.db, keys, log, declarations: flowDeclarations(flowsDir) }, { now, dryRun: false, ...extra })
  const count = async (table: string, where = 'true', params: unknown[] = []) =>
    (await t.db.query<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`, params)).rows[0]!.n

  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(() => t?.drop())
  beforeEach(() => resetRetentionTables(t.db))

  it('computes anchor days in SQL exactly as the pure planner does, for every anchor', async () => {
    const cases = [
      { numdemrsa: 'A1', etatDroit: '2', transmittedAt: new Date('2026-01-14T23:30:00Z') },
      { numdemrsa: 'A2', etatDroit: '5', dateCloture: '2021-04-30', transmittedAt: day('2021-05-10') },
      { numdemrsa: 'A3', etatDroit: '5', dateCloture: null, transmittedAt: day('2021-05-10') },
      { numdemrsa: 'A4', etatDroit: '1', dateRefus: '2020-02-02', transmittedAt: day('2020-02-10') },
      { numdemrsa: 'A5', etatDroit: '2', transmissionState: 'not_transmitted' as const, notTransmittedSince: '2022-09-01', transmittedAt: day('2022-08-01') },
    ]
    for (const [i, c] of cases.entries()) {
      await seedDossier(t.db, keys, { ...c, createdAt: day('2019-01-0' + (i + 1)), persons: [{ nir13: `18001750000${10 + i}`, birthDate: '1980-01-01', nom: `NOM${i}`, prenom: 'P' }] })
    }
    const { rows } = await t.db.query<Record<string, unknown>>(
      `select d.*, (select max(sc.transmitted_at) from state_changes sc where sc.dossier_id = d.id) as last_change,
              ${ANCHORS.map((a) => `(${dossierAnchorSql(a)})::text as "a_${a}"`).join(', ')}
       from dossiers d`,
    )
    expect(rows).toHaveLength(cases.length)
    for (const row of rows) {
      const facts = dossierAnchorFacts({
        transmittedAt: new Date(row.transmitted_at as string),
        createdAt: new Date(row.created_at as string),
        etatDroit: row.etat_droit as string,
        dateCloture: row.date_cloture as string | null,
        dateRefus: row.date_refus as string | null,
        dateSuspensionDroit: row.date_suspension_droit as string | null,
        dateSuspensionVersement: row.date_suspension_versement as string | null,
        transmissionState: row.transmission_state as 'transmitted',
        notTransmittedSince: row.not_transmitted_since as string | null,
        lastChangeAt: row.last_change ? new Date(row.last_change as string) : null,
      })
      for (const a of ANCHORS) expect([row.numdemrsa, a, row[`a_${a}`]]).toEqual([row.numdemrsa, a, anchorDay(a, facts)])
    }
    for (const [i, etat] of (['inscription', 'cessation', 'radiation'] as const).entries()) {
      await seedRegistration(t.db, { personKey: `k${i}`, etat, dateEtat: i === 2 ? null : '2025-06-0' + (i + 1), transmittedAt: new Date('2026-03-28T23:30:00Z') })
    }
    const r = await t.db.query<Record<string, unknown>>(
      `select r.*, (select max(sc.transmitted_at) from state_changes sc where sc.dossier_id is null and sc.person_key = r.person_key) as last_change,
              ${ANCHORS.map((a) => `(${registrationAnchorSql(a)})::text as "a_${a}"`).join(', ')}
       from france_travail_registrations r`,
    )
    for (const row of r.rows) {
      const facts = registrationAnchorFacts({
        transmittedAt: new Date(row.transmitted_at as string),
        createdAt: new Date(row.created_at as string),
        etat: row.etat as 'inscription',
        dateEtat: row.date_etat as string | null,
        lastChangeAt: row.last_change ? new Date(row.last_change as string) : null,
      })
      for (const a of ANCHORS) expect([row.person_key, a, row[`a_${a}`]]).toEqual([row.person_key, a, anchorDay(a, facts)])
    }
  })

  it('France Travail: active until the day before five months, archived on the day, destroyed six years after transmission', async () => {
    await seedRegistration(t.db, { personKey: 'ft-1', etat: 'inscription', dateEtat: '2026-01-10', transmittedAt: new Date('2026-01-15T22:50:00Z') })
    // 2026-01-15 23:50 in Paris: the anchor day is 2026-01-15.
    await run(day('2026-06-14'))
    expect(await count('france_travail_registrations')).toBe(1)
    await run(day('2026-06-15'))
    expect(await count('france_travail_registrations')).toBe(0)
    expect(await count('archive.france_travail_registrations')).toBe(1)
    const archived = (await t.db.query<Record<string, unknown>>('select * from archive.france_travail_registrations')).rows[0]!
    expect(archived).toMatchObject({ person_key: 'ft-1', etat: 'inscription', date_etat: '2026-01-10', identifiant_pe: 'FT0001', adresse: null, anchor_day: '2026-01-15' })
    expect(await count('archive.state_changes', 'person_key = $1', ['ft-1'])).toBe(1)
    expect(await count('state_changes', 'person_key = $1', ['ft-1'])).toBe(0)
    await run(day('2026-06-16'))
    expect(await count('archive.france_travail_registrations')).toBe(1)
    await run(day('2032-01-14'))
    expect(await count('archive.france_travail_registrations')).toBe(1)
    await run(day('2032-01-15'))
    expect(await count('archive.france_travail_registrations')).toBe(0)
    expect(await count('archive.state_changes')).toBe(0)
    const receipts = await t.db.query<{ details: { policy: string; phase: string; counts: Record<string, number>; ids: { count: number; sha256: string } } }>(
      `select details from audit_events where action = 'retention.destroy' and details->>'policy' = 'france-travail'`,
    )
    expect(receipts.rows).toHaveLength(1)
    expect(receipts.rows[0]!.details).toMatchObject({ phase: 'archive', counts: { 'archive.france_travail_registrations': 1, 'archive.state_changes': 1 }, ids: { count: 2 } })
    expect(receipts.rows[0]!.details.ids.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  // PGlite has one connection: an advisory lock held there is re-entrant for the run itself.
  it.skipIf(testBackend() !== 'postgres')('postpones archiving while one of the policy\'s flows is being loaded', async () => {
    await seedRegistration(t.db, { personKey: 'ft-busy', etat: 'inscription', dateEtat: '2026-01-10', transmittedAt: day('2026-01-15') })
    const locked = await withAdvisoryLock(t.db, 'job:ingest:france-travail', () => run(day('2026-06-15')))
    expect(locked.acquired && locked.value.policies.find((p) => p.id === 'france-travail')!.note).toMatch(/being loaded: archiving postponed/)
    expect(await count('france_travail_registrations')).toBe(1)
    await run(day('2026-06-15'))
    expect(await count('france_travail_registrations')).toBe(0)
  })

  it.skipIf(testBackend() !== 'postgres')('runs a policy naming more flows than the pool has connections (its flow locks share one connection)', async () => {
    const declarations = flowDeclarations(flowsDir)
    const rsaFlows = [...declarations.flows.values()].filter((f) => f.retention === 'rsa-beneficiaires').map((f) => f.id).sort()
    const small = await openPostgres(t.url!, { max: 3 })
    try {
      // One connection for the run's own work, one for the flow locks: a connection per lock would need one per flow.
      expect(rsaFlows.length).toBeGreaterThan(3)
      const closed = await seedDossier(t.db, keys, {
        numdemrsa: 'POOL1', etatDroit: '5', dateCloture: '2021-04-30', transmittedAt: day('2021-05-10'),
        persons: [{ nir13: '1800175000009', birthDate: '1980-01-09', nom: 'NOMP', prenom: 'PP' }],
      })
      const report = await Promise.race([
        runRetention({ db: small, keys, log, declarations }, { now: day('2024-06-01'), dryRun: false }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('retention did not finish in 30 s: pool exhausted')), 30_000).unref()),
      ])
      expect(report.policies.find((p) => p.id === 'rsa-beneficiaires')!.archived).toMatchObject({ dossiers: 1 })
      expect(await count('dossiers', 'id = $1', [closed.id])).toBe(0)
      // Every flow lock was released: another session takes each one at once.
      for (const flowId of rsaFlows) {
        expect((await withAdvisoryLock(t.db, `job:ingest:${flowId}`, async () => true)).acquired).toBe(true)
      }
    } finally {
      await small.close()
    }
  })

  it.skipIf(testBackend() !== 'postgres')('a policy postponed on its last flow releases the locks it had taken on the others', async () => {
    const declarations = flowDeclarations(flowsDir)
    const rsaFlows = [...declarations.flows.values()].filter((f) => f.retention === 'rsa-beneficiaires').map((f) => f.id).sort()
    const last = rsaFlows.at(-1)!
    const locked = await withAdvisoryLock(t.db, `job:ingest:${last}`, () =>
      runRetention({ db: t.db, keys, log, declarations }, { now: day('2024-06-01'), dryRun: false }))
    expect(locked.acquired && locked.value.policies.find((p) => p.id === 'rsa-beneficiaires')!.note).toMatch(/being loaded: archiving postponed/)
    for (const flowId of rsaFlows) {
      expect((await withAdvisoryLock(t.db, `job:ingest:${flowId}`, async () => true)).acquired).toBe(true)
    }
  })

  it('a re-transmission restarts a transmission clock', async () => {
    await seedRegistration(t.db, { personKey: 'ft-2', etat: 'inscription', dateEtat: '2026-01-10', transmittedAt: day('2026-01-15') })
    await retransmitRegistration(t.db, 'ft-2', day('2026-05-01'))
    await run(day('2026-06-15'))
    expect(await count('france_travail_registrations')).toBe(1)
    await run(day('2026-09-30'))
    expect(await count('france_travail_registrations')).toBe(1)
    await run(day('2026-10-01'))
    expect(await count('france_travail_registrations')).toBe(0)
  })

  it('RSA: an open right stays active; a closed one is archived 36 months after closure, keeping only what the archive keeps', async () => {
    const open = await seedDossier(t.db, keys, { numdemrsa: 'OPEN1', transmittedAt: day('2015-01-01'), persons: [{ nir13: '1800175000001', birthDate: '1980-01-01', nom: 'NOMA', prenom: 'PA' }] })
    const closed = await seedDossier(t.db, keys, {
      numdemrsa: 'CLOS1',
      etatDroit: '5',
      dateCloture: '2021-04-30',
      transmittedAt: day('2021-05-10'),
      persons: [
        { nir13: '1800175000002', birthDate: '1980-01-02', nom: 'NOMB', prenom: 'PB' },
        { nir13: '2800175000003', birthDate: '1981-01-03', nom: 'NOMC', prenom: 'PC', role: 'CJT' },
      ],
    })
    await run(day('2024-04-29'))
    expect(await count('dossiers')).toBe(2)
    await run(day('2024-04-30'))
    expect(await count('dossiers')).toBe(1)
    expect(await count('dossiers', 'id = $1', [open.id])).toBe(1)
    expect(await count('persons')).toBe(1)
    const ad = (await t.db.query<Record<string, unknown>>('select * from archive.dossiers')).rows[0]!
    expect(ad).toMatchObject({ id: closed.id, numdemrsa: 'CLOS1', etat_droit: '5', date_cloture: '2021-04-30', matricule: '1234567', adresse_nom_voie: null, motif_suspension_versement: null, anchor_day: '2021-04-30', policy_id: 'rsa-beneficiaires' })
    const persons = (await t.db.query<Record<string, unknown>>('select * from archive.persons order by id')).rows
    expect(persons.map((p) => [p.nom, p.sexe, p.anchor_day])).toEqual([['NOMB', null, '2021-04-30'], ['NOMC', null, '2021-04-30']])
    const members = (await t.db.query<Record<string, unknown>>('select * from archive.dossier_members order by person_id')).rows
    expect(members.map((m) => [m.role, m.ressources_mensuelles])).toEqual([['DEM', null], ['CJT', null]])
    expect(await count('archive.state_changes', 'dossier_id = $1', [closed.id])).toBe(1)
    await run(day('2027-04-29'))
    expect(await count('archive.dossiers')).toBe(1)
    await run(day('2027-04-30'))
    expect(await count('archive.dossiers')).toBe(0)
    expect(await count('archive.persons')).toBe(0)
    expect(await count('archive.dossier_members')).toBe(0)
    expect(await count('archive.state_changes')).toBe(0)
    expect(await count('dossiers')).toBe(1)
  })

  it('a dossier the organisme stopped transmitting is archived 36 months later', async () => {
    await seedDossier(t.db, keys, { numdemrsa: 'GONE1', transmissionState: 'not_transmitted', notTransmittedSince: '2022-09-01', transmittedAt: day('2022-08-01'), persons: [{ nir13: '1800175000004', birthDate: '1980-01-04', nom: 'NOMD', prenom: 'PD' }] })
    await run(day('2025-08-31'))
    expect(await count('dossiers')).toBe(1)
    await run(day('2025-09-01'))
    expect(await count('dossiers')).toBe(0)
    expect(await count('archive.dossiers')).toBe(1)
  })

  it('a person still in an active dossier stays in the active base when another of their dossiers is archived', async () => {
    const person = { nir13: '1800175000005', birthDate: '1980-01-05', nom: 'NOME', prenom: 'PE' }
    await seedDossier(t.db, keys, { numdemrsa: 'OLD1', etatDroit: '5', dateCloture: '2020-01-31', transmittedAt: day('2020-02-05'), persons: [person] })
    await seedDossier(t.db, keys, { numdemrsa: 'NEW1', organisme: 'MSA', flowId: 'msa-beneficiaires', transmittedAt: day('2024-01-01'), persons: [person] })
    await run(day('2024-01-02'))
    expect(await count('archive.dossiers')).toBe(1)
    expect(await count('archive.persons')).toBe(1)
    expect(await count('persons')).toBe(1)
    expect(await count('dossier_members')).toBe(1)
  })

  it('a legal hold lets data be archived but blocks its destruction until released; holds are audited', async () => {
    const held = await seedDossier(t.db, keys, { numdemrsa: 'HELD1', etatDroit: '5', dateCloture: '2015-01-31', transmittedAt: day('2015-02-05'), persons: [{ nir13: '1800175000006', birthDate: '1980-01-06', nom: 'NOMF', prenom: 'PF' }] })
    await seedRegistration(t.db, { personKey: held.persons[0]!.matchKey, etat: 'radiation', dateEtat: '2014-01-01', transmittedAt: day('2014-02-01') })
    await seedDossier(t.db, keys, { numdemrsa: 'FREE1', etatDroit: '5', dateCloture: '2015-01-31', transmittedAt: day('2015-02-05'), persons: [{ nir13: '1800175000007', birthDate: '1980-01-07', nom: 'NOMG', prenom: 'PG' }] })
    const hold = await addLegalHold(t.db, keys, { numdemrsa: 'HELD1', reason: 'contentieux devant le tribunal administratif', reference: 'TA-2026-001', actor: 'dpo', now: day('2026-01-01') })
    const dry = await runRetention({ db: t.db, keys, log, declarations: flowDeclarations(flowsDir) }, { now: day('2026-01-02'), dryRun: true })
    const rsaPlan = dry.policies.find((p) => p.id === 'rsa-beneficiaires')!
    expect(rsaPlan.archived.dossiers).toBe(2)
    expect(rsaPlan.alsoDestroyedOnArchiving).toBe(1)
    expect(await count('dossiers')).toBe(2)

    const report = await run(day('2026-01-02'))
    expect(report.ok).toBe(true)
    expect(await count('dossiers')).toBe(0)
    expect(await count('archive.dossiers')).toBe(1)
    expect(await count('archive.dossiers', "numdemrsa = 'HELD1'")).toBe(1)
    expect(await count('archive.persons')).toBe(1)
    // The held person's France Travail registration is due too, and held as well.
    expect(await count('archive.france_travail_registrations')).toBe(1)
    expect(report.policies.find((p) => p.id === 'rsa-beneficiaires')!.heldBack).toBe(1)

    await run(day('2026-01-03'))
    expect(await count('archive.dossiers')).toBe(1)
    await releaseLegalHold(t.db, { id: hold.id, actor: 'dpo', reason: 'jugement définitif', now: day('2026-02-01') })
    await run(day('2026-02-02'))
    expect(await count('archive.dossiers')).toBe(0)
    expect(await count('archive.persons')).toBe(0)
    expect(await count('archive.france_travail_registrations')).toBe(0)
    const [released] = await listLegalHolds(t.db, { all: true })
    expect(released).toMatchObject({ id: hold.id, numdemrsa: null, reference: 'TA-2026-001', releasedBy: 'dpo' })
    const actions = (await t.db.query<{ action: string; subject: string | null }>(`select action, subject from audit_events where action like 'retention.hold.%' order by seq`)).rows
    expect(actions).toEqual([
      { action: 'retention.hold.add', subject: hold.dossierSubject },
      { action: 'retention.hold.release', subject: hold.dossierSubject },
    ])
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  it('refuses a hold without a reason or on an unknown dossier', async () => {
    await expect(addLegalHold(t.db, keys, { numdemrsa: 'NOPE', reason: 'contentieux en cours', actor: 'dpo', now: day('2026-01-01') })).rejects.toThrow(/no dossier with this NUMDEMRSA/)
    await seedDossier(t.db, keys, { numdemrsa: 'X1', transmittedAt: day('2025-01-01'), persons: [] })
    await expect(addLegalHold(t.db, keys, { numdemrsa: 'X1', reason: ' ', actor: 'dpo', now: day('2026-01-01') })).rejects.toThrow(/needs a reason/)
  })

  it('archive show: audited with its reason before anything is returned; refused without a reason', async () => {
    await seedDossier(t.db, keys, { numdemrsa: 'SHOW1', etatDroit: '5', dateCloture: '2020-01-31', transmittedAt: day('2020-02-05'), persons: [{ nir13: '1800175000008', birthDate: '1980-01-08', nom: 'NOMH', prenom: 'PH' }] })
    await run(day('2023-02-01'))
    await expect(showArchivedDossier(t.db, keys, { numdemrsa: 'SHOW1', reason: 'x', actor: 'dpo', now: day('2023-02-02') })).rejects.toThrow(/needs a reason/)
    expect(await count('audit_events', "action = 'archive.show'")).toBe(0)
    const shown = await showArchivedDossier(t.db, keys, { numdemrsa: 'SHOW1', reason: 'recours contentieux n° 2023-17', actor: 'dpo', now: day('2023-02-02') })
    expect(shown.fields).toMatchObject({ 'dossier.numdemrsa': 'SHOW1', 'dossier.etatDroit': '5', 'dossier.dateCloture': '2020-01-31' })
    expect(shown.fields['adresse.nomVoie']).toBeUndefined()
    expect(shown.members[0]!.fields).toMatchObject({ 'personne.nom': 'NOMH', 'personne.nir': '180017500000800', 'personne.role': 'DEM' })
    const audit = (await t.db.query<{ actor: string; outcome: string; subject: string; details: { reason: string } }>(`select actor, outcome, subject, details from audit_events where action = 'archive.show'`)).rows
    expect(audit).toHaveLength(1)
    // The reason is free text: the chained event keeps only its keyed digest, the text itself sits in audit_texts.
    expect(audit[0]).toMatchObject({ actor: 'dpo', outcome: 'granted', details: { texts: { reason: expect.any(String) } } })
    expect(JSON.stringify(audit[0]!.details)).not.toContain('recours')
    expect((await t.db.query<{ body: string }>(`select body from audit_texts where field = 'reason'`)).rows.map((r) => r.body)).toEqual(['recours contentieux n° 2023-17'])
    expect(audit[0]!.subject).toMatch(/^d_/)
  })

  it('purges the audit log after one year and the chain still verifies', async () => {
    const { appendAuditEvents } = await import('../../src/audit/audit-log.ts')
    const ev = (d: Date, i: number) => ({ occurredAt: d, actor: 'u', organisation: null, purpose: 'p', action: 'api.read', subject: `p_${i}`, outcome: 'granted' as const, requestId: null, clientAddress: null, details: {} })
    await t.db.transaction((tx) =>
      appendAuditEvents(tx, [{ ...ev(day('2025-01-01'), 1), texts: { reason: 'motif purgé avec son événement' } }, ev(day('2025-03-09'), 2), ev(new Date('2025-03-09T23:30:00Z'), 3), { ...ev(day('2025-06-01'), 4), texts: { reason: 'motif gardé' } }]),
    )
    // 2025-03-09 23:30Z is 2025-03-10 in Paris: kept on 2026-03-09... and the two on 2025-03-09 or before go.
    const report = await run(day('2026-03-09'), { chunkSize: 1 })
    expect(report.policies.find((p) => p.id === 'audit-log')!.destroyed).toEqual({ audit_events: 2 })
    const left = (await t.db.query<{ subject: string | null; action: string }>('select subject, action from audit_events order by seq')).rows
    expect(left.filter((e) => e.action === 'api.read').map((e) => e.subject)).toEqual(['p_3', 'p_4'])
    expect(await count('audit_truncations')).toBe(2)
    // Free texts leave with their events.
    expect((await t.db.query<{ body: string }>('select body from audit_texts where body like $1', ['motif %'])).rows.map((r) => r.body)).toEqual(['motif gardé'])
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })

  it('keeps the retention receipts of a purged audit log, each still matching its hash', async () => {
    const { appendAuditEvents } = await import('../../src/audit/audit-log.ts')
    const { retentionReceipt } = await import('../../src/retention/receipt.ts')
    const { verifyRetentionReceipts } = await import('../../src/audit/verify-chain.ts')
    const access = { occurredAt: day('2025-01-01'), actor: 'u', organisation: null, purpose: 'p', action: 'api.read', subject: 'p_1', outcome: 'granted' as const, requestId: null, clientAddress: null, details: {} }
    const receipt = retentionReceipt({
      action: 'retention.destroy',
      runId: 'run-2025',
      policyId: 'rsa-beneficiaires',
      phase: 'archive',
      anchorCutoff: '2018-01-31',
      today: '2025-01-02',
      counts: { 'archive.dossiers': 3 },
      keys: ['dossiers:1', 'dossiers:2', 'dossiers:3'],
      occurredAt: day('2025-01-02'),
      chunk: 0,
    })
    const [, written] = await t.db.transaction((tx) => appendAuditEvents(tx, [access, receipt]))
    await run(day('2026-03-09'))
    // Both events left the log; the receipt alone was kept, as it was in the chain.
    expect(await count('audit_events', `action = 'api.read'`)).toBe(0)
    expect(await count('audit_events', `seq = $1`, [written!.seq])).toBe(0)
    const kept = (await t.db.query<{ seq: number; hash: string; subject: string | null }>(`select seq, hash, subject from retention_receipts where seq = $1`, [written!.seq])).rows
    expect(kept).toEqual([{ seq: written!.seq, hash: written!.hash, subject: null }])
    // Receipts of this run's own purge stay in the log for the next one.
    expect(await verifyRetentionReceipts(t.db)).toEqual({ ok: true, receipts: 1 })
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
    // A receipt changed afterwards is caught.
    await t.db.query(`update retention_receipts set details = jsonb_set(details, '{counts,archive.dossiers}', '2') where seq = $1`, [written!.seq])
    expect(await verifyRetentionReceipts(t.db)).toEqual({ ok: false, receipts: 0, brokenAt: written!.seq })
  })

  it('purges rejections past their policy, and says so in a receipt', async () => {
    const { seedFile } = await import('../helpers/retention-seed.ts')
    const oldFile = await seedFile(t.db, 'caf-beneficiaires', day('2025-10-01'))
    const newFile = await seedFile(t.db, 'caf-beneficiaires', day('2025-12-01'))
    for (const f of [oldFile, newFile]) await t.db.query(`insert into rejections (file_id, record_index, field, rule) values ($1, 1, 'NIR', 'nir.key')`, [f])
    await run(day('2026-01-01'))
    expect((await t.db.query<{ file_id: number }>('select file_id from rejections')).rows).toEqual([{ file_id: newFile }])
    expect(await count('audit_events', "action = 'retention.destroy' and details->>'policy' = 'rejections'")).toBe(1)
  })

  it('plans a future day without changing anything (dry run, as of)', async () => {
    await seedRegistration(t.db, { personKey: 'ft-3', etat: 'inscription', dateEtat: '2026-01-10', transmittedAt: day('2026-01-15') })
    const plan = planRetention(loadRetentionPolicies(flowsDir), day('2026-06-15'))
    const report = await runRetention({ db: t.db, keys, log, declarations: flowDeclarations(flowsDir) }, { now: day('2026-06-15'), dryRun: true })
    const ft = report.policies.find((p) => p.id === 'france-travail')!
    expect(ft).toMatchObject({ archived: { france_travail_registrations: 1 }, active: { anchorCutoff: plan.cutoffs.get('france-travail')!.activeAnchorCutoff } })
    expect(await count('france_travail_registrations')).toBe(1)
    expect(await count('audit_events')).toBe(0)
  })
})
