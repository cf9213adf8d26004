/**
 * npm run bench:console [-- --duration 15] [-- --connections 50 | 4,8,16,50] [-- --persons 100000] [-- --scenarios console-list,api-list]
 *
 * The web console's pages under bench:api-like load. Loads `--persons` generated persons (default 100,000; one
 * dossier each, France Travail registrations for a third) and 200 referents with a portfolio of 250 each into a
 * fresh PostgreSQL database, gives each referent a console session (as a sign-in would leave it) and an API token
 * under the same purpose, then drives over loopback with wrk (2 threads, 50 connections, random referent and
 * person from their own portfolio), audit on:
 *   1. console: GET /console/portefeuille (the first page of 50 of a portfolio of 250), rendered as HTML;
 *   2. console: GET /console/beneficiaires/{id} (a person's page: the record and its history: two API calls);
 *   3. baseline, same run: the API answers those pages are made of (GET /v1/beneficiaires?limit=50 and
 *      GET /v1/beneficiaires/{id}) with bearer tokens;
 *   4. the same four, one request at a time in process (300 each): a page's own cost when the CPU is not shared.
 *   5. the floor, same run: the SQL those pages run (the portfolio query with the table's four columns, the person
 *      query with every field of the purpose), called by 50 concurrent callers in this process through the server's
 *      pool: no HTTP, session, projection, audit nor HTML. No page can answer faster than its SQL alone.
 *   6. `--mixed N`: console pages requested by N agents while wrk drives the partner API at 50 connections (each
 *      console page against each API scenario): what an agent sees while partner software loads the server.
 * The server is wired as `serve` wires it (a pool of 10 connections, `--pool` to change it; sessions and tokens
 * trusted for 2 s) and runs with serve's V8 heap flags (npm script; bin/passerelle). The freshly loaded database
 * first gets `--settle` seconds (default 10) of every page, then each scenario a 3 s warm-up (the first minute after
 * a bulk load is slower: its pages are read for the first time);
 * `--scenarios console-list,console-show,api-list,api-show,sql-list,sql-show` picks some.
 * Beside latency, each row gives the CPU spent per request by this Node process and by the PostgreSQL backends of
 * the bench database: what a page costs, hardly moved by the load other processes put on the shared cores.
 * `--profile out.cpuprofile` writes a V8 CPU profile of the in-process part only (what a page costs, no setup, no wrk).
 * Prints a Markdown table. Needs PostgreSQL
 * (PASSERELLE_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) and wrk (apt-get install wrk).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { loadavg } from 'node:os'
import path from 'node:path'
import { serve } from '@hono/node-server'
import pg from 'pg'
import { findPersonForCaller, listPortfolio, type PortfolioCaller } from '../src/access/portfolio-queries.ts'
import { portfolioWindow } from '../src/access/portfolio.ts'
import { AuditWriter } from '../src/audit/audit-log.ts'
import { useAuditKeys } from '../src/audit/audit-keys.ts'
import { generateApiToken } from '../src/auth/api-token.ts'
import { CredentialChanges } from '../src/auth/credential-changes.ts'
import { DEFAULT_API_OPTIONS } from '../src/config/config.ts'
import { createConsoleApp } from '../src/console/console-app.ts'
import { insertSession } from '../src/console/session-queries.ts'
import { testKeys } from '../src/crypto/keys.ts'
import { migrate } from '../src/db/migrate.ts'
import { openPostgres } from '../src/db/postgres.ts'
import { createApp } from '../src/http/app.ts'
import { createLogger } from '../src/log/logger.ts'
import { purposeFields } from '../src/model/canonical-records.ts'
import { FIELDS_BY_ID } from '../src/model/fields.ts'
import { loadPurposes } from '../src/purposes/load-purposes.ts'

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const DURATION = Number(arg('duration') ?? 15)
const WARMUP = Number(arg('warmup') ?? 3)
/** wrk connections; a list (`--connections 4,8,16,50`) runs each scenario at each count. */
const CONNECTIONS = (arg('connections') ?? '50').split(',').map(Number)
const PERSONS = Number(arg('persons') ?? 100_000)
/** Which wrk scenarios run (default all): console-list,console-show,api-list,api-show. */
const SCENARIOS = (arg('scenarios') ?? 'console-list,console-show,api-list,api-show,sql-list,sql-show').split(',')
/** Console agents beside the partner API's 50 connections (`--mixed 4`); 0: no mixed scenario. */
const MIXED = Number(arg('mixed') ?? 0)
/** The server's pool of PostgreSQL connections (`--pool`; default 10, as a server started with DATABASE_URL). */
const POOL = Number(arg('pool') ?? 10)
/** Seconds of traffic on the freshly loaded database before any measurement. */
const SETTLE = Number(arg('settle') ?? 10)
const REFERENTS = 200
const PER_REFERENT = 250
const ORGANISATIONS = 20
const PURPOSE = 'accompagnement-rsa'
const adminUrl = process.env.PASSERELLE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const dbName = 'passerelle_bench_console'
const outDir = path.resolve('bench/out')
mkdirSync(outDir, { recursive: true })
const log = (msg: string) => process.stderr.write(`[bench:console] ${msg}\n`)
if (REFERENTS * PER_REFERENT > PERSONS) throw new Error(`--persons must be at least ${REFERENTS * PER_REFERENT}`)

