import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { claimStagingFolder, ownerAlive, sweepStaging } from '../../src/sftp/staging-area.ts'

const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_').slice(0, 64)

/** The pid of a process that has exited (and so, for a while, belongs to nobody). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(child.stdout)
}

describe('staging folders of stopped processes', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'passerelle-staging-unit-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('tells a dead pid, a reused pid and another host apart from a live owner', () => {
    const self = { host, pid: process.pid, start: '123' }
    expect(ownerAlive({ host, pid: process.pid, start: '123' }, self)).toBe(true)
    expect(ownerAlive({ host, pid: process.pid, start: '99' }, self)).toBe(false)
    expect(ownerAlive({ host, pid: deadPid(), start: '0' }, self)).toBe(false)
    expect(ownerAlive({ host: 'elsewhere', pid: 1, start: '0' }, self)).toBeUndefined()
  })

  it('removes the folders of stopped processes and of the old layout, never a live one or an unknown entry', async () => {
    const dir = path.join(root, 'a')
    const mine = await claimStagingFolder(dir)
    writeFileSync(path.join(mine.dir, 'live.xml'), 'x')
    const dead = path.join(dir, `${host}~${deadPid()}~0~0123abcd`)
    mkdirSync(path.join(dead, 'caf-beneficiaires'), { recursive: true })
    writeFileSync(path.join(dead, 'caf-beneficiaires', 'f.xml.part'), 'xyz')
    const elsewhere = path.join(dir, 'other-host~1~0~0123abcd')
    mkdirSync(elsewhere)
    mkdirSync(path.join(dir, 'caf-beneficiaires'))
    writeFileSync(path.join(dir, 'caf-beneficiaires', 'old.xml'), 'xy')
    mkdirSync(path.join(dir, 'not-ours'))
    const removed = await sweepStaging(dir, { flowIds: ['caf-beneficiaires'] })
    expect(removed).toEqual({ folders: 2, files: 2, bytes: 5 })
    expect(readdirSync(dir).sort()).toEqual([path.basename(mine.dir), 'not-ours', 'other-host~1~0~0123abcd'].sort())
    await mine.release()
    expect(readdirSync(dir).sort()).toEqual(['not-ours', 'other-host~1~0~0123abcd'])
  })
})
