import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

/**
 * bin/passerelle, the `passerelle` command: the V8 heap settings of each command, passed to the real entry point
 * (found through npm's symlink too), with the arguments untouched. A stand-in `node` first on PATH prints what it
 * was given.
 */
const REPO = path.resolve(import.meta.dirname, '../..')
const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-launcher-'))
const NODE_STAND_IN = '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n'
writeFileSync(path.join(dir, 'node'), NODE_STAND_IN)
chmodSync(path.join(dir, 'node'), 0o755)
symlinkSync(path.join(REPO, 'bin/passerelle'), path.join(dir, 'passerelle'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const launch = (command: string, ...args: string[]) =>
  execFileSync(command, args, { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' }).trim().split('\n')

describe('the passerelle launcher', () => {
  it('runs serve with 32 MB semi-spaces, every other command with 4 MB, both with a growth factor of 2', () => {
    const entry = path.join(REPO, 'bin/passerelle.js')
    expect(launch(path.join(REPO, 'bin/passerelle'), 'serve', '--port', '0')).toEqual(['--max-semi-space-size=32', '--heap-growing-percent=100', entry, 'serve', '--port', '0'])
    expect(launch(path.join(REPO, 'bin/passerelle'), 'ingest', '--file', 'a b.xml')).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=100', entry, 'ingest', '--file', 'a b.xml'])
    expect(launch(path.join(REPO, 'bin/passerelle'))).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=100', entry])
    // A command named like serve is not serve.
    expect(launch(path.join(REPO, 'bin/passerelle'), 'server')[0]).toBe('--max-semi-space-size=4')
  })

  it('execs node in its own place: same process, so signals and the exit status are node’s', () => {
    const pidFile = path.join(dir, 'pid')
    writeFileSync(path.join(dir, 'node'), `#!/bin/sh\necho $$ > ${pidFile}\nexit 75\n`)
    try {
      const run = spawnSync(path.join(REPO, 'bin/passerelle'), ['serve'], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } })
      expect(run.status).toBe(75)
      expect(Number(readFileSync(pidFile, 'utf8'))).toBe(run.pid)
    } finally {
      writeFileSync(path.join(dir, 'node'), NODE_STAND_IN)
    }
  })

  it('finds the entry point when called through a symlink, as npm installs it', () => {
    expect(launch(path.join(dir, 'passerelle'), 'serve')).toEqual(['--max-semi-space-size=32', '--heap-growing-percent=100', path.join(REPO, 'bin/passerelle.js'), 'serve'])
  })
})