const url = new URL(adminUrl)
url.pathname = `/${dbName}`
const admin = new pg.Client({ connectionString: adminUrl })
await admin.connect()
await admin.query(`drop database if exists ${dbName} with (force)`)
await admin.query(`create database ${dbName}`)
await admin.end()

const db = await openPostgres(url.toString(), { max: POOL })
await migrate(db)
const keys = testKeys()
useAuditKeys(keys.audit)
const purposes = loadPurposes(path.resolve('mappings'))
const purpose = purposes.get(PURPOSE)
if (!purpose) throw new Error(`purpose ${PURPOSE} is not declared in mappings/`)
const orgType = purpose.recipients.find((r) => r.role === 'referent')!.organisation_types[0]!

const t0 = performance.now()
log(`loading ${PERSONS.toLocaleString('en')} persons, ${REFERENTS} referents × ${PER_REFERENT}...`)
await db.exec(`
  insert into files (id, flow_id, name, size, sha256, status, source, started_at, transmitted_at)
  values (1, 'caf-beneficiaires', 'bench.xml', 1, repeat('0', 64), 'loaded', 'local', now(), now());
  insert into persons (id, match_key, qualite, nom, nom_naissance, prenom, date_naissance, sexe, file_id, transmitted_at)
  select i, md5('person-' || i), case when i % 2 = 0 then 'MME' else 'MR' end, 'NOM-' || i, 'NOM-' || i, 'Prénom-' || i,
         date '1960-01-01' + (i % 15000), case when i % 2 = 0 then '2' else '1' end, 1, now()
  from generate_series(1, ${PERSONS}) i;
  insert into dossiers (id, flow_id, organisme, numdemrsa, matricule, date_demande, etat_droit, situation_familiale, nombre_personnes,
                        nombre_enfants, nombre_enfants_a_charge, sans_domicile_fixe, foyer_soumis_droits_devoirs, adresse_numero_voie,
                        adresse_type_voie, adresse_nom_voie, adresse_code_postal, adresse_commune, file_id, transmitted_at)
  select i, 'caf-beneficiaires', 'CAF', lpad(i::text, 11, '0'), lpad(i::text, 15, '0'), date '2020-01-01' + (i % 2000),
         (array['2', '2', '2', '3', '4', '6'])[1 + i % 6], 'CEL', 1 + i % 4, i % 3, 0, false, i % 10 <> 0,
         (i % 200)::text, 'RUE', 'DE LA REPUBLIQUE', lpad((93000 + i % 900)::text, 5, '0'), 'COMMUNE-' || (i % 900), 1, now()
  from generate_series(1, ${PERSONS}) i;
  insert into dossier_members (dossier_id, person_id, role, responsable_dossier, soumis_droits_devoirs, entrant_droits_devoirs, file_id, transmitted_at)
  select i, i, 'DEM', true, i % 10 <> 0, false, 1, now()
  from generate_series(1, ${PERSONS}) i;
  insert into france_travail_registrations (person_key, identifiant_pe, etat, date_etat, code, file_id, transmitted_at)
  select md5('person-' || i), lpad(i::text, 11, '0'), 'inscription', date '2025-01-01' + (i % 300), '1', 1, now()
  from generate_series(1, ${PERSONS}, 3) i;
  insert into state_changes (dossier_id, field, old_value, new_value, effective_date, file_id, transmitted_at)
  select i, 'etat_droit', '2', '3', date '2025-06-01', 1, now()
  from generate_series(1, ${REFERENTS * PER_REFERENT}, 4) i;
  select setval('persons_id_seq', ${PERSONS});
  select setval('dossiers_id_seq', ${PERSONS});
  select setval('files_id_seq', 1);
  insert into organisations (id, siret, name, type)
  select o, lpad((21750000000000 + o * 10)::text, 14, '0'), 'Structure ' || o, '${orgType}'
  from generate_series(1, ${ORGANISATIONS}) o;
  insert into users (id, email, display_name, role, organisation_id)
  select r, 'referent' || r || '@bench.example', 'Référent ' || r, 'referent', 1 + (r - 1) % ${ORGANISATIONS}
  from generate_series(1, ${REFERENTS}) r;
  insert into assignments (person_id, organisation_id, referent_user_id, starts_on, source)
  select p, 1 + ((p - 1) % ${REFERENTS}) % ${ORGANISATIONS}, 1 + (p - 1) % ${REFERENTS}, date '2025-01-01' + (p % 300), 'admin'
  from generate_series(1, ${REFERENTS * PER_REFERENT}) p;
  select setval('organisations_id_seq', ${ORGANISATIONS});
  select setval('users_id_seq', ${REFERENTS});
`)
await db.exec('vacuum analyze')
// The load wrote hundreds of MB of WAL: the checkpoint it calls for is taken now, not during a measurement.
await db.exec('checkpoint')
log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

