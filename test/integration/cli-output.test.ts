import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendAuditEvents } from '../../src/audit/audit-log.ts'
import { completeSiret } from '../../src/auth/siret.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { seedOrganisation, seedUser } from '../helpers/api-seed.ts'
import { apiReadEvent } from '../helpers/audit-events.ts'
import { postgresUnavailable, seedCliTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { instanceEnv, REPO } from '../helpers/processes.ts'
import { adults, loadPopulation, mappingsWith, type Subject } from '../helpers/rights-world.ts'

/**
 * What `passerelle` prints for people and for programs: `--json` on every command that prints data (one JSON
 * document with documented keys, exit codes as in text), times shown in Europe/Paris with their offset, and never a
 * personal value of the people loaded.
 */
describe.skipIf(postgresUnavailable())('CLI output: --json, Paris times, no personal value', { timeout: 300_000 }, () => {
  const keys = testKeys()
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-cli-output-'))
  const env: Record<string, string> = {
    PASSERELLE_DATA_DIR: path.join(work, 'data'),
    PASSERELLE_MAPPINGS_DIR: mappingsWith(),
    PASSERELLE_ACTOR: 'cli:dpo-test',
    LOG_LEVEL: 'silent',
  }
  let t: TestDatabase | undefined
  let x: Subject
  const run = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin/passerelle.js'), ...args], { cwd: REPO, env: instanceEnv(env), input, encoding: 'utf8', timeout: 120_000 })
    return { status: r.status, out: r.stdout, err: r.stderr }
  }
  const printed: string[] = []
  const json = (args: string[], input?: string): { status: number | null; value: Record<string, unknown> } => {
    const r = run([...args, '--json'], input)
    printed.push(r.out, r.err)
    expect(r.err, `${args.join(' ')} --json: stderr`).not.toMatch(/unknown option/)
    return { status: r.status, value: JSON.parse(r.out) as Record<string, unknown> }
  }
  // Two events at fixed UTC instants, one in winter (UTC+01:00), one in summer (UTC+02:00).
  const WINTER = new Date('2026-01-15T13:05:12Z')
  const SUMMER = new Date('2026-07-15T13:05:12Z')
  const event = apiReadEvent

  beforeAll(async () => {
    t = await seedCliTestDatabase(env, async (db) => {
      await loadPopulation(db, keys, env.PASSERELLE_MAPPINGS_DIR!, 4)
      const org = await seedOrganisation(db, 7, 'ccas')
      await seedUser(db, 'agent@ccas.example', 'referent', org.id)
      await db.transaction((tx) => appendAuditEvents(tx, [event(1, WINTER), event(2, SUMMER)]))
    })
    x = adults(4)[0]!
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('prints one JSON document with the documented keys for each command given --json', () => {
    const siret = completeSiret('2175000000099')
    const createdOrg = json(['orgs', 'create', '--siret', siret, '--name', 'Structure 99', '--type', 'association'])
    expect(createdOrg.status).toBe(0)
    expect(createdOrg.value).toEqual({ id: expect.any(String), siret, type: 'association' })
    const createdUser = json(['users', 'create', '--email', 'dpo@asso.example', '--name', 'Agent 99', '--role', 'structure-manager', '--org', siret])
    expect(createdUser.value).toEqual({ id: expect.any(String), role: 'structure-manager', organisation: { siret } })

    const orgs = json(['orgs', 'list'])
    expect(orgs.status).toBe(0)
    expect(orgs.value.organisations).toContainEqual({ id: expect.any(String), siret: expect.stringMatching(/^\d{14}$/), type: 'ccas', name: 'Structure 7' })

    const users = json(['users', 'list'])
    expect(users.value.users).toContainEqual({ id: expect.any(String), email: 'agent@ccas.example', role: 'referent', active: true, organisation: { siret: expect.stringMatching(/^\d{14}$/) } })

    const token = json(['tokens', 'create', '--user', 'agent@ccas.example', '--purpose', 'accompagnement-rsa', '--expires', '30d'])
    expect(token.status).toBe(0)
    expect(Object.keys(token.value).sort()).toEqual(['bearerToken', 'expiresAt', 'id', 'purpose'])
    expect(token.value.bearerToken).toEqual(expect.any(String))
    expect(new Date(token.value.expiresAt as string).getTime()).toBeGreaterThan(Date.now())

    const check = json(['check'])
    expect(check.status).toBe(0)
    expect(check.value).toMatchObject({ ok: true, problems: [], databaseChecked: false })
    expect(check.value.counts).toMatchObject({ purposes: expect.any(Number), flows: expect.any(Number) })
    expect(check.value.neverStored).toEqual(expect.any(Array))

    const verify = json(['audit', 'verify'])
    // The exit status says the same as `ok` (events written straight into the database, as here, have no checkpoint).
    expect(verify.status).toBe(verify.value.ok ? 0 : 1)
    expect(Object.keys(verify.value).sort()).toEqual(['chain', 'checkpoints', 'findings', 'lastCheckpoint', 'note', 'ok', 'receipts', 'unattested'])
    expect(verify.value.chain).toMatchObject({ ok: true, events: expect.any(Number) })
    expect(verify.value.findings).toEqual(expect.any(Array))

    const opened = json(['rights', 'open', '--type', 'access', '--nir', '-', '--birth-date', x.birthDate, '--received', '2026-03-03'], `${x.nir13}\n`)
    const requestId = opened.value.id as number
    expect(requestId).toEqual(expect.any(Number))
    const out = path.join(work, 'answers')
    const exported = json(['rights', 'export', String(requestId), '--out', out])
    expect(exported.status).toBe(0)
    expect(exported.value).toMatchObject({ requestId, found: true, items: expect.any(Number), purposes: expect.any(Number), accesses: expect.any(Number) })
    const files = exported.value.files as Record<string, { path: string; sha256: string }>
    expect(Object.keys(files).sort()).toEqual(['html', 'json'])
    expect(existsSync(files.html!.path)).toBe(true)
    // The answer file holds the person; what is printed does not.
    expect(readFileSync(files.html!.path, 'utf8')).toContain(x.person.nom)

    const erasure = json(['rights', 'open', '--type', 'erasure', '--nir', '-', '--birth-date', x.birthDate, '--purpose', 'accompagnement-rsa'], `${x.nir13}\n`)
    const erased = json(['rights', 'erase', String(erasure.value.id), '--dry-run'])
    expect(erased.status).toBe(0)
    expect(erased.value).toMatchObject({ requestId: erasure.value.id, dryRun: true, decision: { outcome: 'refused' }, counts: expect.any(Object), ids: { count: expect.any(Number) } })
    const closed = json(['rights', 'close', String(erasure.value.id), '--outcome', 'refused'])
    expect(closed.value).toMatchObject({ id: erasure.value.id, state: 'closed', outcome: 'refused' })

    const listed = run(['tokens', 'list', '--json'])
    expect(listed.out.trim().split('\n').map((l) => JSON.parse(l) as { status: string })).toEqual([expect.objectContaining({ status: 'active' })])
    expect(listed.out).not.toContain(token.value.bearerToken as string)
  })

  it('shows times in Europe/Paris with the offset of the season, in text', () => {
    const r = run(['audit', 'search', '--limit', '10'], undefined)
    expect(r.status).toBe(0)
    expect(r.out).toContain('2026-01-15 14:05:12 (UTC+01:00)')
    expect(r.out).toContain('2026-07-15 15:05:12 (UTC+02:00)')
    expect(r.out).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/)
    const runs = run(['runs'])
    expect(runs.out).toMatch(/#\d+ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+0[12]:00\)/)
    expect(runs.out).not.toMatch(/T\d\d:\d\d:\d\d(\.\d+)?Z/)
    printed.push(r.out, r.err, runs.out, runs.err)
  })

  it('never prints a personal value of the people loaded', () => {
    expect(printed.length).toBeGreaterThan(10)
    const all = printed.join('\n')
    for (const v of [x.nir13, x.birthDate, x.person.nom, x.person.prenom]) expect(all).not.toContain(v)
  })
})
