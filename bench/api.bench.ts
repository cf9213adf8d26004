/**
 * npm run bench:api [-- --duration 20] [-- --reuse] [-- --scenarios by-id,list,baseline]
 *
 * Loads 1,000,000 generated persons (one dossier each, France Travail registrations for a third) and 1,000
 * referents of 250 beneficiaries each into a fresh PostgreSQL database (set-based SQL, server-side), then:
 *   1. drives the API over loopback with wrk (50 connections, 2 threads, random valid tokens and ids from the
 *      callers' portfolios): GET /v1/beneficiaires/{id}, then GET /v1/beneficiaires?limit=50; audit on;
 *   2. checks that the audit table grew by exactly the number of requests the server answered;
 *   3. baseline: the same lookups as bare SQL through `pg` (the queries the API runs, no HTTP, no token, no audit),
 *      50 concurrent clients.
 * Each API scenario is preceded by a 3 s warm-up (not measured). Prints a Markdown table. `--reuse` keeps the
 * loaded database from a previous run (its audit table and tokens are replaced).
 */
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { serve } from '@hono/node-server'
import pg from 'pg'
import { AuditWriter } from '../src/audit/audit-log.ts'
import { generateApiToken } from '../src/auth/api-token.ts'
import { portfolioRelation, portfolioWindow } from '../src/access/portfolio.ts'
import { findPersonForCaller, listPortfolio } from '../src/access/portfolio-queries.ts'
import { useAuditKeys } from '../src/audit/audit-keys.ts'
import { testKeys } from '../src/crypto/keys.ts'
import { migrate } from '../src/db/migrate.ts'
import { openPostgres } from '../src/db/postgres.ts'
import { createApp } from '../src/http/app.ts'
import { createLogger } from '../src/log/logger.ts'
import { purposeFields } from '../src/model/canonical-records.ts'
import { loadDeclarations } from '../src/declarations/load-declarations.ts'

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const DURATION = Number(arg('duration') ?? 20)
const BASELINE_DURATION = Number(arg('baseline-duration') ?? Math.min(DURATION, 10))
const REUSE = args.includes('--reuse')
const WARMUP = Number(arg('warmup') ?? 3)
/** Which scenarios to run: `by-id`, `list`, `baseline` (comma-separated; default all). */
const SCENARIOS = new Set((arg('scenarios') ?? 'by-id,list,baseline').split(','))
const PERSONS = 1_000_000
const REFERENTS = 1_000
const PER_REFERENT = 250
const ORGANISATIONS = 100
const CONNECTIONS = 50
const PURPOSE = 'accompagnement-rsa'
const adminUrl = process.env.PASSERELLE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const dbName = 'passerelle_bench_api'
const outDir = path.resolve('bench/out')
mkdirSync(outDir, { recursive: true })
const log = (msg: string) => process.stderr.write(`[bench:api] ${msg}\n`)
const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1)

const url = new URL(adminUrl)
url.pathname = `/${dbName}`
const admin = new pg.Client({ connectionString: adminUrl })
await admin.connect()
const exists = (await admin.query('select 1 from pg_database where datname = $1', [dbName])).rowCount! > 0
if (!REUSE || !exists) {
  await admin.query(`drop database if exists ${dbName} with (force)`)
  await admin.query(`create database ${dbName}`)
}
await admin.end()

const db = await openPostgres(url.toString(), { max: 16 })
await migrate(db)
const keys = testKeys()
useAuditKeys(keys.audit)
const { purposes } = loadDeclarations({ flowsDir: path.resolve('flows'), mappingsDir: path.resolve('mappings') })
if (!purposes.has(PURPOSE)) throw new Error(`purpose ${PURPOSE} is not declared in mappings/`)

