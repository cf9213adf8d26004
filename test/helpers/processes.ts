import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { TEST_AUDIT_SIGNING_KEY, testKeys } from '../../src/crypto/keys.ts'

export const REPO = path.resolve(import.meta.dirname, '../..')

export interface Spawned {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves with the first stdout/stderr text matching `pattern` (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs `passerelle <args>` as a child process. */
export function spawnPasserelle(args: string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(process.execPath, [path.join(REPO, 'bin/passerelle.js'), ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = []
  const check = () => {
    for (const w of [...waiters]) {
      const m = (out + '\n' + err).match(w.pattern)
      if (m) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m)
      }
    }
  }
  child.stdout!.on('data', (d) => {
    out += d
    check()
  })
  child.stderr!.on('data', (d) => {
    err += d
    check()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const m = (out + '\n' + err).match(pattern)
        if (m) return resolve(m)
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stdout: ${out.slice(-500)}; stderr: ${err.slice(-1500)}`)), timeoutMs)
        waiters.push({ pattern, resolve: (x) => (clearTimeout(timer), resolve(x)) })
        void exited.then(() => setTimeout(() => reject(new Error(`process exited before ${pattern}; stderr tail: ${err.slice(-800)}`)), 50))
      })
    },
  }
}

/** Environment of a production-like instance: fixed test keys, no inherited database or SFTP variables. */
export function instanceEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const keys = testKeys()
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|PASSERELLE_|[A-Z]+_SFTP_)/.test(k) && k !== 'PORT'))
  return {
    ...base,
    PASSERELLE_NIR_KEY: keys.nir.toString('base64'),
    PASSERELLE_INDEX_KEY: keys.index.toString('base64'),
    PASSERELLE_PSEUDONYM_KEY: keys.pseudonym.toString('base64'),
    PASSERELLE_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    ...extra,
  }
}
