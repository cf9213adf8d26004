import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cnafFileName, writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { createTestDatabase, postgresUnavailable, testBackend, type TestDatabase } from '../helpers/database.ts'
import { instanceEnv, REPO, spawnPasserelle, type Spawned } from '../helpers/processes.ts'
import { startSftpForTests, type TestSftp } from '../helpers/sshd.ts'

const onPostgres = testBackend() === 'postgres' && !postgresUnavailable()

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** A copy of the shipped declarations where the CAF flow reads `remoteDir` every 2 seconds. */
function flowsEverySeconds(remoteDir: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-flows-'))
  cpSync(path.join(REPO, 'flows'), dir, { recursive: true })
  const file = path.join(dir, 'caf-beneficiaires.yaml')
  const yaml = readFileSync(file, 'utf8')
    .replace(/^schedule: .*$/m, "schedule: '*/2 * * * * *'")
    .replace(/remote_dir: .*$/m, `remote_dir: ${remoteDir}`)
    .replace(/min_age_seconds: .*$/m, 'min_age_seconds: 0')
  writeFileSync(file, yaml)
  return dir
}

async function stopAll(processes: Spawned[]) {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM')
  return Promise.all(processes.map((p) => p.exited))
}

describe.skipIf(!onPostgres)('serve: several instances on one PostgreSQL', () => {
  let t: TestDatabase
  let sftp: TestSftp
  let flowsDir: string
  let drop: string
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-serve-'))
  const running: Spawned[] = []

  beforeAll(async () => {
    t = await createTestDatabase()
    sftp = await startSftpForTests()
    drop = sftp.localPath(sftp.remoteDir('caf'))
    mkdirSync(drop, { recursive: true })
    flowsDir = flowsEverySeconds(sftp.remoteDir('caf'))
  })
  afterAll(async () => {
    await stopAll(running)
    await sftp?.close()
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
    rmSync(flowsDir, { recursive: true, force: true })
  })

  const start = (name: string, extra: Record<string, string> = {}) => {
    const p = spawnPasserelle(
      ['serve', '--port', '0'],
      instanceEnv({
        DATABASE_URL: t.url,
        PASSERELLE_FLOWS_DIR: flowsDir,
        PASSERELLE_DATA_DIR: path.join(work, name),
        LOG_LEVEL: 'info',
        ...sftp.env('CAF'),
        ...extra,
      }),
    )
    running.push(p)
    return p
  }
  const url = async (p: Spawned) => (await p.waitFor(/listening on (http:\/\/[0-9.:]+)/))[1]!

  async function dropFile(options: { typeflux: 'M' | 'I'; dtcreaflux: string; foyers?: number; indices?: number[] }) {
    const name = cnafFileName({ flow: 'caf', typeflux: options.typeflux, dtcreaflux: options.dtcreaflux })
    const part = path.join(work, name)
    await writeCnafFile(part, { flow: 'caf', seed: 21, ...options })
    const when = new Date(`${options.dtcreaflux}T03:00:00Z`)
    utimesSync(part, when, when)
    cpSync(part, path.join(drop, name), { preserveTimestamps: true })
    return name
  }

  it('loads each file exactly once while two instances pull the same flow every 2 seconds', async () => {
    const a = start('a')
    const b = start('b')
    await Promise.all([url(a), url(b)])
    const names = [
      await dropFile({ typeflux: 'M', foyers: 200, dtcreaflux: '2026-11-02' }),
      await dropFile({ typeflux: 'I', indices: [1, 2, 3], dtcreaflux: '2026-11-03' }),
      await dropFile({ typeflux: 'I', indices: [4, 250], dtcreaflux: '2026-11-04' }),
    ]
    await until('the three files loaded', async () => {
      const { rows } = await t.db.query<{ n: number }>(`select count(*)::int as n from files where status = 'loaded'`)
      return rows[0]!.n >= 3 ? true : undefined
    })
    await new Promise((r) => setTimeout(r, 5000)) // more ticks of both schedulers
    const { rows: files } = await t.db.query<{ name: string; status: string }>('select name, status from files order by id')
    expect(files).toEqual(names.map((name) => ({ name, status: 'loaded' })))
    const { rows: dossiers } = await t.db.query<{ n: number }>('select count(*)::int as n from dossiers')
    expect(dossiers[0]!.n).toBe(201)
    const { rows: failed } = await t.db.query<{ n: number }>(`select count(*)::int as n from job_runs where outcome = 'failed'`)
    expect(failed[0]!.n).toBe(0)
    for (const name of names) expect(existsSync(path.join(drop, 'done', name))).toBe(true)
    expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null])
    const exits = await stopAll([a, b])
    expect(exits.map((e) => e.code)).toEqual([0, 0])
  }, 180_000)

  it('answers /readyz 503 while the database is unreachable, and 200 again once it is back, without crashing', async () => {
    // A TCP proxy in front of the real PostgreSQL stands for the database going down and coming back.
    const target = new URL(t.url!)
    const sockets = new Set<net.Socket>()
    const listen = (port: number) =>
      new Promise<net.Server>((resolve) => {
        const server = net.createServer((client) => {
          const upstream = net.connect(Number(target.port || 5432), target.hostname)
          sockets.add(client).add(upstream)
          client.pipe(upstream).pipe(client)
          const drop = () => (client.destroy(), upstream.destroy())
          client.on('error', drop)
          upstream.on('error', drop)
        })
        server.listen(port, '127.0.0.1', () => resolve(server))
      })
    let proxy = await listen(0)
    const proxyPort = (proxy.address() as net.AddressInfo).port
    const viaProxy = new URL(t.url!)
    viaProxy.port = String(proxyPort)
    const p = start('ready', { DATABASE_URL: viaProxy.toString() })
    const base = await url(p)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)

    await new Promise<void>((resolve) => proxy.close(() => resolve()))
    for (const s of sockets) s.destroy()
    const down = await until('/readyz to fail', async () => {
      const r = await fetch(`${base}/readyz`)
      return r.status === 503 ? r : undefined
    }, 30_000)
    expect(await down.json()).toMatchObject({ ready: false, checks: { database: false } })
    expect((await fetch(`${base}/healthz`)).status).toBe(200)

    proxy = await listen(proxyPort)
    await until('/readyz to recover', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 30_000)
    expect(p.child.exitCode).toBeNull()
    const [exit] = await stopAll([p])
    expect(exit!.code).toBe(0)
    await new Promise<void>((resolve) => proxy.close(() => resolve()))
    for (const s of sockets) s.destroy()
  }, 120_000)

  it('refuses a port in use naming PORT, with nothing started (no scheduler), exit 78', async () => {
    const first = start('port-first')
    const port = new URL(await url(first)).port
    const second = spawnPasserelle(['serve', '--port', port], instanceEnv({ DATABASE_URL: t.url, PASSERELLE_FLOWS_DIR: flowsDir, PASSERELLE_DATA_DIR: path.join(work, 'port-second'), LOG_LEVEL: 'info', ...sftp.env('CAF') }))
    running.push(second)
    const exit = await second.exited
    expect(exit.code).toBe(78)
    expect(second.stderr()).toContain(`cannot listen: port ${port} is already in use (PORT, or serve --port); nothing was started`)
    expect(second.stdout() + second.stderr()).not.toMatch(/scheduler started|node:events|at Server\./)
    await stopAll([first])
  }, 120_000)

  it('stops on SIGTERM within its drain time while a client trickles its request a byte at a time', async () => {
    const p = start('trickle')
    const address = new URL(await url(p))
    const socket = net.connect(Number(address.port), address.hostname)
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.on('error', () => {})
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
    const trickle = setInterval(() => socket.write('X'), 500)
    await new Promise((r) => setTimeout(r, 1000))
    const stoppedAt = Date.now()
    p.child.kill('SIGTERM')
    const exit = await p.exited
    clearInterval(trickle)
    socket.destroy()
    expect(exit.code).toBe(0)
    // STOP_DRAIN_MS (10 s) plus the audit checkpoint and closing the database; before, it waited for the client.
    expect(Date.now() - stoppedAt).toBeLessThan(20_000)
  }, 120_000)

  it('on SIGTERM in the middle of a file, rolls it back and leaves it for the next run', async () => {
    await t.db.query('truncate files, rejections, flow_progress, dossiers, persons, dossier_members, state_changes, job_runs cascade')
    for (const sub of ['done', 'rejected']) rmSync(path.join(drop, sub), { recursive: true, force: true })
    const p = start('sigterm', { LOG_LEVEL: 'debug' })
    const name = await dropFile({ typeflux: 'M', foyers: 4000, dtcreaflux: '2026-11-10' })
    await p.waitFor(/records staged/, 120_000)
    p.child.kill('SIGTERM')
    const exit = await p.exited
    expect(exit.code).toBe(0)
    const { rows } = await t.db.query<{ files: number; dossiers: number }>(
      'select (select count(*)::int from files) as files, (select count(*)::int from dossiers) as dossiers',
    )
    expect(rows[0]).toEqual({ files: 0, dossiers: 0 })
    expect(existsSync(path.join(drop, name))).toBe(true)
    expect(existsSync(path.join(drop, `${name}.ack`))).toBe(false)
  }, 180_000)
})

