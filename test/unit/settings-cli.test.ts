import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, showSettings } from '../../src/config/config.ts'

const REPO = path.resolve(import.meta.dirname, '../..')
const root = mkdtempSync(path.join(tmpdir(), 'passerelle-settings-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Longer than any start-up here: a command still running by then hangs (the bad rate burst used to). */
const HANG_MS = 60_000

interface Run {
  code: number | null
  stdout: string
  stderr: string
  hung: boolean
}

/** The real `passerelle` command with a clean environment and its own data folder, killed if it outlives HANG_MS. */
function passerelle(args: string[], env: Record<string, string>, dataDir: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/passerelle.js'), ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PASSERELLE_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let hung = false
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      hung = true
      child.kill('SIGKILL')
    }, HANG_MS)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, hung })
    })
  })
}

const SECRET_KEY = 'c2VjcmV0LXNlbnRpbmVsLTk3'
const DB_PASSWORD = 'hunter2-sentinel'

/** Each bad setting, the command it is given to, and the variable (or option) the message must name. */
const BAD_SETTINGS: { name: string; args: string[]; env: Record<string, string>; names: string; secret?: string }[] = [
  { name: 'LOG_LEVEL=loud', args: ['orgs', 'list'], env: { LOG_LEVEL: 'loud' }, names: 'LOG_LEVEL' },
  { name: 'a rate burst that is not a number', args: ['serve', '--port', '0'], env: { PASSERELLE_API_RATE_BURST: 'lots' }, names: 'PASSERELLE_API_RATE_BURST' },
  { name: 'serve --port abc', args: ['serve', '--port', 'abc'], env: {}, names: '--port (overrides PORT)' },
  { name: 'PORT=70000', args: ['serve'], env: { PORT: '70000' }, names: 'PORT' },
  { name: 'a retention schedule that is not cron', args: ['serve', '--port', '0'], env: { PASSERELLE_RETENTION_SCHEDULE: 'every night' }, names: 'PASSERELLE_RETENTION_SCHEDULE' },
  { name: 'a NIR key that is not 32 bytes', args: ['migrate'], env: { PASSERELLE_NIR_KEY: SECRET_KEY }, names: 'PASSERELLE_NIR_KEY', secret: SECRET_KEY },
  { name: 'a database URL that is not postgres', args: ['migrate'], env: { DATABASE_URL: `mysql://app:${DB_PASSWORD}@db/p` }, names: 'DATABASE_URL', secret: DB_PASSWORD },
  { name: 'a database wait of 0 seconds', args: ['migrate'], env: { PASSERELLE_DB_WAIT_SECONDS: '0' }, names: 'PASSERELLE_DB_WAIT_SECONDS' },
  { name: 'trust proxy "yes"', args: ['serve', '--port', '0'], env: { PASSERELLE_API_TRUST_PROXY: 'yes' }, names: 'PASSERELLE_API_TRUST_PROXY' },
  { name: "a flow's SFTP port that is not a number", args: ['ingest'], env: { CAF_SFTP_PORT: 'ssh' }, names: 'CAF_SFTP_PORT' },
  { name: 'an OIDC issuer over plain http off loopback', args: ['serve', '--port', '0'], env: { PASSERELLE_OIDC_ISSUER: 'http://idp.example/', PASSERELLE_OIDC_CLIENT_ID: 'c', PASSERELLE_OIDC_CLIENT_SECRET: 'secret-sentinel-42', PASSERELLE_OIDC_REDIRECT_URL: 'https://passerelle.example/console/auth/callback' }, names: 'PASSERELLE_OIDC_ISSUER', secret: 'secret-sentinel-42' },
  { name: 'an OIDC client id without its secret', args: ['serve', '--port', '0'], env: { PASSERELLE_OIDC_ISSUER: 'https://idp.example/', PASSERELLE_OIDC_CLIENT_ID: 'c', PASSERELLE_OIDC_REDIRECT_URL: 'https://passerelle.example/console/auth/callback' }, names: 'PASSERELLE_OIDC_CLIENT_SECRET' },
  { name: 'an audit signing key that is not a key', args: ['orgs', 'list'], env: { PASSERELLE_AUDIT_SIGNING_KEY: 'garbage-sentinel-key', LOG_LEVEL: 'warn' }, names: 'PASSERELLE_AUDIT_SIGNING_KEY', secret: 'garbage-sentinel-key' },
  { name: 'the audit checkpoint file a folder', args: ['serve', '--port', '0'], env: { PASSERELLE_AUDIT_CHECKPOINT_FILE: tmpdir() }, names: 'PASSERELLE_AUDIT_CHECKPOINT_FILE' },
  { name: 'the data folder a file', args: ['orgs', 'list'], env: { PASSERELLE_DATA_DIR: path.join(REPO, 'package.json') }, names: 'PASSERELLE_DATA_DIR' },
  { name: "a flow's host key that is not a fingerprint", args: ['serve', '--port', '0'], env: { MSA_SFTP_HOST_KEY: 'ssh-ed25519 AAAA' }, names: 'MSA_SFTP_HOST_KEY' },
]