// One console session (as a sign-in leaves it) and one API token per referent, under the same purpose.
const sessions = new Map<number, string>()
const tokens = new Map<number, string>()
const expires = new Date(Date.now() + 86_400_000)
for (let r = 1; r <= REFERENTS; r++) {
  const org = 1 + (r - 1) % ORGANISATIONS
  const { secret } = await insertSession(db, { userId: r, organisationId: org, purpose: PURPOSE, oidcSubject: `bench-${r}`, acr: 'eidas1', amr: 'pwd', idToken: null, expiresAt: expires })
  sessions.set(r, secret)
  const { token, hash } = generateApiToken()
  tokens.set(r, token)
  await db.query('insert into api_tokens (token_hash, user_id, organisation_id, purpose, expires_at) values ($1, $2, $3, $4, $5)', [hash, r, org, PURPOSE, expires])
}
const pairs = (
  await db.query<{ referent_user_id: number; public_id: string }>(
    `select a.referent_user_id, p.public_id from assignments a join persons p on p.id = a.person_id where a.person_id % 5 = 0`,
  )
).rows

const file = (name: string, lines: string[]) => {
  const f = path.join(outDir, `console-${name}.txt`)
  writeFileSync(f, lines.join('\n') + '\n')
  return f
}
const files = {
  consoleList: file('list', [...sessions].map(([, s]) => `Cookie:passerelle_console=${s} /console/portefeuille`)),
  consoleShow: file('show', pairs.map((p) => `Cookie:passerelle_console=${sessions.get(p.referent_user_id)} /console/beneficiaires/${p.public_id}`)),
  apiList: file('api-list', [...tokens].map(([, t]) => `Authorization:Bearer ${t} /v1/beneficiaires?limit=50`)),
  apiShow: file('api-show', pairs.map((p) => `Authorization:Bearer ${tokens.get(p.referent_user_id)} /v1/beneficiaires/${p.public_id}`)),
}
const luaFile = path.join(outDir, 'console-wrk.lua')
writeFileSync(
  luaFile,
  `local lines = {}
init = function(args)
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
request = function()
  local l = lines[math.random(#lines)]
  local head, target = l:match("^(.*) (%S+)$")
  local colon = head:find(":")
  return wrk.format("GET", target, { [head:sub(1, colon - 1)] = head:sub(colon + 1) })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
`,
)

