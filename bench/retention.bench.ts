/**
 * `npm run bench:retention`: 1,000,000 generated persons (600,000 closed RSA dossiers, 1,000,000 members, 600,000
 * state changes) past their active phase. Measures the archive rate and the destroy rate (rows/s, every table
 * counted), and the partner API's p99 on GET /v1/beneficiaires/{id} while each phase runs, in the same run against:
 * its p99 idle (two windows, before and after the run, pooled), and its p99 beside one PostgreSQL backend busy on
 * pure CPU with the run's pacing (what any busy neighbour costs the API on this machine). Needs PostgreSQL:
 * PASSERELLE_BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; a fresh database
 * is created and dropped.
 *
 * Knobs: BENCH_PERSONS (default 1000000), BENCH_CHUNK (rows per transaction, default the product's 2000),
 * BENCH_API_CLIENTS (concurrent API clients, default 4), BENCH_IDLE_SECONDS (each idle and baseline window, default
 * 30), BENCH_PAUSE_MS (smallest pause between chunks, default 0), BENCH_PAUSE_RATIO (pause after a chunk as a share
 * of its duration, default the product's 0.5).
 */
import { loadDeclarations } from '../src/declarations/load-declarations.ts'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { AuditWriter } from '../src/audit/audit-log.ts'
import { nirIndex, personMatchKey } from '../src/crypto/blind-index.ts'
import { useAuditKeys } from '../src/audit/audit-keys.ts'
import { testKeys } from '../src/crypto/keys.ts'
import { encryptNir } from '../src/crypto/nir-cipher.ts'
import type { Db } from '../src/db/db.ts'
import { migrate } from '../src/db/migrate.ts'
import { openPostgres } from '../src/db/postgres.ts'
import { createApp } from '../src/http/app.ts'
import { createLogger } from '../src/log/logger.ts'
import { DEFAULT_PAUSE_RATIO } from '../src/retention/run-context.ts'
import { DEFAULT_CHUNK_SIZE, runRetention, type RetentionReport } from '../src/retention/run-retention.ts'
import { buildWorld, testPurposes, WORLD_NOW } from '../test/helpers/api-seed.ts'

const PERSONS = Number(process.env.BENCH_PERSONS ?? 1_000_000)
const CHUNK = Number(process.env.BENCH_CHUNK ?? DEFAULT_CHUNK_SIZE)
const CLIENTS = Number(process.env.BENCH_API_CLIENTS ?? 4)
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30)
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 0)
const PAUSE_RATIO = Number(process.env.BENCH_PAUSE_RATIO ?? DEFAULT_PAUSE_RATIO)
const ADMIN_URL = process.env.PASSERELLE_BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

const keys = testKeys()
useAuditKeys(keys.audit)
const log = createLogger({ level: 'warn' })
const say = (line: string) => process.stdout.write(`${line}\n`)