describe('bad settings stop every command at once, exit 78, before any I/O', () => {
  // Two at a time: each run is a whole CLI start-up (tsx), and the machine may be shared.
  const runs = new Map<string, Promise<{ run: Run; dataDir: string }>>()
  const queue = [...BAD_SETTINGS]
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { name, args, env } = next
      const dataDir = path.join(root, `data-${BAD_SETTINGS.indexOf(next)}`)
      let settle!: (value: { run: Run; dataDir: string }) => void
      runs.set(name, new Promise((resolve) => (settle = resolve)))
      settle({ run: await passerelle(args, env, dataDir), dataDir })
    }
  }
  const started = Promise.all([worker(), worker()])
  afterAll(() => started)

  it.each(BAD_SETTINGS)('$name: exit 78 naming it, no stack, no value, nothing written', { timeout: 4 * HANG_MS }, async ({ name, names, secret }) => {
    while (!runs.has(name)) await new Promise((resolve) => setTimeout(resolve, 20))
    const { run, dataDir } = await runs.get(name)!
    expect(run.hung).toBe(false)
    expect(run.code).toBe(78)
    expect(run.stderr).toContain(`  - ${names}: `)
    expect(run.stderr).not.toMatch(/^\s+at /m)
    expect(run.stdout).toBe('')
    if (secret) expect(run.stderr).not.toContain(secret)
    // Before opening the database, generating keys or migrating: the data folder was never created.
    expect(existsSync(dataDir)).toBe(false)
  })

  it('lists several bad values together, in one message', async () => {
    const dataDir = path.join(root, 'several')
    const run = await passerelle(
      ['serve', '--port', 'abc'],
      { LOG_LEVEL: 'loud', PASSERELLE_API_RATE_BURST: '-3', PASSERELLE_RETENTION_SCHEDULE: '* *', PASSERELLE_NIR_KEY: SECRET_KEY, CAF_SFTP_PORT: '0' },
      dataDir,
    )
    expect(run.code).toBe(78)
    expect(run.stderr).toMatch(/invalid configuration \(6 problems\)/)
    for (const name of ['--port (overrides PORT)', 'LOG_LEVEL', 'PASSERELLE_API_RATE_BURST', 'PASSERELLE_RETENTION_SCHEDULE', 'PASSERELLE_NIR_KEY', 'CAF_SFTP_PORT']) {
      expect(run.stderr).toContain(`  - ${name}: `)
    }
    expect(run.stderr).not.toContain(SECRET_KEY)
    expect(existsSync(dataDir)).toBe(false)
  })
})

