import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { completeSiret } from '../../src/auth/siret.ts'
import { openPglite } from '../../src/db/pglite.ts'
import { createTestDatabase, postgresUnavailable, testBackend } from '../helpers/database.ts'
import { instanceEnv, REPO, spawnPasserelle, type Spawned } from '../helpers/processes.ts'

/**
 * One process owns an embedded data folder. CLI commands run beside `serve` reach its database through the
 * socket it serves; nothing is written to a second PGlite whose writes would vanish when serve stops.
 */
const PLANTED_NIR = '1850375123456' // synthetic: must never be printed

interface Finished {
  code: number | null
  out: string
  err: string
}

const children = new Set<ChildProcess>()

/** `passerelle <args>` to its end (killed after 4 minutes: code null), with `input` on standard input. */
function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/passerelle.js'), ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] })
    children.add(child)
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000)
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.stdin.end(input)
    child.on('exit', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, out, err })
    })
  })
}

const openRights = (env: NodeJS.ProcessEnv) =>
  runCli(['rights', 'open', '--type', 'access', '--nir', '-', '--birth-date', '1985-03-12', '--received', '2026-11-02'], env, `${PLANTED_NIR}\n`)
const createOrg = (env: NodeJS.ProcessEnv, n: number) =>
  runCli(['orgs', 'create', '--siret', completeSiret(`2175001${String(n).padStart(6, '0')}`), '--name', `Structure ${n}`, '--type', 'ccas'], env)

/** What the folder holds once nobody owns it any more: request count and the organisations' SIRETs. */
async function stored(dataDir: string): Promise<{ requests: number; sirets: string[] }> {
  const db = await openPglite(path.join(dataDir, 'pglite'))
  try {
    const requests = (await db.query<{ n: number }>('select count(*)::int as n from rights_requests')).rows[0]!.n
    const sirets = (await db.query<{ siret: string }>('select siret from organisations order by siret')).rows.map((r) => r.siret)
    return { requests, sirets }
  } finally {
    await db.close()
  }
}

function expectSucceeded(r: Finished) {
  expect(r.err).not.toMatch(/passerelle: (?!the embedded database)/)
  expect(r.code).toBe(0)
  expect(r.out + r.err).not.toContain(PLANTED_NIR)
}