const audit = new AuditWriter(db)
// How many audit events each group commit carries (a transaction per batch): reported per scenario.
const batches = { count: 0, events: 0 }
audit.onBatch = (events) => {
  batches.count += 1
  batches.events += events
}
const quiet = createLogger({ level: 'warn' })
const credentialChanges = new CredentialChanges()
const app = createApp({ db, keys, purposes, audit, log: quiet, credentialChanges, options: { rateLimit: { perSecond: 10_000, burst: 10_000 } } })
// As `serve` wires them: sessions and tokens trusted for PASSERELLE_API_TOKEN_CACHE_SECONDS (2 s by default).
app.route('/console', createConsoleApp({ db, keys, purposes, audit, log: quiet, api: app, oidc: undefined, sessionMinutes: 60, sessionCacheMs: DEFAULT_API_OPTIONS.tokenCacheMs, credentialChanges }))
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
await new Promise<void>((resolve) => server.once('listening', () => resolve()))
const port = (server.address() as { port: number }).port

interface WrkResult {
  requests: number
  duration_us: number
  errors: number
  p50_us: number
  p99_us: number
  max_us: number
}
function wrk(requests: string, seconds: number, connections: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', [`-t${Math.min(2, connections)}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', luaFile, `http://127.0.0.1:${port}`, '--', requests])
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WrkResult) : reject(new Error(`wrk exited ${code}: ${err}`))))
  })
}

// A sanity check before measuring: each kind of request answers 200 with what it should.
for (const [name, f] of Object.entries(files)) {
  const line = readFileSync(f, 'utf8').split('\n')[0]!
  const colon = line.indexOf(':')
  const sp = line.lastIndexOf(' ')
  const res = await fetch(`http://127.0.0.1:${port}${line.slice(sp + 1)}`, { headers: { [line.slice(0, colon)]: line.slice(colon + 1, sp) } })
  const body = await res.text()
  if (res.status !== 200 || (name.startsWith('console') && !body.includes('NOM-'))) throw new Error(`${name}: answered ${res.status} without a person`)
}

if (SETTLE > 0) {
  log(`settling: every page for ${SETTLE} s`)
  await Promise.all([files.consoleList, files.consoleShow, files.apiList, files.apiShow].map((f) => wrk(f, SETTLE, 12)))
}
const results: Record<string, string | number>[] = []
const loadBefore = loadavg()[0]!.toFixed(1)

/**
 * CPU spent serving a scenario, per request: this Node process (process.cpuUsage) and the PostgreSQL backends of the
 * bench database (utime + stime from /proc, sampled every 200 ms as pool connections come and go). Unlike latency,
 * this hardly depends on what else the shared cores run.
 */
const TICK_MS = 10 // USER_HZ = 100 on Linux
const pgTicks = new Map<number, { first: number; last: number }>()
async function samplePostgres(): Promise<void> {
  const { rows } = await db.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [dbName])
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      const ticks = Number(fields[11]) + Number(fields[12])
      const seen = pgTicks.get(pid)
      if (seen) seen.last = ticks
      else pgTicks.set(pid, { first: ticks, last: ticks })
    } catch {
      // The backend left between the query and the read.
    }
  }
}
async function measureCpu<T>(run: () => Promise<T>): Promise<{ result: T; nodeMs: number; pgMs: number }> {
  pgTicks.clear()
  batches.count = 0
  batches.events = 0
  await samplePostgres()
  // Backends already open count from now; those opened during the run, from their start.
  for (const seen of pgTicks.values()) seen.first = seen.last
  const knownAtStart = new Set(pgTicks.keys())
  const timer = setInterval(() => void samplePostgres().catch(() => {}), 200)
  const cpu = process.cpuUsage()
  const result = await run()
  const used = process.cpuUsage(cpu)
  clearInterval(timer)
  await samplePostgres()
  let ticks = 0
  for (const [pid, seen] of pgTicks) ticks += seen.last - (knownAtStart.has(pid) ? seen.first : 0)
  return { result, nodeMs: (used.user + used.system) / 1000, pgMs: ticks * TICK_MS }
}
const cpuColumns = (requests: number, nodeMs: number, pgMs: number) => ({
  'Node CPU ms/req': (nodeMs / requests).toFixed(2),
  'PG CPU ms/req': (pgMs / requests).toFixed(2),
  'audit events/commit': batches.count > 0 ? (batches.events / batches.count).toFixed(1) : '—',
})
/** A table row from a load run: throughput, latency percentiles, errors, then the CPU columns (or dashes). */
const row = (scenario: string, r: WrkResult, cpu: ReturnType<typeof cpuColumns> | undefined) => ({
  scenario,
  'req/s': Math.round(r.requests / (r.duration_us / 1e6)),
  'p50 ms': (r.p50_us / 1000).toFixed(1),
  'p99 ms': (r.p99_us / 1000).toFixed(1),
  'max ms': (r.max_us / 1000).toFixed(1),
  errors: r.errors,
  ...(cpu ?? { 'Node CPU ms/req': '—', 'PG CPU ms/req': '—', 'audit events/commit': '—' }),
})

