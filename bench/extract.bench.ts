/**
 * npm run bench:extract [-- --persons 1000000] [-- --fresh]
 *
 * Statistical extract of a large population, in one run:
 *   1. seeds (once, kept between runs unless --fresh) a PostgreSQL database with N persons of the population
 *      (RSA demandeurs and conjoints, with their dossiers and France Travail registrations), generated in SQL;
 *   2. baseline: the bare SQL read of the same rows (the population query, keyset batches, rows discarded);
 *   3. the product path: `runExtract` of the shipped `statistiques` purpose for one recipient — read, project,
 *      pseudonymise (HMAC), k-anonymity search, CSV + manifest, record and audit;
 *   4. an aggregate table of the same purpose (counts with primary and secondary suppression).
 * Each measured run is a child process, so its peak RSS is its own. Prints a Markdown table.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { migrate } from '../src/db/migrate.ts'
import { openPostgres } from '../src/db/postgres.ts'
import { createLogger } from '../src/log/logger.ts'
import { purposeFields } from '../src/model/canonical-records.ts'
import { loadDeclarations } from '../src/declarations/load-declarations.ts'
import { readPopulation, refreshPlannerStatistics } from '../src/statistics/queries.ts'
import { runExtract } from '../src/statistics/run-extract.ts'

const args = process.argv.slice(2)
const adminUrl = process.env.PASSERELLE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

function option(name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

function databaseUrl(name: string): string {
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return u.toString()
}

const peakMb = () => process.resourceUsage().maxRSS / 1024
const cpuSeconds = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/** Child modes: each prints one JSON line with its figures. */
async function childMain(mode: string, url: string): Promise<void> {
  const db = await openPostgres(url, { max: 2 })
  const declarations = loadDeclarations({ flowsDir: 'flows', mappingsDir: 'mappings' })
  const purpose = declarations.purposes.get('statistiques')!
  const stats = declarations.statistics.get('statistiques')!
  const log = createLogger({ level: 'warn' })
  const started = performance.now()
  const cpu0 = cpuSeconds()
  try {
    if (mode === 'baseline') {
      await refreshPlannerStatistics(db)
      const rows = await readPopulation(db, { fields: purposeFields(purpose), roles: stats.population.roles, now: new Date(), purpose: purpose.id, batchSize: 20_000 }, () => {})
      console.log(JSON.stringify({ mode, rows, seconds: (performance.now() - started) / 1000, cpu: cpuSeconds() - cpu0, load: os.loadavg()[0], peakMb: peakMb() }))
      return
    }
    const keys = mkdtempSync(path.join(tmpdir(), 'passerelle-bench-keys-'))
    writeFileSync(path.join(keys, 'drees.v1.key'), Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 })
    const outDir = mkdtempSync(path.join(tmpdir(), 'passerelle-bench-extracts-'))
    try {
      const result = await runExtract(
        { db, log, env: { PASSERELLE_EXTRACT_KEYS_DIR: keys } },
        { purpose, recipientId: 'drees', asOf: '2026-05-01', outDir, push: false, aggregate: mode === 'aggregate' ? stats.aggregates[0]!.name : undefined },
      )
      const m = result.manifest
      console.log(
        JSON.stringify({
          mode,
          rows: m.file.rows,
          bytes: m.file.bytes,
          seconds: (performance.now() - started) / 1000,
          cpu: cpuSeconds() - cpu0,
          load: os.loadavg()[0],
          peakMb: peakMb(),
          ...(m.kind === 'microdata'
            ? { population: m.disclosure.population, suppressed: m.disclosure.suppressed, kReached: m.disclosure.kReached, levels: m.disclosure.generalisation }
            : { cells: m.table.cells, suppressedCells: m.table.suppressedCells }),
        }),
      )
    } finally {
      rmSync(outDir, { recursive: true, force: true })
      rmSync(keys, { recursive: true, force: true })
    }
  } finally {
    await db.close()
  }
}

