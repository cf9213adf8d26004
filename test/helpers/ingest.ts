import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import type { Flow } from '../../src/flows/flow.ts'
import { loadDeclarations } from '../../src/declarations/load-declarations.ts'
import type { PullDeps } from '../../src/ingestion/pull-flow.ts'
import { createLogger } from '../../src/log/logger.ts'
import type { TestSftp } from './sshd.ts'

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

/** The shipped declarations (flows/, mappings/), loaded as the product loads them. */
export function shippedDeclarations() {
  return loadDeclarations({ flowsDir: path.join(REPO_ROOT, 'flows'), mappingsDir: path.join(REPO_ROOT, 'mappings') })
}

/** Dependencies of a pull against a test database and a test SFTP server; silent logs; fixed test keys. */
export function pullDeps(db: Db, sftp: TestSftp | undefined, env: Record<string, string> = {}): PullDeps {
  const declarations = shippedDeclarations()
  return {
    db,
    keys: testKeys(),
    log: createLogger({ level: 'silent' }),
    stored: declarations.stored,
    purposes: declarations.purposes,
    config: { stagingDir: mkdtempSync(path.join(tmpdir(), 'passerelle-staging-')), sftp: { retries: 3, retryDelayMs: 20 } },
    env: { ...(sftp?.env() ?? {}), ...env },
  }
}

/** A shipped flow whose source points at the test SFTP server folder `sub`, files taken at once. */
export function flowOnTestServer(flowId: string, sftp: TestSftp, sub: string): Flow {
  const flow = shippedDeclarations().flows.get(flowId)
  if (!flow?.source) throw new Error(`no shipped flow ${flowId} with a source`)
  return { ...flow, source: sftp.source(sub, { pattern: flow.source.pattern, min_age_seconds: 0 }) }
}

/** Counts of the canonical tables, to assert that nothing (or exactly something) changed. */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const tables = ['files', 'rejections', 'dossiers', 'persons', 'dossier_members', 'france_travail_registrations', 'state_changes']
  const out: Record<string, number> = {}
  for (const t of tables) {
    const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from ${t}`)
    out[t] = rows[0]!.n
  }
  return out
}

/** A copy of the shipped declarations where the CAF flow reads `remoteDir` and takes files at once (for child processes). */
export function cafFlowsReading(remoteDir: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-flows-'))
  cpSync(path.join(REPO_ROOT, 'flows'), dir, { recursive: true })
  const file = path.join(dir, 'caf-beneficiaires.yaml')
  writeFileSync(file, readFileSync(file, 'utf8').replace(/remote_dir: .*$/m, `remote_dir: ${remoteDir}`).replace(/min_age_seconds: .*$/m, 'min_age_seconds: 0'))
  return dir
}