for (const [key, name, f] of [
  ['console-list', 'console GET /console/portefeuille (50 of 250)', files.consoleList],
  ['console-show', 'console GET /console/beneficiaires/{id} (+ history)', files.consoleShow],
  ['api-list', 'API GET /v1/beneficiaires?limit=50 (baseline)', files.apiList],
  ['api-show', 'API GET /v1/beneficiaires/{id} (baseline)', files.apiShow],
] as const) {
  if (!SCENARIOS.includes(key)) continue
  for (const connections of CONNECTIONS) {
    log(`${name}, ${connections} connections: warm-up ${WARMUP} s, then ${DURATION} s`)
    await wrk(f, WARMUP, connections)
    const { result: r, nodeMs, pgMs } = await measureCpu(() => wrk(f, DURATION, connections))
    results.push(row(CONNECTIONS.length > 1 ? `${name}, ${connections} connections` : name, r, cpuColumns(r.requests, nodeMs, pgMs)))
  }
}

/**
 * The floor: 50 concurrent callers running the pages' SQL through the server's pool (POOL connections) for DURATION
 * seconds, after a warm-up. Latency of each call as seen by its caller (including the wait for a pooled connection).
 */
async function sqlFloor(call: (i: number) => Promise<unknown>, seconds: number): Promise<WrkResult> {
  const latencies: number[] = []
  const end = performance.now() + seconds * 1000
  const start = performance.now()
  let i = 0
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (performance.now() < end) {
        const t = performance.now()
        await call(i++)
        latencies.push(performance.now() - t)
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  const q = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]! * 1000)
  return { requests: latencies.length, duration_us: (performance.now() - start) * 1000, errors: 0, p50_us: q(0.5), p99_us: q(0.99), max_us: q(1) }
}
const referentCaller = (r: number): PortfolioCaller => ({ relation: 'referent', userId: r, organisationId: 1 + (r - 1) % ORGANISATIONS, purposeId: PURPOSE })
const tableFields = ['personne.nom', 'personne.prenom', 'dossier.etatDroit', 'franceTravail.etat'].map((id) => FIELDS_BY_ID.get(id)!)
const purposeRead = [...purposeFields(purpose)]
for (const [key, name, call] of [
  [
    'sql-list',
    'floor: the portfolio SQL alone (4 columns), 50 callers in process',
    (i: number) => {
      const now = new Date()
      return listPortfolio(db, { caller: referentCaller(1 + (i % REFERENTS)), fields: tableFields, window: portfolioWindow(now, 30), afterPersonId: 0, limit: 50, filters: {}, now })
    },
  ],
  [
    'sql-show',
    'floor: the person SQL alone (every field), 50 callers in process',
    (i: number) => {
      const pair = pairs[(i * 7919) % pairs.length]!
      return findPersonForCaller(db, { publicId: pair.public_id, caller: referentCaller(pair.referent_user_id), fields: purposeRead, now: new Date() })
    },
  ],
] as const) {
  if (!SCENARIOS.includes(key)) continue
  log(`${name}: warm-up ${WARMUP} s, then ${DURATION} s`)
  await sqlFloor(call, WARMUP)
  const { result: r, nodeMs, pgMs } = await measureCpu(() => sqlFloor(call, DURATION))
  results.push(row(name, r, cpuColumns(r.requests, nodeMs, pgMs)))
}

