/**
 * npm run bench:ingest [-- --foyers 100000] [-- --foyers 400000]
 *
 * Generates a realistic monthly CAF stock (VRSB0801, ~3 KB per foyer, windows-1252) and measures, in one run:
 *   1. the product path end to end: pull from a real OpenSSH server on loopback → staging → streaming parse and
 *      validation → minimisation → COPY into PostgreSQL → merge, one transaction (MB/s, persons/s, peak RSS);
 *   1b. the operator's command, `passerelle ingest --file` into PostgreSQL, under `/usr/bin/time -f %M`: the peak
 *      RSS of the whole process, worker threads included, as the issue 17 bar measures it (< 300 MB), beside MB/s;
 *      the same under serve's V8 heap flags (bin/passerelle gives serve 32 MB semi-spaces); and, as its baseline, the
 *      same command run as `node bin/passerelle.js` (without V8 heap flags);
 *   2. baseline: fast-xml-parser alone (default options), record by record, on the same file;
 *   3. baseline: `psql \copy` of the same number of person rows into a plain table.
 * Each measured run is a child process, so its peak RSS is its own. Prints a Markdown table.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import pg from 'pg'
import { cnafFileName, writeCnafFile } from '../src/fixtures/cnaf/write-cnaf-file.ts'
import { loadDeclarations } from '../src/declarations/load-declarations.ts'
import { startOpenSshForTests } from '../test/helpers/sshd.ts'
import { instanceEnv } from '../test/helpers/processes.ts'

const args = process.argv.slice(2)
const foyerCounts = args.flatMap((a, i) => (a === '--foyers' ? [Number(args[i + 1])] : []))
const sizes = foyerCounts.length > 0 ? foyerCounts : [100_000]
const adminUrl = process.env.PASSERELLE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const outDir = path.resolve('bench/out')
mkdirSync(outDir, { recursive: true })

function child(mode: string, ...argv: string[]): Record<string, any> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/ingest-child.ts', mode, ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`bench child ${mode} failed: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!)
}

/** The peak RSS bar of `passerelle ingest --file` for a 100,000-foyer stock (issue 17), in MB as `time -f %M` / 1024. */
const RSS_BAR_MB = 300

/**
 * `passerelle ingest --file` as an operator runs it, into a fresh PostgreSQL database, under `/usr/bin/time -f %M`
 * (peak resident set of the process, all its threads): seconds and MB.
 */
function ingestCommand(databaseUrl: string, file: string, command: string[]): { seconds: number; peakRssMb: number; status: string } {
  const env = instanceEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', PASSERELLE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'passerelle-bench-data-')) })
  execFileSync(process.execPath, ['bin/passerelle.js', 'migrate'], { env, stdio: 'ignore' })
  const timeFile = path.join(mkdtempSync(path.join(tmpdir(), 'passerelle-bench-time-')), 'time.txt')
  const t0 = performance.now()
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', '%M', '-o', timeFile, ...command, 'ingest', '--flow', 'caf-beneficiaires', '--file', file, '--json'],
    { env, encoding: 'utf8', maxBuffer: 1 << 24 },
  )
  const seconds = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`passerelle ingest --file failed (${r.status}): ${r.stderr.slice(-2000)}`)
  const peakKb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1))
  const status = (JSON.parse(r.stdout) as { files: { status: string }[] }).files[0]?.status ?? 'none'
  return { seconds, peakRssMb: Math.round(peakKb / 1024), status }
}

