import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { nirKey } from '../../src/ingestion/validation/nir.ts'
import { freePort } from '../helpers/sshd.ts'

/**
 * Every shell command of README.md's ```sh blocks, run as written, in order, each with the state the earlier ones
 * left (the organisation exists before its user, the token before its revocation...), on the embedded default in a
 * temporary folder. Nothing here lists the README's commands: a command added to the README is run by this test.
 * The only substitutions: `npx passerelle` runs this checkout's bin/passerelle.js, and `--port 8080` a free port
 * (the machine may be shared). Each command exits 0, unless it is in one of the two short lists below, with a reason.
 */
const REPO = path.resolve(import.meta.dirname, '../..')

/** Commands not run: they need what a test machine has not, or would undo the checkout under test. */
const NOT_RUN: { pattern: RegExp; reason: string }[] = [
  // (`npm ci && npm start` runs `npm start`: see NOT_RUN_PREFIXES)
  { pattern: /^npm ci$/, reason: 'reinstalls the node_modules of the checkout under test' },
  { pattern: /^npm test$|^npm run test:node\d+$/, reason: 'the test suite itself (run by .ci/run)' },
  { pattern: /^npx vitest /, reason: 'a part of the test suite itself (run by npm test)' },
  { pattern: /^npm run bench:|^node --import tsx bench\//, reason: 'benchmarks: minutes and hundreds of MB each, they print figures, run by hand' },
  { pattern: /^docker /, reason: 'no Docker engine on test machines (the Dockerfile is checked by test/unit/dockerfile.test.ts)' },
  { pattern: /passerelle fixtures .*--foyers 100000\b/, reason: '370 MB and minutes; the same generator runs below on 10,000 foyers' },
]

/** Leading parts of a command not run, the rest of the command being run. */
const NOT_RUN_PREFIXES: { pattern: RegExp; reason: string }[] = [
  { pattern: /^npm ci && /, reason: 'reinstalls the node_modules of the checkout under test' },
]

/** Commands run, expected to end with another code than 0, and why (a missing remote or history, never a README error). */
const EXPECTED_CODES: { pattern: RegExp; code: number; reason: string }[] = [
  { pattern: /passerelle ingest$/, code: 1, reason: "pulls every flow from the producers' SFTP servers, whose variables a test machine does not set" },
  {
    pattern: /passerelle extract\b(?!.*--aggregate)/,
    code: 1,
    reason: 'the 1,000 synthetic foyers loaded above are too few to release k-anonymous microdata (k = 11 over nine quasi-identifiers): the extract refuses, as it must; statistics-end-to-end.test.ts releases one',
  },
  {
    pattern: /passerelle archive show\b/,
    code: 1,
    reason: 'a fresh data folder has nothing archived (dossiers leave the active base years after their last right); the break-glass read is tested in retention-cli.test.ts',
  },
]

/** Long-running commands: started, then stopped with SIGTERM once they print that they are ready. */
const LONG_RUNNING: { pattern: RegExp; ready: RegExp }[] = [
  { pattern: /^npm start$/, ready: /Stop with Ctrl-C/ },
  { pattern: /passerelle serve\b(?!.*--no-api)/, ready: /Passerelle listening on/ },
  { pattern: /passerelle serve\b.*--no-api/, ready: /scheduler started/ },
]

/** The commands of the ```sh blocks: comment and blank lines dropped, `\`-continued lines joined. */
export function readmeCommands(markdown: string): { line: number; command: string }[] {
  const commands: { line: number; command: string }[] = []
  const lines = markdown.split('\n')
  let inBlock = false
  let pending: { line: number; command: string } | undefined
  lines.forEach((text, index) => {
    if (/^```sh\s*$/.test(text)) return void (inBlock = true)
    if (inBlock && /^```\s*$/.test(text)) return void (inBlock = false)
    if (!inBlock) return
    if (pending) {
      pending.command += ' ' + text.trim().replace(/\\$/, '').trim()
      if (!text.trimEnd().endsWith('\\')) {
        commands.push(pending)
        pending = undefined
      }
      return
    }
    const trimmed = text.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    if (trimmed.endsWith('\\')) pending = { line: index + 1, command: trimmed.replace(/\\$/, '').trim() }
    else commands.push({ line: index + 1, command: trimmed })
  })
  return commands
}

interface Outcome {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
  ready?: boolean
}

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv, ready: RegExp | undefined, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    let readySeen = false
    const stop = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // already gone
      }
    }
    const onData = (data: Buffer) => {
      output += data.toString()
      if (ready && !readySeen && ready.test(output)) {
        readySeen = true
        stop('SIGTERM')
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => stop('SIGKILL'), timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output, ...(ready ? { ready: readySeen } : {}) })
    })
  })
}

