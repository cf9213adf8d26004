import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Flow } from '../../src/flows/flow.ts'
import { ingestFile, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import { createLogger } from '../../src/log/logger.ts'
import { acknowledgementText } from '../../src/sftp/acknowledge.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { shippedDeclarations } from '../helpers/ingest.ts'
import {
  applyMutations,
  cnafSentinelFile,
  CSV_INSERTS,
  findSentinel,
  franceTravailSentinelFile,
  mutationsArbitrary,
  XML_INSERTS,
} from '../helpers/sentinel-mutations.ts'

/**
 * The ingest path end to end on mutated files carrying planted sentinel values: nothing it writes or says (the
 * outcome, files.reason, rejection rows, every log line at debug level, the `.nack` it would send) may hold a
 * sentinel or a 6-character piece of one. Complements test/unit/reader-sentinels.test.ts (the readers alone, more
 * runs).
 */
describe.skipIf(postgresUnavailable())('the ingest path never writes a value of a rejected file', () => {
  let t: TestDatabase
  let deps: IngestDeps
  let logged = ''
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-ingest-sentinels-'))
  const flows = shippedDeclarations().flows

  beforeAll(async () => {
    t = await createTestDatabase()
    const declarations = shippedDeclarations()
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString()
        done()
      },
    })
    deps = { db: t.db, keys: testKeys(), log: createLogger({ level: 'debug', destination }), stored: declarations.stored, purposes: declarations.purposes }
  })
  afterAll(async () => {
    await t?.drop()
    rmSync(dir, { recursive: true, force: true })
  })

  let n = 0
  async function everythingWritten(flow: Flow, name: string, text: string): Promise<string> {
    const file = path.join(dir, name)
    writeFileSync(file, text, 'latin1')
    // Each file is judged on its own: no ordering against the previous one.
    await t.db.query('delete from flow_progress')
    logged = ''
    const outcome = await ingestFile(deps, flow, { path: file, name, source: 'local', modifiedAt: new Date('2026-03-02T10:00:00Z') })
    const said = [JSON.stringify(outcome), logged]
    if (outcome.fileId !== undefined) {
      const files = await t.db.query<{ reason: string | null }>('select reason from files where id = $1', [outcome.fileId])
      const rows = await t.db.query<{ field: string; rule: string }>('select field, rule from rejections where file_id = $1', [outcome.fileId])
      said.push(JSON.stringify(files.rows), JSON.stringify(rows.rows))
    }
    if (outcome.status === 'rejected') {
      said.push(
        acknowledgementText(flow.id, name, {
          status: 'rejected', fileId: outcome.fileId, sha256: outcome.sha256, size: outcome.size,
          reason: { code: outcome.code ?? 'rejected', message: outcome.reason ?? '' }, rejectedAt: new Date(),
        }),
      )
    }
    return said.join('\n')
  }

  it('CNAF files with bytes lost, markup inserted, cut short or duplicated', async () => {
    const base = await cnafSentinelFile()
    const flow = flows.get('caf-beneficiaires')!
    let rejected = 0
    await fc.assert(
      fc.asyncProperty(mutationsArbitrary(XML_INSERTS), async (mutations) => {
        const said = await everythingWritten(flow, `CAF093.RSABEM.20260302.${++n}.xml`, applyMutations(base, mutations))
        if (said.includes('"status":"rejected"')) rejected++
        expect(findSentinel(said), said.slice(0, 2000)).toBeUndefined()
      }),
      { numRuns: 150, seed: 1316 },
    )
    expect(rejected).toBeGreaterThan(50)
  }, 120_000)

  it('France Travail files with cells, quotes and lines damaged', async () => {
    const base = await franceTravailSentinelFile()
    const flow = flows.get('france-travail')!
    await fc.assert(
      fc.asyncProperty(mutationsArbitrary(CSV_INSERTS), async (mutations) => {
        const said = await everythingWritten(flow, `Liste_BeneficiairesRSA_Inscrits_${++n}.csv`, applyMutations(base, mutations))
        expect(findSentinel(said), said.slice(0, 2000)).toBeUndefined()
      }),
      { numRuns: 100, seed: 1317 },
    )
  }, 120_000)
})