describe.skipIf(testBackend() !== 'pglite')('the embedded database has exactly one owner', { timeout: 600_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-owner-'))
  const running: Spawned[] = []
  let n = 0
  const folder = () => {
    const dataDir = path.join(work, `data-${++n}`)
    return { dataDir, env: instanceEnv({ PASSERELLE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }) }
  }
  const serve = async (env: NodeJS.ProcessEnv) => {
    const p = spawnPasserelle(['serve', '--port', '0', '--no-scheduler'], env)
    running.push(p)
    await p.waitFor(/listening on http/, 240_000)
    return p
  }
  const stop = async (p: Spawned) => {
    p.child.kill('SIGTERM')
    return p.exited
  }
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
    await Promise.all(running.map((p) => p.exited))
    rmSync(work, { recursive: true, force: true })
  })

  it('keeps the writes of CLI commands run beside serve once serve has stopped', async () => {
    const { dataDir, env } = folder()
    const server = await serve(env)
    const [opened, created] = await Promise.all([openRights(env), createOrg(env, 1)])
    expectSucceeded(opened)
    expect(opened.out).toMatch(/^request #1 \(access\)/)
    expectSucceeded(created)
    expect(server.child.exitCode).toBeNull()
    expect((await stop(server)).code).toBe(0)
    expect(existsSync(path.join(dataDir, 'pglite.owner'))).toBe(false)
    expect(await stored(dataDir)).toEqual({ requests: 1, sirets: [completeSiret('2175001000001')] })
  })

  it('after serve is killed with -9, the next serve takes the folder over and CLI writes beside it are kept', async () => {
    const { dataDir, env } = folder()
    const first = await serve(env)
    expectSucceeded(await createOrg(env, 1))
    first.child.kill('SIGKILL')
    await first.exited
    // The dead owner's lock and socket are still there: neither may block the folder.
    const second = await serve(env)
    const [opened, created] = await Promise.all([openRights(env), createOrg(env, 2)])
    expectSucceeded(opened)
    expectSucceeded(created)
    expect((await stop(second)).code).toBe(0)
    expect(await stored(dataDir)).toEqual({ requests: 1, sirets: [completeSiret('2175001000001'), completeSiret('2175001000002')] })
  })

  it('after serve is killed with -9, a CLI command takes the folder over on its own', async () => {
    const { dataDir, env } = folder()
    const server = await serve(env)
    server.child.kill('SIGKILL')
    await server.exited
    expectSucceeded(await createOrg(env, 3))
    const listed = await runCli(['orgs', 'list'], env)
    expectSucceeded(listed)
    expect(listed.out).toContain(completeSiret('2175001000003'))
    expect(await stored(dataDir)).toEqual({ requests: 0, sirets: [completeSiret('2175001000003')] })
  })

  it('refuses a second serve on the same folder, naming the first, and the first carries on', async () => {
    const { dataDir, env } = folder()
    const first = await serve(env)
    const second = spawnPasserelle(['serve', '--port', '0', '--no-scheduler'], env)
    running.push(second)
    const outcome = await Promise.race([
      second.exited.then((e) => ({ exited: e.code })),
      second.waitFor(/listening on http/, 240_000).then(() => ({ exited: 'listening' as const }), () => ({ exited: 'listening' as const })),
    ])
    expect(outcome.exited).toBe(1)
    expect(second.stderr()).toContain(`already served by pid ${first.child.pid} (passerelle serve --port --no-scheduler`)
    expect(second.stderr()).toContain(`kill -TERM ${first.child.pid}`)
    expectSucceeded(await createOrg(env, 4))
    expect((await stop(first)).code).toBe(0)
    expect(await stored(dataDir)).toEqual({ requests: 0, sirets: [completeSiret('2175001000004')] })
  })

  it('runs two CLI commands started at once without serve one after the other, keeping both', async () => {
    const { dataDir, env } = folder()
    const results = await Promise.all([createOrg(env, 5), createOrg(env, 6), openRights(env)])
    for (const r of results) expectSucceeded(r)
    // Whoever came second said whom it waited for.
    expect(results.map((r) => r.err).join('\n')).toMatch(/in use by pid \d+ \(passerelle (orgs create|rights open) --/)
    expect(await stored(dataDir)).toEqual({ requests: 1, sirets: [completeSiret('2175001000005'), completeSiret('2175001000006')] })
  })

  it('lets serve start while a CLI command holds the folder: serve waits, then both writes are kept', async () => {
    const { dataDir, env } = folder()
    const cli = createOrg(env, 7)
    await new Promise((r) => setTimeout(r, 1500))
    const server = await serve(env)
    expectSucceeded(await cli)
    expectSucceeded(await createOrg(env, 8))
    expect((await stop(server)).code).toBe(0)
    expect(await stored(dataDir)).toEqual({ requests: 0, sirets: [completeSiret('2175001000007'), completeSiret('2175001000008')] })
  })
})

describe.skipIf(testBackend() !== 'postgres' || postgresUnavailable())('on PostgreSQL (DATABASE_URL set)', () => {
  it('takes no owner lock on the data folder', async () => {
    const t = await createTestDatabase()
    const dataDir = mkdtempSync(path.join(tmpdir(), 'passerelle-owner-pg-'))
    try {
      const env = instanceEnv({ PASSERELLE_DATA_DIR: dataDir, DATABASE_URL: t.url, LOG_LEVEL: 'warn' })
      const [a, b] = await Promise.all([createOrg(env, 1), createOrg(env, 2)])
      expectSucceeded(a)
      expectSucceeded(b)
      expect(a.err + b.err).not.toContain('in use by')
      expect(existsSync(path.join(dataDir, 'pglite.owner'))).toBe(false)
      expect((await t.db.query('select siret from organisations')).rows).toHaveLength(2)
    } finally {
      await t.drop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 120_000)
})