// Console agents while partner software drives the API at 50 connections.
if (MIXED > 0) {
  for (const [apiName, apiFile] of [['API by id', files.apiShow], ['API list', files.apiList]] as const) {
    for (const [pageName, pageFile] of [['portefeuille', files.consoleList], ['person page', files.consoleShow]] as const) {
      log(`mixed: console ${pageName} at ${MIXED} connections while ${apiName} at 50: warm-up ${WARMUP} s, then ${DURATION} s`)
      await Promise.all([wrk(apiFile, WARMUP, 50), wrk(pageFile, WARMUP, MIXED)])
      const [api, page] = await Promise.all([wrk(apiFile, DURATION, 50), wrk(pageFile, DURATION, MIXED)])
      for (const [label, r] of [[`mixed: console ${pageName} (${MIXED} connections) while ${apiName} at 50`, page], [`mixed: … ${apiName} at 50 meanwhile`, api]] as const) {
        results.push(row(label, r, undefined))
      }
    }
  }
}
await new Promise<void>((resolve) => server.close(() => resolve()))

// One request at a time, in process (no wrk, no socket): what a page costs when the CPU is not fought over.
const profileFile = arg('profile')
const profiler = profileFile ? new Session() : undefined
if (profiler) {
  profiler.connect()
  await profiler.post('Profiler.enable')
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 })
  await profiler.post('Profiler.start')
}
const readLines = (f: string) => readFileSync(f, 'utf8').trim().split('\n')
for (const [key, name, f] of [
  ['console-list', 'sequential, in process: console portefeuille', files.consoleList],
  ['api-list', 'sequential, in process: API list (baseline)', files.apiList],
  ['console-show', 'sequential, in process: console person page', files.consoleShow],
  ['api-show', 'sequential, in process: API person (baseline)', files.apiShow],
] as const) {
  if (!SCENARIOS.includes(key)) continue
  const lines = readLines(f)
  const latencies: number[] = []
  const { nodeMs, pgMs } = await measureCpu(async () => {
  for (let i = 0; i < 330; i++) {
    const line = lines[(i * 7919) % lines.length]!
    const colon = line.indexOf(':')
    const sp = line.lastIndexOf(' ')
    const t = performance.now()
    const res = await app.request(line.slice(sp + 1), { headers: { [line.slice(0, colon)]: line.slice(colon + 1, sp) } })
    await res.text()
    if (i >= 30) latencies.push(performance.now() - t)
  }
  await audit.drain()
  })
  latencies.sort((a, b) => a - b)
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1)
  results.push({ scenario: name, 'req/s': Math.round(1000 / (latencies.reduce((a, b) => a + b, 0) / latencies.length)), 'p50 ms': q(0.5), 'p99 ms': q(0.99), 'max ms': latencies.at(-1)!.toFixed(1), errors: 0, ...cpuColumns(330, nodeMs, pgMs) })
}
await audit.drain()
if (profiler) {
  const { profile } = await profiler.post('Profiler.stop')
  writeFileSync(profileFile!, JSON.stringify(profile))
  log(`CPU profile of the in-process part written to ${profileFile}`)
}
await db.close()

const columns = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'Node CPU ms/req', 'PG CPU ms/req', 'audit events/commit']
process.stdout.write(
  `\n${PERSONS.toLocaleString('en')} persons, ${REFERENTS} referents × ${PER_REFERENT}, purpose ${PURPOSE}, wrk ${CONNECTIONS.join('/')} connections, ${DURATION} s per scenario, audit on (1-minute load average: ${loadBefore} before, ${loadavg()[0]!.toFixed(1)} after; the 2 cores are shared)\n\n` +
    [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`, ...results.map((r) => `| ${columns.map((c) => r[c]).join(' | ')} |`)].join('\n') +
    '\n',
)