// The README's commands run on the embedded default whatever the project: once, with the pglite project.
describe.skipIf(process.env.PASSERELLE_TEST_BACKEND === 'postgres')('README.md', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-readme-'))
  afterAll(() => rmSync(work, { recursive: true, force: true }))
  const commands = readmeCommands(readFileSync(path.join(REPO, 'README.md'), 'utf8'))

  it('has shell commands to run', () => {
    expect(commands.length).toBeGreaterThan(20)
  })

  it('runs every shell command as written, in order, each exiting as expected', { timeout: 30 * 60_000 }, async () => {
    const port = await freePort()
    const keysDir = path.join(work, 'extract-keys')
    mkdirSync(keysDir, { mode: 0o700 })
    const nir13 = '2840375123456'
    const env: NodeJS.ProcessEnv = {
      PATH: `${path.join(REPO, 'node_modules/.bin')}:${process.env.PATH}`,
      HOME: process.env.HOME,
      PASSERELLE_DATA_DIR: path.join(work, 'var'),
      PASSERELLE_FLOWS_DIR: path.join(REPO, 'flows'),
      PASSERELLE_MAPPINGS_DIR: path.join(REPO, 'mappings'),
      PASSERELLE_EXTRACT_KEYS_DIR: keysDir,
      PORT: String(port),
      LOG_LEVEL: 'info',
      // A synthetic NIR (department 75, never issued in this shape) for the command that reads "$NIR".
      NIR: nir13 + nirKey(nir13),
    }
    const failures: string[] = []
    for (const { line, command: written } of commands) {
      const command = NOT_RUN_PREFIXES.reduce((c, p) => c.replace(p.pattern, ''), written)
      const skipped = NOT_RUN.find((s) => s.pattern.test(command))
      if (skipped) continue
      const shell = command
        .replace(/\bnpx passerelle\b/g, `node ${JSON.stringify(path.join(REPO, 'bin/passerelle.js'))}`)
        .replace(/^npm start$/, `npm --prefix ${JSON.stringify(REPO)} start`)
        .replace(/--port 8080\b/g, `--port ${port}`)
      const long = LONG_RUNNING.find((l) => l.pattern.test(command))
      const expected = EXPECTED_CODES.find((e) => e.pattern.test(command))
      const outcome = await runShell(shell, work, env, long?.ready, long ? 180_000 : 300_000)
      if (process.env.PASSERELLE_TEST_VERBOSE) console.log(`README.md:${line}: exit ${outcome.code ?? outcome.signal}: ${written}`)
      const ok = long ? outcome.ready === true && (outcome.code === 0 || outcome.signal === 'SIGTERM') : outcome.code === (expected?.code ?? 0)
      if (!ok) {
        const tail = outcome.output.trim().split('\n').slice(-6).join('\n    ')
        failures.push(`README.md:${line}: ${written}\n  exit ${outcome.code ?? outcome.signal}${long ? ` (ready: ${outcome.ready})` : ''}, expected ${long ? 'ready then a clean stop' : (expected?.code ?? 0)}\n    ${tail}`)
      }
    }
    expect(failures).toEqual([])
  })
})