/** N persons of the population: singles (DEM) and couples (DEM + CJT), generated in SQL with a fixed seed. */
async function seed(url: string, persons: number): Promise<void> {
  const db = await openPostgres(url, { max: 1 })
  try {
    await migrate(db)
    const couples = Math.floor(persons * 0.3)
    const foyers = persons - couples
    await db.transaction(async (tx) => {
      await tx.query('select setseed(0.2026)')
      const { rows } = await tx.query<{ id: number }>(
        `insert into files (flow_id, name, size, sha256, status, source, started_at)
         values ('caf-beneficiaires', 'bench-seed', 0, repeat('0', 64), 'loaded', 'local', now())
         returning id`,
      )
      const fileId = rows[0]!.id
      // Dossiers 1..foyers; the first `couples` are couples.
      await tx.query(
        `with g as (
           select f, f <= $2 as couple, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5, random() as r6
           from generate_series(1, $1::int) f
         ), k as (
           select *, case when r2 < 0.5 then 0 else 1 + floor(r3 * r3 * 4)::int end as enfants
           from g
         )
         insert into dossiers (id, flow_id, organisme, numdemrsa, matricule, numorg, date_demande, etat_droit, situation_familiale,
           nombre_personnes, nombre_enfants, foyer_soumis_droits_devoirs, adresse_numero_voie, adresse_type_voie, adresse_nom_voie,
           adresse_code_postal, adresse_code_insee, adresse_commune, adresse_pays, file_id, transmitted_at)
         select f, 'caf-beneficiaires', case when r1 < 0.04 then 'MSA' else 'CAF' end, lpad(f::text, 11, '0'), lpad(f::text, 7, '0') || '00000000', '931',
           make_date(2009 + floor(r4 * 17)::int, 1 + floor(r5 * 12)::int, 1 + floor(r6 * 28)::int),
           (array['2','2','2','2','3','4','5','6'])[1 + floor(r1 * 8)::int],
           case when couple then (array['MAR','PAC','VIM'])[1 + floor(r5 * 3)::int] else (array['CEL','CEL','DIV','SEF','VEU','ISO'])[1 + floor(r5 * 6)::int] end,
           enfants + case when couple then 2 else 1 end, enfants, r6 < 0.7,
           (1 + floor(r4 * 180))::text, 'RUE', 'DE LA REPUBLIQUE ' || (f % 997), '93' || lpad((floor(r3 * 24) * 10)::int::text, 3, '0'),
           '930' || lpad((1 + floor(r3 * 24))::int::text, 2, '0'), 'COMMUNE ' || floor(r3 * 24)::int, 'FRA', $3, now()
         from k`,
        [foyers, couples, fileId],
      )
      // Persons: one DEM per dossier (id = dossier id), one CJT per couple (id = foyers + dossier id).
      await tx.query(
        `with g as (
           select i, case when i <= $1 then i else i - $1 end as dossier, i > $1 as conjoint, random() as r1, random() as r2, random() as r3
           from generate_series(1, $2::int) i
         )
         insert into persons (id, match_key, qualite, nom, nom_naissance, prenom, date_naissance, sexe, commune_naissance, file_id, transmitted_at)
         select i, md5('person' || i) || md5('key' || i), case when (conjoint and r1 < 0.8) or (not conjoint and r1 < 0.55) then 'MME' else 'MR' end,
           'NOM' || (i % 5000), 'NOM' || (i % 5000), 'PRENOM' || (i % 700),
           make_date(1956 + floor(r2 * 52)::int, 1 + floor(r3 * 12)::int, 1 + floor(r2 * 28)::int),
           case when (conjoint and r1 < 0.8) or (not conjoint and r1 < 0.55) then '2' else '1' end, 'PARIS', $3, now()
         from g`,
        [foyers, persons, fileId],
      )
      await tx.query(
        `insert into dossier_members (dossier_id, person_id, role, responsable_dossier, a_charge, soumis_droits_devoirs, file_id, transmitted_at)
         select case when i <= $1 then i else i - $1 end, i, case when i <= $1 then 'DEM' else 'CJT' end, i <= $1, false, random() < 0.8, $3, now()
         from generate_series(1, $2::int) i`,
        [foyers, persons, fileId],
      )
      await tx.query(
        `insert into france_travail_registrations (person_key, identifiant_pe, etat, date_etat, code, file_id, transmitted_at)
         select p.match_key, lpad(p.id::text, 7, '0') || 'X001', (array['inscription','inscription','cessation','radiation'])[1 + floor(random() * 4)::int],
           date '2025-01-01' + floor(random() * 365)::int, '1', $1, now()
         from persons p
         where random() < 0.45`,
        [fileId],
      )
      await tx.query(`select setval('dossiers_id_seq', $1), setval('persons_id_seq', $2)`, [foyers, persons])
    })
    await db.query('analyze persons, dossiers, dossier_members, france_travail_registrations')
  } finally {
    await db.close()
  }
}