describe.skipIf(testBackend() !== 'pglite')('serve --demo: the first run with no setup', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'passerelle-demo-'))
  let demo: Spawned | undefined
  afterAll(async () => {
    if (demo) await stopAll([demo])
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('loads the synthetic flows, answers /readyz and serves demo data to a demo referent token', async () => {
    demo = spawnPasserelle(['serve', '--demo', '--port', '0'], {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|PASSERELLE_|[A-Z]+_SFTP_)/.test(k))),
      PASSERELLE_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    })
    await demo.waitFor(/Stop with Ctrl-C/, 170_000)
    const out = demo.stdout()
    expect(out).toContain('SYNTHETIC')
    const base = out.match(/API\s+(http:\/\/[0-9.:]+)\/v1/)![1]!
    const token = out.match(/^\s+referent\s+accompagnement-rsa\s+(psl_\S+)/m)![1]!
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    const page = await fetch(`${base}/v1/beneficiaires?limit=5`, { headers: { authorization: `Bearer ${token}` } })
    expect(page.status).toBe(200)
    const body = (await page.json()) as { items: Record<string, unknown>[] }
    expect(body.items.length).toBeGreaterThan(0)
    expect(Object.keys(body.items[0]!)).not.toContain('nir')
    const admin = out.match(/^\s+admin\s+pilotage-et-controle\s+(psl_\S+)/m)![1]!
    const runs = (await (await fetch(`${base}/v1/admin/runs?limit=50`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { jobs: { job: string; outcome: string }[] }
    expect(runs.jobs).toContainEqual(expect.objectContaining({ job: 'ingest:caf-beneficiaires', outcome: 'succeeded' }))
    expect((await fetch(`${base}/v1/admin/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404)
    expect(out).toMatch(/succeeded\s+ingest:caf-beneficiaires/)
    expect(out).toMatch(/succeeded\s+ingest:orientations/)
    // The console, with sign-in through the local OpenID Connect provider on loopback.
    const consoleUrl = out.match(/Console\s+(http:\/\/\S+\/console)/)![1]!
    expect(await (await fetch(consoleUrl)).text()).toContain('Se connecter')
    const signIn = await fetch(`${consoleUrl}/connexion`, { redirect: 'manual' })
    expect(signIn.status).toBe(302)
    expect(new URL(signIn.headers.get('location')!).hostname).toBe('127.0.0.1')
    expect(out).toMatch(/succeeded\s+ingest:france-travail-mensuel\s+\{"files":1,"loaded":1,"rejected":0,/)
    // The SPIE extracts, encrypted for the demo key pair, deciphered as they stream; the homonyms' lines are queued.
    expect(out).toMatch(/succeeded\s+ingest:france-travail-spie\s+\{"files":1,"loaded":1,"rejected":0,/)
    expect(out).toMatch(/succeeded\s+ingest:france-travail-spie-actions\s+\{"files":1,"loaded":1,"rejected":0,/)
    const exit = await stopAll([demo])
    expect(exit[0]!.code).toBe(0)
  }, 200_000)
})
