import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DEFECTS, declarationsWith } from '../helpers/bad-declarations.ts'
import { instanceEnv, spawnPasserelle, type Spawned } from '../helpers/processes.ts'

const EX_CONFIG = 78

/**
 * `serve` and `ingest` refuse to start on declarations `passerelle check` rejects: exit 78 (as a bad setting), the
 * problem named on stderr, nothing opened (no database, no staging area).
 */
describe('serve and ingest refuse declarations check rejects', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'passerelle-refused-'))
  const running: Spawned[] = []
  afterAll(() => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL')
    rmSync(work, { recursive: true, force: true })
  })

  const run = (args: string[], dirs: { flowsDir: string; mappingsDir: string }, dataDir: string) => {
    const p = spawnPasserelle(args, instanceEnv({ PASSERELLE_FLOWS_DIR: dirs.flowsDir, PASSERELLE_MAPPINGS_DIR: dirs.mappingsDir, PASSERELLE_DATA_DIR: dataDir }))
    running.push(p)
    return p
  }

  for (const [i, defect] of DEFECTS.entries()) {
    it(`serve and ingest refuse ${defect.name}`, async () => {
      const dirs = declarationsWith([defect])
      await Promise.all(
        [['serve', '--port', '0'], ['ingest']].map(async (args) => {
          const dataDir = path.join(work, `${args[0]}-${i}`)
          const p = run(args, dirs, dataDir)
          const { code } = await p.exited
          expect(code, args[0]).toBe(EX_CONFIG)
          expect(p.stderr()).toMatch(/passerelle: the declarations have \d+ problem\(s\)/)
          expect(p.stderr()).toMatch(defect.problem)
          expect(p.stdout()).toBe('')
          expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([])
        }),
      )
    })
  }

  it('serve starts on the same declarations without the defect (control)', async () => {
    const p = run(['serve', '--port', '0', '--no-scheduler'], declarationsWith([]), path.join(work, 'control'))
    await p.waitFor(/listening on http/)
    p.child.kill('SIGTERM')
    expect((await p.exited).code).toBe(0)
  })
})
