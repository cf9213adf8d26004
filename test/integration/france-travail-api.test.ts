import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { upsertAssignments } from '../../src/assignments/assignments.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { AccessTokenCache } from '../../src/exchange/france-travail-api/access-token.ts'
import { FranceTravailApiFlowSchema, type FranceTravailApiFlow } from '../../src/exchange/france-travail-api/api-flow.ts'
import { runFranceTravailApiFlow } from '../../src/exchange/france-travail-api/api-jobs.ts'
import type { ClientDeps } from '../../src/exchange/france-travail-api/api-client.ts'
import { findPersonByFranceTravailIdentifier, lookUpPersons, type ApiJobDeps } from '../../src/exchange/france-travail-api/look-up-persons.ts'
import { lookUpPerson, sendOrientation } from '../../src/exchange/france-travail-api/operations.ts'
import { QuotaLimiter } from '../../src/exchange/france-travail-api/quota-limiter.ts'
import { readFranceTravailOrientations, sweepFranceTravailApiData } from '../../src/exchange/france-travail-api/read-orientations.ts'
import { registry } from '../../src/metrics/metrics.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'
import { storedFieldIds } from '../../src/purposes/stored-fields.ts'
import { deliverOrientations } from '../../src/outbox/deliver-orientations.ts'
import { listOutbox } from '../../src/outbox/queries.ts'
import { replayDeadMessages } from '../../src/outbox/replay-dead.ts'
import { startFranceTravailSimulator, type FranceTravailSimulator, type SimulatedPerson } from '../../src/simulators/france-travail/france-travail-simulator.ts'
import { seedFile, seedOrganisation, seedPerson, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/**
 * The France Travail connector against the simulator over loopback: lookups (found, S003, ID_NON_RECONNU), token
 * expiry, 429 storms, 5xx, timeouts, an interrupted run resumed, orientation reads, the outbox delivered exactly once
 * from the receiver's point of view; and no personal value in any log line or error.
 */
describe.skipIf(postgresUnavailable())('France Travail partner APIs against the simulator', () => {
  let t: TestDatabase
  let sim: FranceTravailSimulator
  const keys = testKeys()
  const persons: SeededPerson[] = []
  const logLines: string[] = []
  const log = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done() } }))
  const QUOTA = 100
  const N = 60
  let orgFt: { id: number }
  let orgCcas: { id: number }

  const flowFor = (overrides: Record<string, unknown> = {}): FranceTravailApiFlow => ({
    id: 'france-travail-api',
    ...FranceTravailApiFlowSchema.parse({
      title: 'test',
      producer: 'France Travail',
      source: {
        type: 'francetravail-api',
        token_url: sim.tokenUrl,
        client_id: sim.clientId,
        client_secret_env: 'FT_API_CLIENT_SECRET',
        scopes: ['api_rechercher-usagerv2'],
        base_url: sim.url,
        quota_per_second: QUOTA,
        timeout_ms: 300,
        max_attempts: 6,
        backoff_ms: 20,
        concurrency: 8,
        batch_size: 25,
        ...overrides,
      },
      schedule: '0 5 * * *',
      retention: 'france-travail-api',
      outbound: {
        purpose: 'instruction',
        fields: ['parcours', 'origine', 'organisme'],
        parcours_by_organisation_type: { 'france-travail': 'PED', ccas: 'PSP', association: 'PSO' },
      },
      outbox_max_attempts: 3,
    }),
  })
  const clientFor = (flow: FranceTravailApiFlow): ClientDeps => ({
    flowId: flow.id,
    source: flow.source,
    tokens: new AccessTokenCache(flow.source, sim.clientSecret),
    limiter: new QuotaLimiter(flow.source.quota_per_second),
  })
  const depsFor = (flow = flowFor()): ApiJobDeps => ({ db: t.db, keys, log, flow, client: clientFor(flow), purpose: 'instruction' })
  // What the shipped purposes store (mappings/): the orientation fields accompagnement-rsa and orientation declare.
  const shippedStored = storedFieldIds(loadPurposes(new URL('../../mappings', import.meta.url).pathname))
  const lookupCalls = () => sim.stats().calls['/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir'] ?? 0
  const identifiantOf = (n: number) => `FT${String(n).padStart(8, '0')}`

  beforeAll(async () => {
    t = await createTestDatabase()
    const fileId = await seedFile(t.db)
    for (let n = 1; n <= N; n++) persons.push(await seedPerson(t.db, keys, fileId, { n, numdemrsa: String(20_000_000 + n).padStart(11, '0') }))
    // Not subject to droits et devoirs, and a closed right: never looked up.
    await seedPerson(t.db, keys, fileId, { n: 900, soumisDroitsDevoirs: false })
    await seedPerson(t.db, keys, fileId, { n: 901, etatDroit: '6' })
    orgFt = await seedOrganisation(t.db, 1, 'france-travail')
    orgCcas = await seedOrganisation(t.db, 2, 'ccas')
    const simulated: SimulatedPerson[] = []
    for (const [i, p] of persons.entries()) {
      const n = i + 1
      if (n % 7 === 0) continue // not known to France Travail: ID_NON_RECONNU
      simulated.push({
        nir: p.nir13,
        dateNaissance: p.dateNaissance,
        identifiant: identifiantOf(n),
        several: n % 5 === 0, // S003
        ...(n % 3 === 0 ? { orientation: { parcours: 'PSP', organisme: 'CD', statut: 'VALIDE', etat: 'ACTIF', origine: 'INSCRIPTION_AUTO_CAF', date_entree_parcours: '2026-01-10', structure: { libelle_structure: 'AGENCE' } } } : {}),
        ...(n === 9 ? { orientation: { parcours: 'XXX', date_entree_parcours: 'pas une date' } } : {}),
      })
    }
    sim = await startFranceTravailSimulator({ quotaPerSecond: QUOTA, persons: simulated })
  })
  afterAll(async () => {
    await sim?.close()
    await t?.drop()
  })
  afterEach(() => {
    sim.faults.throttleNext = 0
    sim.faults.failNext = 0
    sim.faults.slowNext = 0
    sim.faults.tokenTtlSeconds = 1499
  })

  it('resumes an interrupted run without calling anyone twice, and records found / several / not recognised per person', async () => {
    const deps = depsFor()
    // A run stopped after its first batch was claimed and partly called.
    const abort = new AbortController()
    const before = lookupCalls()
    const watch = setInterval(() => {
      if (lookupCalls() - before >= 10) abort.abort()
    }, 2)
    const first = await lookUpPersons(deps, abort.signal).finally(() => clearInterval(watch))
    expect(first.planned).toBe(N)
    // A process killed right after claiming a batch: rows left `calling`, never sent.
    const killed = await t.db.query<{ person_id: number }>(
      `update france_travail_lookups set outcome = 'calling'
       where run_id = $1 and person_id in (select person_id from france_travail_lookups where run_id = $1 and outcome = 'pending' order by person_id desc limit 3)
       returning person_id`,
      [first.runId],
    )
    const second = await lookUpPersons(deps)
    expect(second.resumed).toBe(true)
    expect(second.runId).toBe(first.runId)
    const { rows } = await t.db.query<{ outcome: string; n: number }>('select outcome, count(*)::int as n from france_travail_lookups where run_id = $1 group by outcome', [first.runId])
    const by = Object.fromEntries(rows.map((r) => [r.outcome, r.n]))
    // Every planned person was called at most once in this run: calls = decided rows (interrupted ones excluded).
    const decided = (by.found ?? 0) + (by.several ?? 0) + (by.not_recognised ?? 0) + (by.failed ?? 0)
    expect(lookupCalls() - before).toBeLessThanOrEqual(decided + (by.interrupted ?? 0) - killed.rowCount)
    expect(by.interrupted ?? 0).toBeGreaterThanOrEqual(killed.rowCount)
    expect(by.pending ?? 0).toBe(0)
    expect(by.calling ?? 0).toBe(0)
    // Outcomes per person match the simulator's population.
    const outcome = async (n: number) =>
      (await t.db.query<{ outcome: string; code: string }>('select outcome, code from france_travail_lookups where run_id = $1 and person_id = $2', [first.runId, persons[n - 1]!.personId])).rows[0]
    for (const n of [1, 2, 4, 8]) {
      const o = await outcome(n)
      if (o!.outcome !== 'interrupted') expect(o).toEqual({ outcome: 'found', code: 'S001' })
    }
    for (const n of [5, 10]) if ((await outcome(n))!.outcome !== 'interrupted') expect((await outcome(n))!.code).toBe('S003')
    for (const n of [7, 14]) if ((await outcome(n))!.outcome !== 'interrupted') expect(await outcome(n)).toEqual({ outcome: 'not_recognised', code: 'ID_NON_RECONNU' })
    // The persons not subject to droits et devoirs or without an open right were never planned.
    expect(sim.stats().beyondQuota).toBe(0)
  })

  it('links found persons through a keyed index of the France Travail identifier, and a new run takes only the interrupted ones', async () => {
    const found = await t.db.query<{ person_id: number }>(`select person_id from france_travail_lookups where outcome = 'found' order by person_id limit 1`)
    const n = persons.findIndex((p) => p.personId === Number(found.rows[0]!.person_id)) + 1
    expect(await findPersonByFranceTravailIdentifier(t.db, keys.index, identifiantOf(n))).toBe(persons[n - 1]!.personId)
    const { rows } = await t.db.query<{ identifier_index: string }>('select identifier_index from france_travail_links')
    for (const r of rows) expect(r.identifier_index).not.toMatch(/^FT\d+$/)
    const third = await lookUpPersons(depsFor())
    expect(third.resumed).toBe(false)
    const { rows: interrupted } = await t.db.query<{ n: number }>(`select count(*)::int as n from france_travail_lookups where outcome = 'interrupted'`)
    // Only the interrupted (never decided) persons are planned again; several / not recognised wait lookup_retry_days.
    expect(third.planned).toBe(interrupted[0]!.n)
  })

  it('renews an expired token mid-run and rides out 429 storms (Retry-After), 5xx and timeouts without exceeding the quota', async () => {
    await t.db.query('delete from france_travail_lookups')
    await t.db.query('delete from france_travail_links')
    sim.faults.tokenTtlSeconds = 1
    sim.faults.throttleNext = 15
    sim.faults.retryAfterSeconds = 1
    sim.faults.failNext = 6
    sim.faults.slowNext = 3
    sim.faults.slowMs = 600 // beyond the 300 ms timeout
    const tokensBefore = sim.stats().tokensIssued
    // France Travail revokes the access tokens mid-run, before their announced expiry: 401, renewed at once. The
    // simulator revokes them at its 20th request from now, so the 401 happens whatever the machine's speed.
    sim.faults.revokeTokensAfterRequests = 20
    const run = await lookUpPersons(depsFor()).finally(() => {
      sim.faults.revokeTokensAfterRequests = 0
    })
    expect(run.failed).toBe(0)
    expect(run.found + run.several + run.notRecognised).toBe(N)
    expect(sim.stats().tokensIssued - tokensBefore).toBeGreaterThan(1)
    expect(sim.stats().beyondQuota).toBe(0)
    expect(sim.stats().maxInOneSecond).toBeLessThanOrEqual(QUOTA)
    const metrics = await registry.getSingleMetricAsString('passerelle_francetravail_api_calls_total')
    expect(metrics).toMatch(/endpoint="rechercher-usager",outcome="429"/)
    expect(metrics).toMatch(/outcome="timeout"/)
    expect(metrics).toMatch(/outcome="401"/)
  })

  it('reads France Travail orientations with provenance; an answer that does not validate is a rejection row without values', async () => {
    const counts = await readFranceTravailOrientations({ ...depsFor(), stored: shippedStored })
    expect(counts.read).toBeGreaterThan(0)
    const { rows } = await t.db.query<{ person_id: number; parcours: string; call_id: string; read_at: Date }>('select person_id, parcours, call_id, read_at from france_travail_orientations')
    expect(rows.length).toBe(counts.read)
    for (const r of rows) {
      expect(r.parcours).toBe('PSP')
      expect(r.call_id).toMatch(/^[0-9a-f-]{36}$/)
    }
    expect(counts.rejected).toBe(1)
    const rejections = await t.db.query<{ field: string; rule: string }>('select field, rule from france_travail_api_rejections')
    expect(rejections.rows.map((r) => r.field).sort()).toEqual(['date_entree_parcours', 'parcours'])
    expect(JSON.stringify(rejections.rows)).not.toMatch(/XXX|pas une date/)
  })

  it('writes the outbox row in the transaction of the orientation change, and never when it rolls back', async () => {
    const p = persons[0]!
    await adminUser()
    await expect(
      t.db.transaction(async (tx) => {
        await upsertAssignments(tx, [{ personId: p.personId, organisationId: orgFt.id, referentUserId: null, startsOn: '2026-11-01', endsOn: null }], { source: 'admin', userId: adminId! })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect((await listOutbox(t.db, { limit: 100 })).length).toBe(0)
    for (const n of [1, 2, 4]) {
      await t.db.transaction((tx) =>
        upsertAssignments(tx, [{ personId: persons[n - 1]!.personId, organisationId: orgFt.id, referentUserId: null, startsOn: '2026-11-01', endsOn: null }], { source: 'admin', userId: adminId! }),
      )
    }
    // Person 1 then changes to a CCAS (a second decision, in order); a re-sent identical orientation adds nothing.
    await t.db.transaction((tx) => upsertAssignments(tx, [{ personId: persons[0]!.personId, organisationId: orgCcas.id, referentUserId: null, startsOn: '2026-12-01', endsOn: null }], { source: 'admin', userId: adminId! }))
    await t.db.transaction((tx) => upsertAssignments(tx, [{ personId: persons[0]!.personId, organisationId: orgCcas.id, referentUserId: null, startsOn: '2026-12-01', endsOn: null }], { source: 'admin', userId: adminId! }))
    const pending = await listOutbox(t.db, { state: 'pending', limit: 100 })
    expect(pending.length).toBe(4)
    expect(JSON.stringify(pending.map((m) => m.payload))).not.toMatch(/\d{13}|NOM-|Prénom-/)
  })

  it('delivers each orientation exactly once from the receiver\'s point of view, in order, even after a sender killed before its commit', async () => {
    // A sender that got France Travail's 201 for person 2 and was killed before marking the message delivered.
    const flow = flowFor()
    const client = clientFor(flow)
    const m2 = (await listOutbox(t.db, { state: 'pending', limit: 100 })).find((m) => m.personId === persons[1]!.personId)!
    const found = await lookUpPerson(client, { nir: persons[1]!.nir13, birthDate: persons[1]!.dateNaissance })
    if (found.outcome !== 'found') throw new Error('person 2 should be found')
    await sendOrientation(client, found.userToken, { parcours: 'PED', origine: 'INSCRIPTION_AUTO_CAF', organisme: 'CD' }, m2.idempotencyKey)
    sim.faults.failNext = 4
    const first = await deliverOrientations(depsFor(flow))
    const second = await deliverOrientations(depsFor(flow))
    await t.db.query(`update outbox_messages set next_attempt_at = now() where state = 'pending'`)
    const third = await deliverOrientations(depsFor(flow))
    expect(first.delivered + second.delivered + third.delivered).toBe(4)
    expect(sim.stats().orientationReplays).toBeGreaterThanOrEqual(1)
    // Person 1's two decisions arrived in order; person 2's once.
    expect(sim.received(identifiantOf(1)).map((o) => o.parcours)).toEqual(['PED', 'PSP'])
    expect(sim.received(identifiantOf(2))).toHaveLength(1)
    expect(new Set(sim.receivedKeys()).size).toBe(sim.receivedKeys().length)
    // Only the declared fields left.
    for (const o of sim.received(identifiantOf(1))) expect(Object.keys(o).sort()).toEqual(['organisme', 'origine', 'parcours'])
    expect(sim.received(identifiantOf(1))[1]!.origine).toBe('INSCRIPTION_AUTO_CAF')
  })

  it('dead-letters a message after N attempts; an admin replays it', async () => {
    // Person 7 is unknown to France Travail: the lookup before the write fails each time.
    await t.db.transaction((tx) => upsertAssignments(tx, [{ personId: persons[6]!.personId, organisationId: orgFt.id, referentUserId: null, startsOn: '2026-11-01', endsOn: null }], { source: 'admin', userId: adminId! }))
    for (let i = 0; i < 3; i++) {
      await t.db.query(`update outbox_messages set next_attempt_at = now() where state = 'pending'`)
      await deliverOrientations(depsFor())
    }
    const dead = await listOutbox(t.db, { state: 'dead', limit: 10 })
    expect(dead).toHaveLength(1)
    expect(dead[0]!.lastError).toBe('lookup_ID_NON_RECONNU')
    expect(await replayDeadMessages(t.db, { actor: 'cli:test', now: new Date() })).toBe(1)
    expect(await listOutbox(t.db, { state: 'pending', limit: 10 })).toHaveLength(1)
    const depth = await registry.getSingleMetricAsString('passerelle_outbox_messages')
    expect(depth).toMatch(/state="dead"} 1/)
  })

  it('traces every call that sent a NIR or a decision as an audit event with the subject pseudonym, purpose and outcome', async () => {
    const { rows } = await t.db.query<{ action: string; subject: string; purpose: string; outcome: string; details: unknown }>(
      `select action, subject, purpose, outcome, details from audit_events where action like 'francetravail.%'`,
    )
    const lookups = rows.filter((r) => r.action === 'francetravail.rechercher-usager')
    const sends = rows.filter((r) => r.action === 'francetravail.orientation.envoi')
    expect(lookups.length).toBeGreaterThanOrEqual(N)
    expect(sends.length).toBeGreaterThanOrEqual(4)
    for (const r of rows) {
      expect(r.subject).toMatch(/^p_/)
      expect(r.purpose).toBe('instruction')
      expect(['done', 'failed']).toContain(r.outcome)
    }
    expect(JSON.stringify(rows)).not.toMatch(/\d{13}|NOM-|Prénom-|19\d\d-01-15/)
  })

  it('runs the whole API job and leaves no personal value in any log line or error', async () => {
    const flow = flowFor()
    const counts = await runFranceTravailApiFlow({ db: t.db, keys, log, env: { FT_API_CLIENT_SECRET: sim.clientSecret }, stored: shippedStored }, flow)
    expect(counts.lookupsPlanned).toBeGreaterThanOrEqual(0)
    await expect(runFranceTravailApiFlow({ db: t.db, keys, log, env: {}, stored: shippedStored }, flow)).rejects.toThrow(/FT_API_CLIENT_SECRET/)
    const all = logLines.join('\n')
    for (const p of persons) {
      expect(all).not.toContain(p.nir13)
      expect(all).not.toContain(p.dateNaissance)
    }
    expect(all).not.toMatch(/NOM-\d|Prénom-\d|jetonUsager/)
  })

  it('sweeps what France Travail sent and what was delivered past its time, with a destruction receipt holding no value', async () => {
    const counts = async () =>
      (
        await t.db.query<{ o: number; m: number; r: number }>(
          `select (select count(*)::int from france_travail_orientations) as o,
                  (select count(*)::int from outbox_messages where state = 'delivered') as m,
                  (select count(*)::int from france_travail_api_rejections) as r`,
        )
      ).rows[0]!
    const before = await counts()
    expect(before.o + before.m + before.r).toBeGreaterThan(0)
    const head = Number((await t.db.query<{ s: number }>('select max(seq) as s from audit_events')).rows[0]!.s)
    const later = new Date(Date.now() + 400 * 86_400_000)
    const swept = await sweepFranceTravailApiData({ db: t.db, flow: flowFor() }, later)
    expect([swept.orientations, swept.outbox, swept.rejections]).toEqual([before.o, before.m, before.r])
    expect(await counts()).toEqual({ o: 0, m: 0, r: 0 })
    const { rows } = await t.db.query<{ action: string; details: { policy: string; counts: Record<string, number>; ids: { count: number; sha256: string } } }>(
      `select action, details from audit_events where seq > $1 and action = 'retention.destroy'`,
      [head],
    )
    expect(rows).toHaveLength(1)
    expect(rows[0]!.details.policy).toBe('france-travail-api')
    expect(rows[0]!.details.counts).toMatchObject({ france_travail_orientations: before.o, outbox_messages: before.m, france_travail_api_rejections: before.r })
    expect(rows[0]!.details.ids.count).toBe(before.o + before.m + before.r + swept.lookupRuns)
    expect(JSON.stringify(rows)).not.toMatch(/\d{13}|NOM-|Prénom-|PSP|FT\d{8}/)
    // Nothing left to sweep: no empty receipt.
    await sweepFranceTravailApiData({ db: t.db, flow: flowFor() }, later)
    expect((await t.db.query(`select 1 from audit_events where seq > $1 and action = 'retention.destroy'`, [head])).rows).toHaveLength(1)
  })

  let adminId: number | undefined
  async function adminUser(): Promise<number> {
    const { rows } = await t.db.query<{ id: number }>(
      `insert into users (email, display_name, role, organisation_id) values ('admin@cd.example', 'Admin', 'admin', $1) returning id`,
      [orgCcas.id],
    )
    adminId = Number(rows[0]!.id)
    return adminId
  }
})
