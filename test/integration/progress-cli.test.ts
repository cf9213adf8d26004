import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresUnavailable, seedCliTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { instanceEnv, REPO } from '../helpers/processes.ts'

/** util-linux `script` gives the command a pseudo-terminal, as an operator's terminal would. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p))

/**
 * `passerelle ingest --file` on a terminal draws a progress bar (percentage of the file's bytes, rate, ETA) and
 * writes its log lines above it, pretty, never a JSON line and never on the bar's line; on a pipe it draws nothing and
 * logs JSON lines.
 */
describe.skipIf(postgresUnavailable() || !SCRIPT)('ingest progress on a terminal (CLI)', { timeout: 300_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-progress-cli-'))
  const env: Record<string, string> = { PASSERELLE_DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'debug' }
  let t: TestDatabase | undefined
  let file = ''
  let later = ''
  let names: string[] = []
  const cli = (args: string[]) => [process.execPath, path.join(REPO, 'bin/passerelle.js'), ...args].map((a) => `'${a}'`).join(' ')

  beforeAll(async () => {
    t = await seedCliTestDatabase(env, async () => {})
    const fixture = (date: string) => {
      const made = spawnSync(process.execPath, [path.join(REPO, 'bin/passerelle.js'), 'fixtures', '--flow', 'caf-beneficiaires', '--foyers', '2500', '--out', path.join(work, date), '--date', date, '--json'], {
        cwd: REPO,
        env: instanceEnv(env),
        encoding: 'utf8',
      })
      return (JSON.parse(made.stdout) as { path: string }).path
    }
    file = fixture('2026-03-01')
    later = fixture('2026-03-02')
    // Surnames of the file: planted personal values that must appear nowhere in what is shown.
    names = [...new Set([...readFileSync(file, 'latin1').matchAll(/<NOM>([^<]{5,})<\/NOM>/g)].map((m) => m[1]!))].slice(0, 50)
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('draws a bar with percentage, rate and ETA, and writes pretty log lines above it, none on its line', () => {
    const r = spawnSync(SCRIPT!, ['-qfec', cli(['ingest', '--flow', 'caf-beneficiaires', '--file', file]), '/dev/null'], {
      cwd: REPO,
      env: instanceEnv({ ...env, TERM: 'xterm' }),
      encoding: 'utf8',
      timeout: 180_000,
    })
    expect(r.status).toBe(0)
    const screen = r.stdout
    // Each redraw of the bar starts at column 1 (\r or CSI 1G); a log line starts after a cleared line.
    const pieces = screen.split(/\r|\n|\x1b\[1G/).map((p) => p.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '')).filter((p) => p.trim() !== '')
    const bars = pieces.filter((p) => /\[[^\]]*\] +\d{1,3}% \| [\d.]+ MB\/s \| [\d,]+ records\/s \| [\d,]+ records \| ETA /.test(p))
    expect(bars.length).toBeGreaterThan(1)
    expect(bars.some((b) => / 100% /.test(b))).toBe(true)
    expect(bars.some((b) => /ETA \d+s/.test(b))).toBe(true)
    const logs = pieces.filter((p) => /(DEBUG|INFO|WARN)\b.*: /.test(p))
    expect(logs.some((l) => l.includes('records staged'))).toBe(true)
    // Pretty, with Paris time; no JSON log line; no piece holding both a bar and a log line.
    for (const l of logs) expect(l).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+0[12]:00\) /)
    expect(screen).not.toMatch(/\{"level":/)
    for (const p of pieces) expect(/ETA /.test(p) && /(DEBUG|INFO|WARN)\b/.test(p)).toBe(false)
    expect(screen).toMatch(/loaded +caf-beneficiaires/)
    expect(names.length).toBeGreaterThan(5)
    for (const n of names) expect(screen).not.toContain(`${n}`)
  })

  it('draws nothing and logs JSON lines when stderr is not a terminal', () => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin/passerelle.js'), 'ingest', '--flow', 'caf-beneficiaires', '--file', later], {
      cwd: REPO,
      env: instanceEnv(env),
      encoding: 'utf8',
      timeout: 180_000,
    })
    expect(r.status).toBe(0)
    expect(r.stderr).not.toMatch(/ETA|%/)
    const lines = r.stderr.split('\n').filter((l) => l !== '')
    expect(lines.some((l) => l.includes('records staged'))).toBe(true)
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty('level')
  })
})
