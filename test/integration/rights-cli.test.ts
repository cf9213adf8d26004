import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_AUDIT_SIGNING_KEY, testKeys } from '../../src/crypto/keys.ts'
import { postgresUnavailable, seedCliTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { REPO_ROOT } from '../helpers/ingest.ts'
import { adults, loadPopulation, mappingsWith, type Subject } from '../helpers/rights-world.ts'

/**
 * `passerelle rights` as a DPO runs it, in a child process: what it prints names requests, deadlines and counts,
 * never the person (the NIR comes through standard input); only the export files hold personal data.
 */
// Each command is a process that opens the database (the embedded one takes seconds): generous timeouts.
describe.skipIf(postgresUnavailable())('passerelle rights (CLI)', { timeout: 240_000 }, () => {
  const keys = testKeys()
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-rights-cli-'))
  let t: TestDatabase | undefined
  let x: Subject
  const env: Record<string, string> = {
    PASSERELLE_DATA_DIR: path.join(work, 'data'),
    PASSERELLE_MAPPINGS_DIR: mappingsWith(),
    PASSERELLE_NIR_KEY: keys.nir.toString('base64'),
    PASSERELLE_INDEX_KEY: keys.index.toString('base64'),
    PASSERELLE_PSEUDONYM_KEY: keys.pseudonym.toString('base64'),
    PASSERELLE_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    PASSERELLE_ACTOR: 'cli:dpo-test',
    LOG_LEVEL: 'silent',
  }
  const run = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/passerelle.js'), 'rights', ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...env },
      input,
      encoding: 'utf8',
      timeout: 60_000,
    })
    return { status: r.status, out: r.stdout, err: r.stderr }
  }
  const personal = () => [x.nir13, x.birthDate, x.person.nom, x.person.prenom]

  beforeAll(async () => {
    t = await seedCliTestDatabase(env, (db) => loadPopulation(db, keys, env.PASSERELLE_MAPPINGS_DIR!, 6))
    x = adults(6)[0]!
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('opens, lists, shows and exports an access request without printing the person', () => {
    const opened = run(['open', '--type', 'access', '--nir', '-', '--birth-date', x.birthDate, '--received', '2026-03-03'], `${x.nir13}\n`)
    expect(opened.err).toBe('')
    expect(opened.status).toBe(0)
    expect(opened.out).toMatch(/^request #1 \(access\) received 2026-03-03, due 2026-04-03; subject p_[A-Za-z0-9_-]+; person found \(by NIR and birth date\)/)
    const listed = run(['list', '--all'])
    expect(listed.out).toMatch(/#1 access\s+received 2026-03-03 due 2026-04-03/)
    const out = path.join(work, 'answers')
    const exported = run(['export', '1', '--out', out])
    expect(exported.status).toBe(0)
    expect(exported.out).toMatch(/request #1: \d+ item\(s\), \d+ purpose\(s\), \d+ access\(es\)/)
    const html = readFileSync(path.join(out, 'demande-1-acces.html'), 'utf8')
    expect(html).toContain(x.person.nom)
    expect(existsSync(path.join(out, 'demande-1-acces.json'))).toBe(true)
    const shown = run(['show', '1'])
    expect(shown.out).toMatch(/rights\.open[\s\S]*rights\.export/)
    for (const r of [opened, listed, exported, shown]) for (const v of personal()) expect(r.out + r.err).not.toContain(v)
  })

  it('answers an erasure under a public-interest purpose with the reason, changing nothing', () => {
    const opened = run(['open', '--type', 'erasure', '--nir', x.nir13, '--birth-date', x.birthDate, '--purpose', 'accompagnement-rsa'])
    expect(opened.out).toContain('next: passerelle rights erase 2 --dry-run')
    const erased = run(['erase', '2'])
    expect(erased.status).toBe(0)
    expect(erased.out).toMatch(/request #2: refused, scope none/)
    expect(erased.out).toMatch(/refused for accompagnement-rsa: .*17\.3\.b/)
    for (const r of [opened, erased]) for (const v of personal()) expect(r.out + r.err).not.toContain(v)
  })

  it('refuses a wrong NIR by rule, without echoing it', () => {
    const bad = `${x.nir13}00`
    const r = run(['open', '--type', 'access', '--nir', bad, '--birth-date', x.birthDate])
    expect(r.status).toBe(1)
    expect(r.err).toMatch(/rule nir_key/)
    expect(r.err).not.toContain(x.nir13)
  })
})