const rows: string[] = []
for (const foyers of sizes) {
  const dtcreaflux = '2026-11-02'
  const name = cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux })
  const cached = path.join(outDir, `${foyers}-${name}`)
  let persons = 0
  const g0 = performance.now()
  const report = await writeCnafFile(cached, { flow: 'caf', seed: 2026, typeflux: 'M', foyers, dtcreaflux })
  persons = report.persons
  const genSeconds = (performance.now() - g0) / 1000
  const bytes = statSync(cached).size
  const mb = bytes / 1e6
  console.error(`generated ${foyers} foyers, ${persons} persons, ${mb.toFixed(0)} MB in ${genSeconds.toFixed(1)} s`)

  // 1. The product path, from a real OpenSSH server into a fresh PostgreSQL database.
  const sftp = await startOpenSshForTests()
  const remote = sftp.remoteDir('caf')
  mkdirSync(sftp.localPath(remote), { recursive: true })
  execFileSync('cp', [cached, path.join(sftp.localPath(remote), name)])
  const dbName = `passerelle_bench_${process.pid}_${foyers}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`drop database if exists ${dbName}`)
  await admin.query(`create database ${dbName}`)
  const u = new URL(adminUrl)
  u.pathname = `/${dbName}`
  execFileSync(process.execPath, ['bin/passerelle.js', 'migrate'], { env: { ...process.env, DATABASE_URL: u.toString(), LOG_LEVEL: 'warn' } })
  // 1b. The operator's command, measured as the issue measures it (a database of its own): `passerelle` as
  // installed (bin/passerelle, the launcher, with the V8 heap flags of every command but serve), the same code
  // under serve's flags (what a stock pulled by serve's scheduler costs), and as baseline of the same run
  // `node bin/passerelle.js` without flags (V8's default heap sizing). Another V8 flag can be tried by adding a run
  // here, e.g. [process.execPath, '--max-semi-space-size=8', 'bin/passerelle.js'].
  const cliRun = async (suffix: string, command: string[]) => {
    const cliDb = `${dbName}_${suffix}`
    await admin.query(`drop database if exists ${cliDb}`)
    await admin.query(`create database ${cliDb}`)
    const cliUrl = new URL(adminUrl)
    cliUrl.pathname = `/${cliDb}`
    const run = ingestCommand(cliUrl.toString(), cached, command)
    await admin.query(`drop database ${cliDb} with (force)`)
    if (run.status !== 'loaded') throw new Error(`${command.join(' ')} ingest --file did not load the file: ${run.status}`)
    return run
  }
  const cli = await cliRun('cli', ['bin/passerelle'])
  const cliServe = await cliRun('serve', [process.execPath, '--max-semi-space-size=32', '--heap-growing-percent=100', 'bin/passerelle.js'])
  const cliDefault = await cliRun('default', [process.execPath, 'bin/passerelle.js'])

  const flow = loadDeclarations({ flowsDir: 'flows', mappingsDir: 'mappings' }).flows.get('caf-beneficiaires')!
  const pull = child(
    'pull',
    JSON.stringify({
      databaseUrl: u.toString(),
      flow: { ...flow, source: sftp.source('caf', { pattern: flow.source!.pattern, min_age_seconds: 0 }) },
      env: sftp.env(),
      stagingDir: mkdtempSync(path.join(tmpdir(), 'passerelle-bench-staging-')),
    }),
  )
  await sftp.close()
  if (pull.status !== 'loaded') throw new Error(`pull did not load the file: ${pull.status} ${pull.reason ?? ''}`)

  // 2. Baseline: fast-xml-parser alone, record by record.
  const fxp = child('fxp', cached)

  // 3. Baseline: psql \copy of as many person rows (15 columns) into a plain table.
  const csv = path.join(outDir, `persons-${persons}.csv`)
  if (!existsSync(csv)) {
    const out = createWriteStream(csv)
    for (let i = 0; i < persons; i++) {
      const line = `${i},X${i},NOM${i % 997},NOMNAI${i % 991},PRENOM${i % 613},,,1980-01-${String((i % 28) + 1).padStart(2, '0')},${(i % 2) + 1},COMMUNE,DEM,t,f,t,2026-11-02\n`
      if (!out.write(line)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
  }
  await admin.query('drop table if exists bench_copy_persons')
  await admin.query(
    'create table bench_copy_persons (id bigint, k text, nom text, nom_naissance text, prenom text, prenom2 text, prenom3 text, date_naissance date, sexe text, commune text, role text, a text, b text, c text, d date)',
  )
  const c0 = performance.now()
  execFileSync('psql', [adminUrl, '-q', '-c', `\\copy bench_copy_persons from '${csv}' csv`])
  const copySeconds = (performance.now() - c0) / 1000
  await admin.query('drop table bench_copy_persons')
  await admin.query(`drop database ${dbName} with (force)`)
  await admin.end()

  const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en')
  rows.push(
    `| ${foyers.toLocaleString('en')} foyers, ${mb.toFixed(0)} MB | Passerelle pull → PostgreSQL (end to end) | ${pull.seconds.toFixed(1)} | ${(mb / pull.seconds).toFixed(1)} | ${rate(persons, pull.seconds)} | ${pull.maxRssMb} |`,
    `| | \`passerelle ingest --file\` → PostgreSQL, peak RSS by \`/usr/bin/time -f %M\` (bar < ${RSS_BAR_MB} MB${foyers === 100_000 ? (cli.peakRssMb < RSS_BAR_MB ? ': met' : ': NOT met') : ''}) | ${cli.seconds.toFixed(1)} | ${(mb / cli.seconds).toFixed(1)} | ${rate(persons, cli.seconds)} | ${cli.peakRssMb} |`,
    `| | the same under serve's V8 heap flags (32 MB semi-spaces): a stock pulled by serve's scheduler | ${cliServe.seconds.toFixed(1)} | ${(mb / cliServe.seconds).toFixed(1)} | ${rate(persons, cliServe.seconds)} | ${cliServe.peakRssMb} |`,
    `| | baseline: \`node bin/passerelle.js ingest --file\` without V8 heap flags (default heap sizing) | ${cliDefault.seconds.toFixed(1)} | ${(mb / cliDefault.seconds).toFixed(1)} | ${rate(persons, cliDefault.seconds)} | ${cliDefault.peakRssMb} |`,
    `| | baseline: fast-xml-parser alone, record by record | ${fxp.seconds.toFixed(1)} | ${(mb / fxp.seconds).toFixed(1)} | ${rate(persons, fxp.seconds)} | ${fxp.maxRssMb} |`,
    `| | baseline: psql \\copy of ${persons.toLocaleString('en')} person rows | ${copySeconds.toFixed(1)} | — | ${rate(persons, copySeconds)} | — |`,
    `| | ratio: end to end ÷ fast-xml-parser alone (speed) | | ×${(fxp.seconds / pull.seconds).toFixed(2)} | | |`,
  )
}
console.log('| file | run | seconds | MB/s | persons/s | peak RSS (MB) |')
console.log('|---|---|---|---|---|---|')
for (const r of rows) console.log(r)