describe('passerelle config', () => {
  it('shows every setting, the API and schedules included, with secrets redacted', async () => {
    const key = Buffer.alloc(32, 5).toString('base64')
    const run = await passerelle(
      ['config'],
      { PASSERELLE_NIR_KEY: key, DATABASE_URL: `postgres://app:${DB_PASSWORD}@db.invalid/p`, PASSERELLE_API_RATE_BURST: '7', PASSERELLE_EXTRACT_SCHEDULE: '0 7 2 * *' },
      path.join(root, 'config-ok'),
    )
    expect(run.code).toBe(0)
    for (const line of [/^PASSERELLE_API_RATE_BURST +7$/m, /^PASSERELLE_EXTRACT_SCHEDULE +0 7 2 \* \*$/m, /^PASSERELLE_RETENTION_SCHEDULE +30 4 \* \* \* +\(default\)$/m, /^PASSERELLE_NIR_KEY +\*\*\*$/m, /^LOG_LEVEL +info +\(default\)$/m]) {
      expect(run.stdout).toMatch(line)
    }
    for (const variable of Object.keys(loadConfigVariables())) expect(run.stdout).toContain(variable)
    expect(run.stdout + run.stderr).not.toContain(key)
    expect(run.stdout + run.stderr).not.toContain(DB_PASSWORD)
    expect(run.stdout).toMatch(/flow caf-beneficiaires: not configured/)
  })

  it('checks them: lists every bad one and exits 78, still showing the others', async () => {
    const run = await passerelle(['config'], { PASSERELLE_API_RATE_BURST: 'lots', PASSERELLE_RETENTION_SCHEDULE: 'nightly', CAF_SFTP_HOST: 'sftp.caf.invalid' }, path.join(root, 'config-bad'))
    expect(run.code).toBe(78)
    expect(run.stderr).toContain('  - PASSERELLE_API_RATE_BURST: ')
    expect(run.stderr).toContain('  - PASSERELLE_RETENTION_SCHEDULE: ')
    expect(run.stdout).toMatch(/^PASSERELLE_API_GRACE_DAYS +30 +\(default\)$/m)
  })

  it('finds a flow whose SFTP variables are only partly set, naming the missing ones', async () => {
    const run = await passerelle(['config'], { CAF_SFTP_HOST: 'sftp.caf.invalid' }, path.join(root, 'config-flow'))
    expect(run.code).toBe(78)
    expect(run.stderr).toMatch(/flow "caf-beneficiaires": SFTP source cannot be used: .*CAF_SFTP_USER/)
    expect(run.stdout).toMatch(/flow caf-beneficiaires: invalid/)
  })

  it('reports the decryption keys of a flow whose files arrive encrypted: not configured, or a missing one named (exit 78)', async () => {
    const flows = path.join(root, 'flows-decrypt')
    cpSync(path.join(REPO, 'flows'), flows, { recursive: true })
    const file = path.join(flows, 'france-travail-mensuel.yaml')
    writeFileSync(file, `decrypt: { type: cms, certificate_env: FT_SMIME_CERTIFICATE, private_key_env: FT_SMIME_PRIVATE_KEY }\n${readFileSync(file, 'utf8')}`)
    const unset = await passerelle(['config'], { PASSERELLE_FLOWS_DIR: flows }, path.join(root, 'config-decrypt-unset'))
    expect(unset.code).toBe(0)
    expect(unset.stdout).toMatch(/decryption of flow france-travail-mensuel: not configured \(FT_SMIME_CERTIFICATE, FT_SMIME_PRIVATE_KEY unset\)/)
    const partly = await passerelle(['config'], { PASSERELLE_FLOWS_DIR: flows, FT_SMIME_PRIVATE_KEY: '/nonexistent/key.pem' }, path.join(root, 'config-decrypt-partly'))
    expect(partly.code).toBe(78)
    expect(partly.stderr).toContain('flow "france-travail-mensuel": environment variable FT_SMIME_CERTIFICATE (decrypt.certificate_env) is not set')
    expect(partly.stderr).toContain('FT_SMIME_PRIVATE_KEY (decrypt.private_key_env) names a file that cannot be read (ENOENT)')
    expect(partly.stdout).toMatch(/decryption of flow france-travail-mensuel: invalid/)
  })
})

describe('flow schedules', () => {
  it('are checked as cron expressions by passerelle check', async () => {
    const flows = path.join(root, 'flows')
    cpSync(path.join(REPO, 'flows'), flows, { recursive: true })
    const file = path.join(flows, 'caf-beneficiaires.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^schedule: .*$/m, 'schedule: "tous les soirs"'))
    const run = await passerelle(['check', '--flows', flows], {}, path.join(root, 'check-flows'))
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(/schedule: must be a cron expression/)
  })
})

describe('command options', () => {
  it('refuses a --limit that is not a whole number in range, naming the option, before opening anything', async () => {
    for (const [i, [command, value]] of ([['runs', '1.5'], ['runs', '-5'], ['outbox', '1001'], ['matching', '1e3']] as const).entries()) {
      const dataDir = path.join(root, `limit-${i}`)
      const run = await passerelle(command === 'runs' ? ['runs', '--limit', value] : [command, 'list', '--limit', value], {}, dataDir)
      expect(run.code, `${command} --limit ${value}`).not.toBe(0)
      expect(run.stderr).toMatch(/option '--limit <n>' argument .* is invalid\. expected a whole number from 1 to/)
      expect(existsSync(path.join(dataDir, 'pglite')), 'nothing opened').toBe(false)
    }
  })
})

describe('loadConfig', () => {
  it('refuses numbers written in other notations rather than coercing them', () => {
    for (const value of ['1e3', '0x10', '8.0', '', ' ']) {
      if (value.trim() === '') expect(loadConfig({ PASSERELLE_API_RATE_BURST: value }).api.rateLimit.burst).toBe(100)
      else expect(() => loadConfig({ PASSERELLE_API_RATE_BURST: value })).toThrow(ConfigError)
    }
  })
})

function loadConfigVariables(): Record<string, unknown> {
  return Object.fromEntries(showSettings({}).map((s) => [s.variable, s.value]))
}