function child(mode: string, url: string): Record<string, any> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/extract.bench.ts', '--child', mode, url], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`bench child ${mode} failed: ${r.stderr.slice(-3000)}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!)
}

async function main(): Promise<void> {
  const persons = Number(option('--persons') ?? 1_000_000)
  const name = `passerelle_bench_extract_${persons}`
  const url = databaseUrl(name)
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount! > 0
  if (exists && args.includes('--fresh')) await admin.query(`drop database ${name} with (force)`)
  if (!exists || args.includes('--fresh')) {
    await admin.query(`create database ${name}`)
    await admin.end()
    const s0 = performance.now()
    await seed(url, persons)
    console.error(`seeded ${persons} persons in ${((performance.now() - s0) / 1000).toFixed(1)} s (database ${name}, kept for the next run; --fresh to rebuild)`)
  } else {
    await admin.end()
    console.error(`reusing database ${name} (--fresh to rebuild)`)
  }
  // Earlier extracts would raise the floor of the levels: start each run from an empty extracts table.
  const db = await openPostgres(url, { max: 1 })
  await migrate(db)
  await db.query('delete from extracts')
  await db.close()

  const baseline = child('baseline', url)
  const extract = child('extract', url)
  const aggregate = child('aggregate', url)
  const fmt = (r: Record<string, any>) =>
    `${r.seconds.toFixed(1)} s | ${r.cpu.toFixed(1)} s | ${Math.round(r.peakMb)} MB | ${Math.round(r.rows / r.seconds).toLocaleString('en')} rows/s | ${r.load.toFixed(1)}`
  console.log(`\nStatistical extract of ${persons.toLocaleString('en')} persons (PostgreSQL on loopback, Node ${process.versions.node}):\n`)
  console.log('| run | wall time | Node CPU time | peak RSS | throughput | load average | notes |')
  console.log('|---|---|---|---|---|---|---|')
  console.log(`| baseline: bare SQL read of the population (one cursor, batches of 20,000) | ${fmt(baseline)} | ${baseline.rows.toLocaleString('en')} rows read |`)
  console.log(
    `| extract: read → project → HMAC pseudonyms → k-anonymity → CSV + manifest | ${fmt({ ...extract, rows: extract.population })} | ` +
      `${extract.rows.toLocaleString('en')} rows written (${(extract.bytes / 1e6).toFixed(0)} MB), ${extract.suppressed} suppressed, k reached ${extract.kReached}; ` +
      `levels ${Object.entries(extract.levels as Record<string, string>).map(([c, l]) => `${c}=${l}`).join(', ')} |`,
  )
  console.log(`| aggregate table (counts, primary + secondary suppression) | ${fmt({ ...aggregate, rows: extract.population })} | ${aggregate.cells} cells, ${aggregate.suppressedCells} suppressed |`)
  console.log(`\nTargets: extract ≤ 30 s and ≤ 500 MB. Node CPU time excludes PostgreSQL's; the load average (1 min, at the end of`)
  console.log('each run) says how busy the shared machine was: wall times grow with it.')
}

if (args[0] === '--child') await childMain(args[1]!, args[2]!)
else await main()
