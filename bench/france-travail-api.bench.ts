/**
 * `npm run bench:france-travail-api`: 20,000 persons of the active base looked up (rechercher-usager) against the
 * France Travail simulator (its own process, 20 ms latency per answer) with a quota of 200 requests/s. The quota
 * bounds the run at 100 s (the baseline, printed beside the measure); the run must end within 10 % of it with zero
 * calls beyond the quota (counted by the simulator over any sliding second). Prints the wall time, calls/s, the
 * connector's CPU per call (this process: HTTP client, limiter, database writes, audit events) and its peak RSS.
 * Database: PASSERELLE_BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test (a fresh
 * database, dropped after). Knobs: BENCH_PERSONS (20000), BENCH_QUOTA (200), BENCH_LATENCY_MS (20).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { useAuditKeys } from '../src/audit/audit-keys.ts'
import { personMatchKey } from '../src/crypto/blind-index.ts'
import { testKeys } from '../src/crypto/keys.ts'
import { encryptNir } from '../src/crypto/nir-cipher.ts'
import { migrate } from '../src/db/migrate.ts'
import { openPostgres } from '../src/db/postgres.ts'
import { AccessTokenCache } from '../src/exchange/france-travail-api/access-token.ts'
import { FranceTravailApiFlowSchema } from '../src/exchange/france-travail-api/api-flow.ts'
import { lookUpPersons } from '../src/exchange/france-travail-api/look-up-persons.ts'
import { QuotaLimiter } from '../src/exchange/france-travail-api/quota-limiter.ts'
import { createLogger } from '../src/log/logger.ts'

const PERSONS = Number(process.env.BENCH_PERSONS ?? 20_000)
const QUOTA = Number(process.env.BENCH_QUOTA ?? 200)
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 20)
const ADMIN_URL = process.env.PASSERELLE_BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const say = (line: string) => process.stdout.write(`${line}\n`)
const keys = testKeys()
useAuditKeys(keys.audit)

const child = spawn(process.execPath, ['--import', 'tsx', new URL('./france-travail-simulator-child.ts', import.meta.url).pathname], {
  env: { ...process.env, SIM_PERSONS: String(PERSONS), SIM_QUOTA: String(QUOTA), SIM_LATENCY_MS: String(LATENCY) },
  stdio: ['pipe', 'pipe', 'inherit'],
})
const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
const next = async () => JSON.parse(String((await lines.next()).value)) as Record<string, unknown>
const sim = (await next()) as { url: string; tokenUrl: string; clientId: string; clientSecret: string }

const name = `passerelle_bench_ftapi_${randomBytes(4).toString('hex')}`
const admin = new pg.Client({ connectionString: ADMIN_URL })
await admin.connect()
await admin.query(`create database ${name}`)
await admin.end()
const u = new URL(ADMIN_URL)
u.pathname = `/${name}`
const db = await openPostgres(u.toString(), { max: 4 })
try {
  await migrate(db)
  // The same synthetic population as the simulator's: persons subject to droits et devoirs with an open right.
  const { rows } = await db.query<{ id: number }>(
    `insert into files (flow_id, name, size, sha256, status, source, started_at) values ('caf-beneficiaires', 'bench.xml', 1, repeat('0', 64), 'loaded', 'local', now()) returning id`,
  )
  const fileId = rows[0]!.id
  const nirOf = (n: number) => `2${String(50 + (n % 50)).padStart(2, '0')}0193${String(n).padStart(6, '0')}`.slice(0, 13)
  const birthOf = (n: number) => `19${String(50 + (n % 50)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}`
  const ns = Array.from({ length: PERSONS }, (_, i) => i + 1)
  await db.query(
    `insert into persons (match_key, nir_cipher, date_naissance, file_id, transmitted_at)
     select * , $4::bigint, now() from unnest($1::text[], $2::bytea[], $3::date[])`,
    [ns.map((n) => personMatchKey(keys.index, nirOf(n), birthOf(n))), ns.map((n) => encryptNir(keys.nir, nirOf(n))), ns.map(birthOf), fileId],
  )
  await db.query(
    `insert into dossiers (flow_id, organisme, numdemrsa, etat_droit, file_id, transmitted_at)
     select 'caf-beneficiaires', 'CAF', lpad(id::text, 11, '0'), '2', $1, now() from persons`,
    [fileId],
  )
  await db.query(
    `insert into dossier_members (dossier_id, person_id, role, soumis_droits_devoirs, file_id, transmitted_at)
     select d.id, p.id, 'DEM', true, $1, now() from persons p join dossiers d on d.numdemrsa = lpad(p.id::text, 11, '0')`,
    [fileId],
  )
  const flow = {
    id: 'france-travail-api',
    ...FranceTravailApiFlowSchema.parse({
      title: 'bench',
      producer: 'France Travail',
      source: { type: 'francetravail-api', token_url: sim.tokenUrl, client_id: sim.clientId, client_secret_env: 'FT_API_CLIENT_SECRET', scopes: ['api_rechercher-usagerv2'], base_url: sim.url, quota_per_second: QUOTA, concurrency: 32, batch_size: 1000 },
      schedule: '0 5 * * *',
      retention: 'france-travail-api',
      outbound: { purpose: 'instruction', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { 'france-travail': 'PED' } },
    }),
  }
  const client = { flowId: flow.id, source: flow.source, tokens: new AccessTokenCache(flow.source, sim.clientSecret), limiter: new QuotaLimiter(QUOTA) }
  const bound = PERSONS / QUOTA
  say(`france travail lookups: ${PERSONS} persons, quota ${QUOTA} req/s, simulator latency ${LATENCY} ms`)
  say(`baseline (quota-bound): ${bound.toFixed(1)} s; target: within 10 % (≤ ${(bound * 1.1).toFixed(1)} s)`)
  // Other work on the machine changes every figure: the load is printed with them.
  const load0 = loadavg()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const counts = await lookUpPersons({ db, keys, log: createLogger({ level: 'warn' }), flow, client, purpose: 'instruction' })
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  child.stdin!.write('stats\n')
  const stats = (await next()) as { beyondQuota: number; maxInOneSecond: number; calls: Record<string, number>; cpuSeconds: number }
  const calls = stats.calls['/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir'] ?? 0
  say(`measured: ${seconds.toFixed(1)} s (${((seconds / bound - 1) * 100).toFixed(1)} % over the bound), ${(calls / seconds).toFixed(1)} calls/s`)
  say(`outcomes: found ${counts.found}, several ${counts.several}, not recognised ${counts.notRecognised}, failed ${counts.failed}`)
  say(`calls received ${calls}; beyond quota ${stats.beyondQuota}; most in one sliding second ${stats.maxInOneSecond}`)
  say(`connector CPU per call: ${(((cpu.user + cpu.system) / 1000) / Math.max(1, calls)).toFixed(3)} ms (user ${(cpu.user / 1e6).toFixed(1)} s, system ${(cpu.system / 1e6).toFixed(1)} s)`)
  say(`peak RSS (connector process): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
  say(`simulator process CPU (whole life): ${stats.cpuSeconds.toFixed(1)} s`)
  say(`machine load average (1 min) at start ${load0[0]!.toFixed(1)}, at end ${loadavg()[0]!.toFixed(1)} (2 cores)`)
  say(`verdict: ${seconds <= bound * 1.1 && stats.beyondQuota === 0 ? 'OK' : 'NOT MET'}`)
} finally {
  await db.close()
  child.stdin!.end()
  const c = new pg.Client({ connectionString: ADMIN_URL })
  await c.connect()
  await c.query(`drop database if exists ${name} with (force)`)
  await c.end()
}
