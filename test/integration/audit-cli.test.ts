import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendAuditEvents } from '../../src/audit/audit-log.ts'
import type { Db } from '../../src/db/db.ts'
import { apiReadEvent } from '../helpers/audit-events.ts'
import { inspectCliDatabase, postgresUnavailable, seedCliTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { instanceEnv, REPO } from '../helpers/processes.ts'

/**
 * `passerelle audit verify` as an operator runs it, and the checkpoints the CLI writes: a command that appended
 * audit events (here a retention run purging the log) ends with a signed checkpoint in the data folder and its
 * mirror; a rewrite of the database afterwards is named, with exit status 1.
 */
describe.skipIf(postgresUnavailable())('audit verify and checkpoints (CLI)', { timeout: 300_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-audit-cli-'))
  const env: Record<string, string> = {
    PASSERELLE_DATA_DIR: path.join(work, 'data'),
    PASSERELLE_AUDIT_CHECKPOINT_MIRROR_DIR: path.join(work, 'mirror'),
    LOG_LEVEL: 'silent',
  }
  let t: TestDatabase | undefined
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin/passerelle.js'), ...args], { cwd: REPO, env: instanceEnv(env), encoding: 'utf8', timeout: 120_000 })
    return { status: r.status, out: r.stdout, err: r.stderr }
  }
  const inspect = <T>(fn: (db: Db) => Promise<T>): Promise<T> => inspectCliDatabase(t, env.PASSERELLE_DATA_DIR!, fn)

  const event = apiReadEvent
  const checkpointFile = path.join(work, 'data', 'audit-checkpoints.jsonl')

  beforeAll(async () => {
    const old = new Date(Date.now() - 3 * 365 * 86_400_000)
    t = await seedCliTestDatabase(env, (db) =>
      db.transaction((tx) =>
        appendAuditEvents(tx, [...Array.from({ length: 30 }, (_, i) => event(i + 1, old)), ...Array.from({ length: 20 }, (_, i) => event(i + 31, new Date()))]),
      ),
    )
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(work, { recursive: true, force: true })
  })

  it('writes a signed checkpoint after a command that appended events, in the data folder and its mirror', async () => {
    expect(existsSync(checkpointFile)).toBe(false)
    const purge = run(['retention'])
    expect(purge.status, purge.err).toBe(0)
    const lines = readFileSync(checkpointFile, 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(readFileSync(path.join(work, 'mirror', 'audit-checkpoints.jsonl'), 'utf8')).toBe(readFileSync(checkpointFile, 'utf8'))
    const head = await inspect(async (db) => (await db.query<{ seq: number }>('select max(seq) as seq from audit_events')).rows[0]!.seq)
    const base = await inspect(async (db) => (await db.query<{ upto: number }>('select max(upto_seq) as upto from audit_truncations')).rows[0]!.upto)
    expect(Number(base)).toBe(30)
    expect(JSON.parse(lines[0]!)).toMatchObject({ v: 1, n: 1, seq: Number(head), base: { seq: 30 }, sig: expect.any(String) })
    const verify = run(['audit', 'verify'])
    expect(verify.status, verify.out + verify.err).toBe(0)
    expect(verify.out).toContain('chain intact')
    expect(verify.out).toContain(`checkpoints: 1 signed checkpoint(s), the last 1 at seq ${Number(head)}`)
    // Verifying appends nothing, so it writes no checkpoint.
    expect(readFileSync(checkpointFile, 'utf8').trimEnd().split('\n')).toHaveLength(1)
  })

  it('names the deleted tail of the log, exit 1', async () => {
    const head = Number(await inspect(async (db) => (await db.query<{ seq: number }>('select max(seq) as seq from audit_events')).rows[0]!.seq))
    await inspect((db) => db.query('delete from audit_events where seq > $1', [head - 3]))
    const verify = run(['audit', 'verify'])
    expect(verify.status).toBe(1)
    expect(verify.out).toContain('chain intact')
    expect(verify.out).toContain(`TAMPERING SUSPECTED: events after checkpoint 1 (seq ${head}) are missing: the head is ${head - 3}`)
  })
})
