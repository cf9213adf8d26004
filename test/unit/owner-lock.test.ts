import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { describeCommand, ownerAlive, processStartTicks, readOwner, tryAcquireOwner, type OwnerRecord } from '../../src/db/owner-lock.ts'
import { socketDirFor } from '../../src/db/open-database.ts'

const dirs: string[] = []
const lockIn = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-lock-'))
  dirs.push(dir)
  return path.join(dir, 'pglite.owner')
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The pid of a process that has exited (so nobody runs under it, for now). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(r.stdout)
}

function plant(lockPath: string, record: Partial<OwnerRecord>) {
  const full: OwnerRecord = { pid: 1, startTicks: null, role: 'serve', command: 'passerelle serve', startedAt: new Date().toISOString(), socketDir: '/nowhere', ...record }
  writeFileSync(lockPath, JSON.stringify(full))
}

describe('owner lock of an embedded data folder', () => {
  it('gives the folder to one process and names it to the next', () => {
    const lockPath = lockIn()
    const first = tryAcquireOwner(lockPath, { role: 'serve', command: 'passerelle serve', socketDir: '/s' })
    expect(first.acquired).toBe(true)
    expect(statSync(lockPath).mode & 0o777).toBe(0o600)
    const second = tryAcquireOwner(lockPath, { role: 'cli', command: 'passerelle orgs list' })
    expect(second).toMatchObject({ acquired: false, owner: { pid: process.pid, role: 'serve', command: 'passerelle serve', socketDir: '/s' } })
    if (first.acquired) first.release()
    expect(readOwner(lockPath)).toBeUndefined()
    expect(tryAcquireOwner(lockPath, { role: 'cli', command: 'x' }).acquired).toBe(true)
    // No temporary file is left beside the lock.
    expect(readdirSync(path.dirname(lockPath))).toEqual(['pglite.owner'])
  })

  it('takes over the lock of a process that is gone (kill -9 leaves it behind)', () => {
    const lockPath = lockIn()
    plant(lockPath, { pid: deadPid() })
    const taken = tryAcquireOwner(lockPath, { role: 'cli', command: 'passerelle orgs list' })
    expect(taken.acquired).toBe(true)
    expect(readOwner(lockPath)).toMatchObject({ pid: process.pid, role: 'cli' })
    expect(readdirSync(path.dirname(lockPath))).toEqual(['pglite.owner'])
  })

  it.skipIf(processStartTicks(process.pid) === null)('takes over a lock whose pid now belongs to another process (pid reuse)', () => {
    const lockPath = lockIn()
    // Our own pid, but started at another time: the recorded owner is not this process.
    plant(lockPath, { pid: process.pid, startTicks: processStartTicks(process.pid)! - 1 })
    expect(ownerAlive(readOwner(lockPath)!)).toBe(false)
    expect(tryAcquireOwner(lockPath, { role: 'cli', command: 'x' }).acquired).toBe(true)
  })

  it('never removes a lock it does not hold', () => {
    const lockPath = lockIn()
    const mine = tryAcquireOwner(lockPath, { role: 'cli', command: 'x' })
    expect(mine.acquired).toBe(true)
    // Someone replaced it (e.g. it was judged stale): our release must leave theirs alone.
    plant(lockPath, { pid: 1, command: 'passerelle serve' })
    if (mine.acquired) mine.release()
    expect(readOwner(lockPath)).toMatchObject({ pid: 1 })
  })

  it('refuses a lock file that is not an owner record instead of taking it over', () => {
    const lockPath = lockIn()
    writeFileSync(lockPath, 'not json')
    expect(() => tryAcquireOwner(lockPath, { role: 'cli', command: 'x' })).toThrow(/is not a Passerelle owner record/)
    expect(readFileSync(lockPath, 'utf8')).toBe('not json')
  })

  it('of two processes racing for a stale lock, exactly one wins', async () => {
    const lockPath = lockIn()
    plant(lockPath, { pid: deadPid() })
    const script = `
      import { tryAcquireOwner } from ${JSON.stringify(path.resolve('src/db/owner-lock.ts'))}
      const r = tryAcquireOwner(${JSON.stringify(lockPath)}, { role: 'cli', command: 'race' })
      process.stdout.write(r.acquired ? 'won' : 'lost')
      await new Promise((resolve) => setTimeout(resolve, 1500))
    `
    const { spawn } = await import('node:child_process')
    const race = () =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
        let out = ''
        child.stdout.on('data', (d) => (out += d))
        child.on('exit', () => resolve(out))
      })
    const outcomes = await Promise.all([race(), race(), race(), race()])
    expect(outcomes.sort()).toEqual(['lost', 'lost', 'lost', 'won'])
  }, 60_000)

  it('describes the owner by its command without any option value (a NIR given on the command line stays out)', () => {
    expect(describeCommand(['node', 'bin/passerelle.js', 'rights', 'open', '--type', 'access', '--nir', '1850375123456', '--birth-date=1985-03-12'])).toBe(
      'passerelle rights open --type --nir --birth-date',
    )
    expect(describeCommand(['node', 'bin/passerelle.js', 'serve', '--demo'])).toBe('passerelle serve --demo')
  })

  it('puts the socket inside the data folder, or in a private temporary folder when the path would be too long', () => {
    expect(socketDirFor('/var/lib/passerelle')).toBe('/var/lib/passerelle/socket')
    const deep = `/${'d'.repeat(120)}`
    const dir = socketDirFor(deep)
    expect(dir.startsWith(tmpdir())).toBe(true)
    expect(Buffer.byteLength(path.join(dir, '.s.PGSQL.5432'))).toBeLessThanOrEqual(107)
    expect(socketDirFor(deep)).toBe(dir)
  })
})