const loaded = (await db.query<{ n: number }>('select count(*)::int as n from persons')).rows[0]!.n === PERSONS
if (!loaded) {
  const t0 = performance.now()
  log(`loading ${PERSONS.toLocaleString('en')} persons, dossiers and members...`)
  await db.exec(`
    insert into files (id, flow_id, name, size, sha256, status, source, started_at, transmitted_at)
    values (1, 'caf-beneficiaires', 'bench.xml', 1, repeat('0', 64), 'loaded', 'local', now(), now());
    alter table persons set (autovacuum_enabled = false);
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
    select setval('persons_id_seq', ${PERSONS});
    select setval('dossiers_id_seq', ${PERSONS});
    select setval('files_id_seq', 1);
  `)
  log(`canonical rows loaded in ${seconds(t0)} s; organisations, referents, assignments, tokens...`)
  const t1 = performance.now()
  await db.exec(`
    insert into organisations (id, siret, name, type)
    select o, lpad((21750000000000 + o * 10)::text, 14, '0'), 'Structure ' || o, (array['ccas', 'association', 'france-travail', 'departement'])[1 + o % 4]
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
  await db.exec('alter table persons reset (autovacuum_enabled)')
  // VACUUM cannot run in the implicit transaction of a multi-statement script.
  await db.exec('vacuum analyze')
  log(`portfolios loaded in ${seconds(t1)} s`)
}
// Fresh tokens each run (only their hashes are stored): one per referent.
await db.exec('delete from api_tokens; truncate audit_events; truncate audit_truncations;')
const tokens = new Map<number, string>()
{
  const rows: unknown[][] = []
  const expires = new Date(Date.now() + 30 * 86_400_000)
  for (let r = 1; r <= REFERENTS; r++) {
    const { token, hash } = generateApiToken()
    tokens.set(r, token)
    rows.push([hash, r, 1 + (r - 1) % ORGANISATIONS, PURPOSE, new Date(), expires])
  }
  await db.copyRows('api_tokens', ['token_hash', 'user_id', 'organisation_id', 'purpose', 'created_at', 'expires_at'], rows)
}
// Which organisation types the purpose admits: make every referent's organisation one of them.
const types = purposes.get(PURPOSE)!.recipients.find((r) => r.role === 'referent')!.organisation_types
await db.query(`update organisations set type = $1 where not (type = any($2::text[]))`, [types[0], types])

// Request files for wrk: token + path, drawn from each caller's own portfolio.
const pairs = await db.query<{ referent_user_id: number; public_id: string; person_id: number }>(
  `select a.referent_user_id, p.public_id, p.id as person_id
   from assignments a
   join persons p on p.id = a.person_id
   where a.person_id % 5 = 0`,
)
const byIdFile = path.join(outDir, 'api-by-id.txt')
const listFile = path.join(outDir, 'api-list.txt')
writeFileSync(byIdFile, pairs.rows.map((r) => `${tokens.get(r.referent_user_id)} /v1/beneficiaires/${r.public_id}`).join('\n') + '\n')
writeFileSync(listFile, [...tokens.entries()].map(([, t]) => `${t} /v1/beneficiaires?limit=50`).join('\n') + '\n')
const luaFile = path.join(outDir, 'api-wrk.lua')
writeFileSync(
  luaFile,
  `local lines = {}
init = function(args)
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
request = function()
  local l = lines[math.random(#lines)]
  local sp = l:find(" ")
  return wrk.format("GET", l:sub(sp + 1), { ["Authorization"] = "Bearer " .. l:sub(1, sp - 1) })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
`,
)

// The API, in this process, on loopback.
const audit = new AuditWriter(db)
const app = createApp({ db, keys, purposes, audit, log: createLogger({ level: 'warn' }) })
let answered = 0
const server = serve({
  fetch: async (req: Request, env: unknown) => {
    const res = await app.fetch(req, env as never)
    answered++
    return res
  },
  hostname: '127.0.0.1',
  port: 0,
})
await new Promise<void>((resolve) => server.once('listening', () => resolve()))
const port = (server.address() as { port: number }).port

interface WrkResult {
  requests: number
  duration_us: number
  connect: number
  read: number
  write: number
  status: number
  timeout: number
  p50_us: number
  p99_us: number
  max_us: number
}

function wrk(file: string, seconds: number): Promise<WrkResult> {
  return new Promise<WrkResult>((resolve, reject) => {
    const p = spawn('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '5s', '-s', luaFile, `http://127.0.0.1:${port}`, '--', file])
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WrkResult) : reject(new Error(`wrk exited ${code}: ${err}`))))
  })
}

