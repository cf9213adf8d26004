import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyAuditLog } from '../../src/audit/verify-log.ts'
import type { AppContext } from '../../src/cli/context.ts'
import { loadConfig } from '../../src/config/config.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import { createLogger } from '../../src/log/logger.ts'
import { gatewayJobs } from '../../src/server/jobs.ts'
import { startServer } from '../../src/server/start-server.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/** A clean stop of the server ends with a signed checkpoint of everything it wrote to the audit log. */
describe.skipIf(postgresUnavailable())('serve: the final audit checkpoint', () => {
  let t: TestDatabase
  const dataDir = mkdtempSync(path.join(tmpdir(), 'passerelle-serve-checkpoint-'))
  beforeAll(async () => {
    t = await createTestDatabase()
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('checkpoints the head on a clean stop, after the requests it audited', async () => {
    const config = loadConfig({ PASSERELLE_DATA_DIR: dataDir })
    const ctx: AppContext = { config, db: t.db, keys: testKeys(), log: createLogger({ level: 'silent' }), close: async () => {} }
    const declarations = loadDeclarations(config)
    // The scheduler takes a checkpoint every five minutes: the job is declared with the configured schedule.
    expect(gatewayJobs(ctx, declarations, config.schedules, {}).find((j) => j.name === 'audit:checkpoint')).toMatchObject({ schedule: '*/5 * * * *' })
    const server = await startServer(ctx, declarations, { port: 0, host: '127.0.0.1', api: true, scheduler: false, jobs: [] })
    for (let i = 0; i < 5; i++) expect((await fetch(`${server.url}/v1/beneficiaires`)).status).toBe(401)
    const head = Number((await t.db.query<{ seq: number }>('select max(seq) as seq from audit_events')).rows[0]!.seq)
    expect(head).toBe(5)
    await server.stop()
    const lines = readFileSync(config.audit.checkpointFile, 'utf8').trimEnd().split('\n')
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ n: 1, seq: head, count: head })
    expect(await verifyAuditLog(t.db, ctx.keys.audit.verifying, config.audit)).toMatchObject({ ok: true, findings: [], unattested: 0 })
  })
})
