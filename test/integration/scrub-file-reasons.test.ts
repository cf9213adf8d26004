import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { migrate } from '../../src/db/migrate.ts'

const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../src/db/migrations')
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'

/** Migration 0081 replaces every stored files.reason that could quote a value of the file (issue 13, point 5). */
describe.skipIf(postgresUnavailable())('migration 0081: stored rejection reasons scrubbed', () => {
  let t: TestDatabase | undefined
  const before = mkdtempSync(path.join(tmpdir(), 'passerelle-migrations-'))
  afterAll(async () => {
    await t?.drop()
    rmSync(before, { recursive: true, force: true })
  })

  it('withdraws reasons that quote a name, an attribute or a NIR-long number, keeps the code and the harmless ones', async () => {
    for (const f of readdirSync(MIGRATIONS_DIR)) if (f < '0081') cpSync(path.join(MIGRATIONS_DIR, f), path.join(before, f))
    t = await createTestDatabase({ migrate: false })
    await migrate(t.db, before)
    const reasons = [
      'not_well_formed: file "a.xml": record 3 (line 40): not well-formed XML: end tag does not match start tag <NIR2921093965529>',
      'not_well_formed: file "a.xml": record 3 (line 41): not well-formed XML: tag <NOMNAIFOFANA> not closed',
      'not_well_formed: file "a.xml": record 3 (line 42): not well-formed XML: attribute MOULIN of <LIEUDISTLE> has no value',
      'wrong_schema: file "a.xml": line 9: unexpected element </DUPONT in Racine',
      'bad_header: file "a.xml": line 2: IdentificationFlux.NUMVERSIONAPPLIEME 2921093965529',
      'count_mismatch: file "a.xml": line 900: TransmissionFlux.NBTOTDOSRSATRANSM is 12 but the file holds 11 InfosFoyerRSA',
      'truncated: file "b.csv": line 7: the last line is cut short (rule truncated)',
    ]
    for (const [i, reason] of reasons.entries()) {
      await t.db.query(
        `insert into files (flow_id, name, size, sha256, status, source, reason, started_at)
         values ('caf-beneficiaires', $1, 1, 'x', 'rejected', 'local', $2, now())`,
        [`f${i}`, reason],
      )
    }
    await t.db.query(
      `insert into files (flow_id, name, size, sha256, status, source, reason, started_at)
       values ('caf-beneficiaires', 'loaded', 1, 'x', 'loaded', 'local', null, now())`,
    )
    await migrate(t.db)
    const { rows } = await t.db.query<{ name: string; reason: string | null }>('select name, reason from files order by id')
    const withdrawn = (code: string) => `${code}: message withdrawn by migration 0081 (it could quote a value of the file); the rejections rows name the record, line and rule`
    expect(rows.map((r) => r.reason)).toEqual([
      withdrawn('not_well_formed'),
      withdrawn('not_well_formed'),
      withdrawn('not_well_formed'),
      withdrawn('wrong_schema'),
      withdrawn('bad_header'),
      reasons[5],
      reasons[6],
      null,
    ])
    for (const r of rows) expect(r.reason ?? '').not.toMatch(/2921093965529|FOFANA|MOULIN|DUPONT/)
  })
})