/** Lets in-flight requests finish and their audit events commit. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 500))
  await audit.drain()
}

async function driveAsync(name: string, file: string): Promise<Record<string, string | number>> {
  // Warm-up (JIT, prepared statements on each pooled connection, token cache): not measured.
  log(`${name}: warm-up ${WARMUP} s`)
  await wrk(file, WARMUP)
  await settle()
  const auditBefore = (await db.query<{ n: number }>('select count(*)::int as n from audit_events')).rows[0]!.n
  const answeredBefore = answered
  log(`${name}: wrk -t2 -c${CONNECTIONS} -d${DURATION}s`)
  const cpuBefore = process.cpuUsage()
  const result = await wrk(file, DURATION)
  const cpu = process.cpuUsage(cpuBefore)
  await settle()
  const auditAfter = (await db.query<{ n: number }>('select count(*)::int as n from audit_events')).rows[0]!.n
  const served = answered - answeredBefore
  const errors = result.connect + result.read + result.write + result.status + result.timeout
  return {
    scenario: name,
    'req/s': Math.round(result.requests / (result.duration_us / 1e6)),
    'p50 ms': (result.p50_us / 1000).toFixed(1),
    'p99 ms': (result.p99_us / 1000).toFixed(1),
    errors,
    'requests (wrk)': result.requests,
    'answered (server)': served,
    'audit rows added': auditAfter - auditBefore,
    'audit = answered': auditAfter - auditBefore === served ? 'yes' : 'NO',
    'API process CPU µs/req': Math.round((cpu.user + cpu.system) / served),
  }
}
const loadBefore = loadavg()[0]!.toFixed(1)
const results: Record<string, string | number>[] = []
if (SCENARIOS.has('by-id')) results.push(await driveAsync('API GET /v1/beneficiaires/{id}', byIdFile))
if (SCENARIOS.has('list')) results.push(await driveAsync('API GET /v1/beneficiaires?limit=50', listFile))
await new Promise<void>((resolve) => server.close(() => resolve()))

// Baseline: the same queries through pg, 50 concurrent clients, no HTTP, no token check, no audit.
const purpose = purposes.get(PURPOSE)!
const fields = purposeFields(purpose)
async function baseline(name: string, one: (i: number) => Promise<unknown>): Promise<Record<string, string | number>> {
  log(`${name}: ${CONNECTIONS} clients, ${BASELINE_DURATION}s`)
  const latencies: number[] = []
  const end = performance.now() + BASELINE_DURATION * 1000
  let errors = 0
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      let i = c
      while (performance.now() < end) {
        const t0 = performance.now()
        try {
          await one(i)
        } catch {
          errors++
        }
        latencies.push(performance.now() - t0)
        i += CONNECTIONS
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1)
  return { scenario: name, 'req/s': Math.round(latencies.length / BASELINE_DURATION), 'p50 ms': q(0.5), 'p99 ms': q(0.99), errors, 'requests (wrk)': latencies.length }
}
const baselineDb = await openPostgres(url.toString(), { max: CONNECTIONS })
const sample = pairs.rows
const now = new Date()
if (SCENARIOS.has('baseline')) results.push(
  await baseline('pg baseline: person lookup query', (i) => {
    const r = sample[(i * 7919) % sample.length]!
    return findPersonForCaller(baselineDb, { publicId: r.public_id, caller: { relation: portfolioRelation('referent'), userId: r.referent_user_id, organisationId: 0, purposeId: 'accompagnement-rsa' }, fields, now })
  }),
)
if (SCENARIOS.has('baseline')) results.push(
  await baseline('pg baseline: portfolio page query (50)', (i) =>
    listPortfolio(baselineDb, {
      caller: { relation: 'referent', userId: 1 + (i % REFERENTS), organisationId: 0, purposeId: 'accompagnement-rsa' },
      fields,
      window: portfolioWindow(now, 30),
      afterPersonId: 0,
      limit: 50,
      filters: {},
      now,
    }),
  ),
)
await baselineDb.close()
await db.close()

const columns = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'requests (wrk)', 'answered (server)', 'audit rows added', 'audit = answered', 'API process CPU µs/req']
const table = [
  `| ${columns.join(' | ')} |`,
  `|${columns.map(() => '---').join('|')}|`,
  ...results.map((r) => `| ${columns.map((c) => r[c] ?? '—').join(' | ')} |`),
].join('\n')
process.stdout.write(`\n${PERSONS.toLocaleString('en')} persons, ${REFERENTS} referents × ${PER_REFERENT}, purpose ${PURPOSE}, ${CONNECTIONS} connections, ${DURATION} s per API scenario (1-minute load average on this 2-core machine: ${loadBefore} before, ${loadavg()[0]!.toFixed(1)} after; other engineers share the CPU)\n\n${table}\n`)
