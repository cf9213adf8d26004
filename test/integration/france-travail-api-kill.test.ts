import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upsertAssignments } from '../../src/assignments/assignments.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { listOutbox } from '../../src/outbox/queries.ts'
import { startFranceTravailSimulator, type FranceTravailSimulator } from '../../src/simulators/france-travail/france-travail-simulator.ts'
import { seedFile, seedOrganisation, seedPerson, type SeededPerson } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'

/**
 * The connector process killed (SIGKILL) mid-batch and started again: no person looked up twice in the run, no call
 * beyond the quota, no outbox row lost, no orientation recorded twice by the receiver. PostgreSQL only (two
 * processes share the database).
 */
describe.skipIf(testBackend() !== 'postgres' || postgresUnavailable())('France Travail connector killed mid-batch', () => {
  let t: TestDatabase
  let sim: FranceTravailSimulator
  const keys = testKeys()
  const persons: SeededPerson[] = []
  const N = 40
  const QUOTA = 20
  const lookups = () => sim.stats().calls['/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir'] ?? 0
  const spawnChild = (mode: 'lookup' | 'deliver'): ChildProcess =>
    spawn(process.execPath, ['--import', 'tsx', 'test/helpers/france-travail-api-child.ts'], {
      env: { ...process.env, DATABASE_URL: t.url!, SIM_URL: sim.url, SIM_TOKEN_URL: sim.tokenUrl, SIM_CLIENT_ID: sim.clientId, SIM_QUOTA: String(QUOTA), FT_API_CLIENT_SECRET: sim.clientSecret, CHILD_MODE: mode },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  const stderr: string[] = []
  const exited = (child: ChildProcess) => {
    child.stderr?.on('data', (d) => stderr.push(String(d)))
    return new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  }
  const until = async (cond: () => boolean, ms = 60_000) => {
    const end = Date.now() + ms
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out waiting')
      await new Promise((r) => setTimeout(r, 5))
    }
  }

  beforeAll(async () => {
    t = await createTestDatabase()
    const fileId = await seedFile(t.db)
    for (let n = 1; n <= N; n++) persons.push(await seedPerson(t.db, keys, fileId, { n, numdemrsa: String(30_000_000 + n).padStart(11, '0') }))
    sim = await startFranceTravailSimulator({
      quotaPerSecond: QUOTA,
      faults: { latencyMs: 30 },
      persons: persons.map((p, i) => ({ nir: p.nir13, dateNaissance: p.dateNaissance, identifiant: `FTK${i + 1}` })),
    })
  })
  afterAll(async () => {
    await sim?.close()
    await t?.drop()
  })

  it('resumes the lookup run after a SIGKILL without calling anyone twice nor beyond the quota', async () => {
    const first = spawnChild('lookup')
    await until(() => lookups() >= 15)
    first.kill('SIGKILL')
    await exited(first)
    const second = spawnChild('lookup')
    expect(await exited(second)).toBe(0)
    const { rows } = await t.db.query<{ outcome: string; n: number }>('select outcome, count(*)::int as n from france_travail_lookups group by outcome')
    const by = Object.fromEntries(rows.map((r) => [r.outcome, r.n]))
    expect(by.pending ?? 0).toBe(0)
    expect(by.calling ?? 0).toBe(0)
    expect((by.found ?? 0) + (by.interrupted ?? 0)).toBe(N)
    expect(sim.stats().maxLookupsForOnePerson).toBe(1)
    expect(lookups()).toBeLessThanOrEqual(N)
    expect(sim.stats().beyondQuota).toBe(0)
  }, 120_000)

  it('delivers every committed orientation exactly once from the receiver\'s point of view after a killed sender', async () => {
    const org = await seedOrganisation(t.db, 1, 'france-travail')
    const { rows } = await t.db.query<{ id: number }>(`insert into users (email, display_name, role, organisation_id) values ('a@cd.example', 'A', 'admin', $1) returning id`, [org.id])
    await t.db.transaction((tx) =>
      upsertAssignments(tx, persons.map((p) => ({ personId: p.personId, organisationId: org.id, referentUserId: null, startsOn: '2026-11-01', endsOn: null })), { source: 'admin', userId: Number(rows[0]!.id) }),
    )
    expect(await listOutbox(t.db, { state: 'pending', limit: 1000 })).toHaveLength(N)
    const first = spawnChild('deliver')
    await until(() => sim.stats().orientationsRecorded >= 8)
    first.kill('SIGKILL')
    await exited(first)
    const second = spawnChild('deliver')
    expect(await exited(second), stderr.join('').slice(-2000)).toBe(0)
    expect(await listOutbox(t.db, { state: 'delivered', limit: 1000 })).toHaveLength(N)
    expect(sim.stats().orientationsRecorded).toBe(N)
    for (let i = 1; i <= N; i++) expect(sim.received(`FTK${i}`)).toHaveLength(1)
    expect(sim.stats().beyondQuota).toBe(0)
  }, 120_000)
})