export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `passerelle_bench_retention_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const u = new URL(ADMIN_URL)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}

/** Dossier i has 2, 2, 1 persons in turn (1.67 on average, as in real CNAF stocks). */
export async function seed(db: Db): Promise<{ dossiers: number; persons: number }> {
  const fileId = (
    await db.query<{ id: number }>(
      `insert into files (flow_id, name, size, sha256, status, source, transmitted_at, started_at, finished_at)
       values ('caf-beneficiaires', 'bench.RSABEM.xml', 1, $1, 'loaded', 'local', $2, $2, $2)
       returning id`,
      ['b'.repeat(64), new Date('2021-02-05T10:00:00Z')],
    )
  ).rows[0]!.id
  const transmittedAt = new Date('2021-02-05T10:00:00Z')
  const base = 1_000_000_000
  let person = 0
  let dossier = 0
  const batch = 20_000
  while (person < PERSONS) {
    const dossiers: unknown[][] = []
    const persons: unknown[][] = []
    const members: unknown[][] = []
    const changes: unknown[][] = []
    for (let i = 0; i < batch && person < PERSONS; i++) {
      dossier += 1
      const dossierId = base + dossier
      dossiers.push([dossierId, 'caf-beneficiaires', 'CAF', String(dossier).padStart(11, '0'), String(1_000_000 + dossier), '5', '2021-01-31', 'PC', '12', 'RUE DU BANC', '93200', 'SAINT-DENIS', fileId, transmittedAt])
      changes.push([dossierId, 'etat_droit', '2', '5', '2021-01-31', fileId, transmittedAt])
      const size = dossier % 3 === 0 ? 1 : 2
      for (let k = 0; k < size && person < PERSONS; k++) {
        person += 1
        const personId = base + person
        const nir13 = `${k === 0 ? 1 : 2}${String(person).padStart(12, '0')}`
        const birth = `19${String(50 + (person % 50)).padStart(2, '0')}-0${1 + (person % 9)}-1${person % 10}`
        persons.push([personId, personMatchKey(keys.index, nir13, birth), nirIndex(keys.index, nir13), encryptNir(keys.nir, `${nir13}00`), `NOM${person}`, `PRENOM${person}`, birth, String(1 + k), fileId, transmittedAt])
        members.push([dossierId, personId, k === 0 ? 'DEM' : 'CJT', k === 0, true, 450.5, fileId, transmittedAt])
      }
    }
    await db.copyRows(
      'dossiers',
      ['id', 'flow_id', 'organisme', 'numdemrsa', 'matricule', 'etat_droit', 'date_cloture', 'motif_cloture', 'adresse_numero_voie', 'adresse_nom_voie', 'adresse_code_postal', 'adresse_commune', 'file_id', 'transmitted_at'],
      dossiers,
    )
    await db.copyRows('persons', ['id', 'match_key', 'nir_index', 'nir_cipher', 'nom', 'prenom', 'date_naissance', 'sexe', 'file_id', 'transmitted_at'], persons)
    await db.copyRows('dossier_members', ['dossier_id', 'person_id', 'role', 'responsable_dossier', 'soumis_droits_devoirs', 'ressources_mensuelles', 'file_id', 'transmitted_at'], members)
    await db.copyRows('state_changes', ['dossier_id', 'field', 'old_value', 'new_value', 'effective_date', 'file_id', 'transmitted_at'], changes)
    if (dossier % 100_000 < batch) say(`  seeded ${person.toLocaleString('en')} persons`)
  }
  // Vacuumed and analysed now, so that autovacuum does not wake up on the fresh tables while the idle p99 is measured.
  await db.exec('vacuum analyze')
  return { dossiers: dossier, persons: person }
}

/**
 * CPU seconds spent by the PostgreSQL backends of the retention run (connections named `application_name =
 * retention-bench`), read from /proc while the run goes on: on a shared machine, rows per CPU-second says what
 * the run costs whatever the neighbours do. Undefined when PostgreSQL is not on this machine.
 */
async function backendCpu(adminUrl: string, applicationName: string): Promise<{ stop: () => Promise<number | undefined> }> {
  const ticks = 100
  const seen = new Map<number, { first: number; last: number }>()
  const cpuOf = (pid: number): number | undefined => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      return (Number(fields[11]) + Number(fields[12])) / ticks
    } catch {
      return undefined
    }
  }
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  let local = true
  const sample = async (initial: boolean) => {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [applicationName])
    for (const { pid } of rows) {
      const cpu = cpuOf(pid)
      if (cpu === undefined) {
        local = false
        continue
      }
      const entry = seen.get(pid)
      // Backends alive before the run count from now; those the pool opens during the run, from their start.
      if (entry) entry.last = cpu
      else seen.set(pid, { first: initial ? cpu : 0, last: cpu })
    }
  }
  await sample(true)
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 250))
      await sample(false)
    }
    await client.end()
  })()
  return {
    async stop() {
      stopped = true
      await loop
      if (!local) return undefined
      return [...seen.values()].reduce((n, e) => n + e.last - e.first, 0)
    },
  }
}

/** Keeps one backend busy computing (a fraction of a second per statement), with the run's pause after each statement. */
async function busyBackendLoad(db: Db): Promise<{ stop: () => Promise<void> }> {
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now()
      await db.query('select count(*) from generate_series(1, 2000000)')
      const ms = Math.max(PAUSE_MS, (performance.now() - started) * PAUSE_RATIO)
      await new Promise((resolve) => setTimeout(resolve, ms))
    }
  })()
  return {
    async stop() {
      stopped = true
      await loop
    },
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

interface LatencySample {
  requests: number
  errors: number
  p50: number
  p99: number
  /** Every latency (ms), sorted. */
  sorted: number[]
}

/** The two idle windows as one sample: a steadier idle p99 than either window alone. */
function pooled(a: LatencySample, b: LatencySample): LatencySample {
  const sorted = [...a.sorted, ...b.sorted].sort((x, y) => x - y)
  return { requests: sorted.length, errors: a.errors + b.errors, p50: percentile(sorted, 50), p99: percentile(sorted, 99), sorted }
}

/** Runs API clients until `until` resolves (or for `seconds`), GET by id in a loop; returns latency percentiles (ms). */
async function measureApi(request: () => Promise<Response>, until: Promise<unknown> | number): Promise<LatencySample> {
  const latencies: number[] = []
  let errors = 0
  let stop = false
  const stopper = typeof until === 'number' ? new Promise((r) => setTimeout(r, until * 1000)) : until
  void stopper.finally(() => (stop = true))
  const client = async () => {
    while (!stop) {
      const started = process.hrtime.bigint()
      const res = await request()
      await res.arrayBuffer()
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
      if (res.status !== 200) errors += 1
    }
  }
  await Promise.all([...Array.from({ length: CLIENTS }, client), stopper])
  latencies.sort((a, b) => a - b)
  return { requests: latencies.length, errors, p50: percentile(latencies, 50), p99: percentile(latencies, 99), sorted: latencies }
}

const total = (report: RetentionReport, key: 'archived' | 'destroyed', policyId = 'rsa-beneficiaires') => {
  const counts = report.policies.find((p) => p.id === policyId)![key]
  return Object.entries(counts)
    .reduce((n, [, v]) => n + v, 0)
}

async function main(): Promise<void> {
  const database = await createDatabase()
  const named = new URL(database.url)
  named.searchParams.set('application_name', 'retention-bench')
  const db = await openPostgres(named.toString(), { max: 4 })
  const apiDb = await openPostgres(database.url, { max: 8 })
  try {
    await migrate(db)
    say(`retention benchmark: ${PERSONS.toLocaleString('en')} persons, chunks of ${CHUNK} rows, pause after each chunk ${PAUSE_RATIO} × its duration (at least ${PAUSE_MS} ms), ${CLIENTS} API clients`)
    let t0 = performance.now()
    const seeded = await seed(db)
    say(`seeded ${seeded.dossiers.toLocaleString('en')} dossiers and ${seeded.persons.toLocaleString('en')} persons in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

    // The partner API, in process, on its own pool: GET /v1/beneficiaires/{id} of a person who stays active.
    const purposes = testPurposes()
    const world = await buildWorld(apiDb, keys, purposes)
    const audit = new AuditWriter(apiDb)
    const app = createApp({ db: apiDb, keys, purposes, audit, log, now: () => WORLD_NOW, options: { rateLimit: { perSecond: 1e6, burst: 1e6 } } })
    const target = world.persons.p1!.publicId
    const request = async (): Promise<Response> => app.request(`/v1/beneficiaires/${target}`, { headers: { authorization: `Bearer ${world.tokens.refA1}` } })
    const probe = await request()
    if (probe.status !== 200) throw new Error(`API probe answered ${probe.status}: ${await probe.text()}`)

    // Warm-up, not measured (JIT, prepared statements, the token cache): the first requests would inflate idle p99.
    await measureApi(request, 3)
    const idle = await measureApi(request, IDLE_SECONDS)
    say(`API idle: ${idle.requests} requests, p50 ${idle.p50.toFixed(2)} ms, p99 ${idle.p99.toFixed(2)} ms`)

    // Baseline of the machine: one PostgreSQL backend kept busy on pure CPU (no I/O, no lock, no WAL), paced like
    // the run (busy, then a pause of PAUSE_RATIO × that), slows the API too: what any busy neighbour costs here.
    const busy = await busyBackendLoad(db)
    const duringBusy = await measureApi(request, IDLE_SECONDS)
    await busy.stop()
    say(`API beside a busy backend: ${duringBusy.requests} requests, p50 ${duringBusy.p50.toFixed(2)} ms, p99 ${duringBusy.p99.toFixed(2)} ms`)

    // Archive and destroy only, as measured before: the flows and policies, without the stored-field set.
    const { flows, retentionPolicies } = loadDeclarations({ flowsDir: 'flows', mappingsDir: 'mappings' })
    const deps = { db, keys, log, declarations: { flows, retentionPolicies } }
    // Closed 2021-01-31: active until 2024-01-31, archived until 2027-01-31.
    const cpuArchive = await backendCpu(ADMIN_URL, 'retention-bench')
    t0 = performance.now()
    const archiving = runRetention(deps, { now: new Date('2026-06-15T10:00:00Z'), dryRun: false, chunkSize: CHUNK, pauseMs: PAUSE_MS, pauseRatio: PAUSE_RATIO })
    const duringArchive = await measureApi(request, archiving)
    const archiveReport = await archiving
    const archiveSeconds = (performance.now() - t0) / 1000
    const archiveCpu = await cpuArchive.stop()
    if (!archiveReport.ok) throw new Error(`archive run failed: ${JSON.stringify(archiveReport.errors)}`)
    const archivedRows = total(archiveReport, 'archived')

    const cpuDestroy = await backendCpu(ADMIN_URL, 'retention-bench')
    t0 = performance.now()
    const destroying = runRetention(deps, { now: new Date('2027-06-01T10:00:00Z'), dryRun: false, chunkSize: CHUNK, pauseMs: PAUSE_MS, pauseRatio: PAUSE_RATIO })
    const duringDestroy = await measureApi(request, destroying)
    const destroyReport = await destroying
    const destroySeconds = (performance.now() - t0) / 1000
    const destroyCpu = await cpuDestroy.stop()
    if (!destroyReport.ok) throw new Error(`destroy run failed: ${JSON.stringify(destroyReport.errors)}`)
    const destroyedRows = total(destroyReport, 'destroyed')

    const idleAfter = await measureApi(request, IDLE_SECONDS)
    await audit.drain()

    const left = (await db.query<{ n: number }>(`select (select count(*) from archive.persons) + (select count(*) from persons where id > 1000000000) as n`)).rows[0]!.n
    say('')
    // Idle p99 moves from one window to the next (the machine's neighbours): the run is compared with the two idle
    // windows pooled (as many seconds before the run as after it), and with each of them.
    const idleBoth = pooled(idle, idleAfter)
    const vs = (p99: number) => `${(p99 / idleBoth.p99).toFixed(2)}× (${(p99 / idle.p99).toFixed(2)}× / ${(p99 / idleAfter.p99).toFixed(2)}×)`
    say('| phase | rows | seconds | rows/s | persons/s | API requests | API p50 (ms) | API p99 (ms) | p99 vs idle pooled (before / after) |')
    say('|---|---|---|---|---|---|---|---|---|')
    say(`| idle (before) | | | | | ${idle.requests} | ${idle.p50.toFixed(2)} | ${idle.p99.toFixed(2)} | ${vs(idle.p99)} |`)
    say(
      `| archive | ${archivedRows.toLocaleString('en')} | ${archiveSeconds.toFixed(1)} | ${Math.round(archivedRows / archiveSeconds).toLocaleString('en')} | ${Math.round(seeded.persons / archiveSeconds).toLocaleString('en')} | ${duringArchive.requests} | ${duringArchive.p50.toFixed(2)} | ${duringArchive.p99.toFixed(2)} | ${vs(duringArchive.p99)} |`,
    )
    say(
      `| destroy | ${destroyedRows.toLocaleString('en')} | ${destroySeconds.toFixed(1)} | ${Math.round(destroyedRows / destroySeconds).toLocaleString('en')} | ${Math.round(seeded.persons / destroySeconds).toLocaleString('en')} | ${duringDestroy.requests} | ${duringDestroy.p50.toFixed(2)} | ${duringDestroy.p99.toFixed(2)} | ${vs(duringDestroy.p99)} |`,
    )
    say(`| idle (after) | | | | | ${idleAfter.requests} | ${idleAfter.p50.toFixed(2)} | ${idleAfter.p99.toFixed(2)} | ${vs(idleAfter.p99)} |`)
    say(`| idle (pooled) | | | | | ${idleBoth.requests} | ${idleBoth.p50.toFixed(2)} | ${idleBoth.p99.toFixed(2)} | 1.00× |`)
    say(`| baseline: beside a busy backend (CPU only) | | ${IDLE_SECONDS} | | | ${duringBusy.requests} | ${duringBusy.p50.toFixed(2)} | ${duringBusy.p99.toFixed(2)} | ${vs(duringBusy.p99)} |`)
    say('')
    say(`archived: ${JSON.stringify(archiveReport.policies.find((p) => p.id === 'rsa-beneficiaires')!.archived)}`)
    say(`destroyed: ${JSON.stringify(destroyReport.policies.find((p) => p.id === 'rsa-beneficiaires')!.destroyed)}`)
    const perCpu = (rows: number, cpu: number | undefined, wall: number) =>
      cpu === undefined ? 'not measured (PostgreSQL is not local)' : `${Math.round(rows / cpu).toLocaleString('en')} rows per CPU-second of its PostgreSQL backends (${cpu.toFixed(1)} CPU-s over ${wall.toFixed(1)} s of wall clock)`
    say(`archive: ${perCpu(archivedRows, archiveCpu, archiveSeconds)}`)
    say(`destroy: ${perCpu(destroyedRows, destroyCpu, destroySeconds)}`)
    say(`API errors: ${idle.errors + duringBusy.errors + duringArchive.errors + duringDestroy.errors + idleAfter.errors}; generated persons left anywhere: ${left}`)
  } finally {
    await apiDb.close().catch(() => {})
    await db.close().catch(() => {})
    if (!process.env.BENCH_KEEP) await database.drop()
  }
}

if (!process.env.BENCH_NO_MAIN) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`)
    process.exitCode = 1
  })
}
