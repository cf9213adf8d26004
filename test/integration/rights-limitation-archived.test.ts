import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { limitedSql } from '../../src/access/exclusions.ts'
import { useAuditKeys } from '../../src/audit/audit-keys.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createLogger } from '../../src/log/logger.ts'
import { runRetention } from '../../src/retention/run-retention.ts'
import { openRequest, showRequest } from '../../src/rights/requests.ts'
import { testPurposes } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { flowDeclarations } from '../helpers/declarations.ts'
import { seedDossier } from '../helpers/retention-seed.ts'

/**
 * A limitation asked for while the person is in the archive (their last dossier closed long ago) is recorded under
 * their id, which a returning file gives back to them: when the CAF sends them again, they are limited at once.
 */
describe.skipIf(postgresUnavailable())('a limitation of an archived person', () => {
  let t: TestDatabase
  const keys = testKeys()
  const log = createLogger({ level: 'silent' })
  const person = { nir13: '1800175123456', birthDate: '1980-01-15', nom: 'ZZSENTINELNOM', prenom: 'ZZSENTINELPRENOM' }
  beforeAll(async () => {
    t = await createTestDatabase()
    useAuditKeys(keys.audit)
  })
  afterAll(() => t?.drop())

  it('is applied under the archived id, and holds when a file brings the person back', async () => {
    // A dossier closed on 2021-01-10 has left the active base by 2026.
    await seedDossier(t.db, keys, { numdemrsa: '90000000001', transmittedAt: new Date('2021-01-12T10:00:00Z'), etatDroit: '6', dateCloture: '2021-01-10', persons: [person] })
    await runRetention({ db: t.db, keys, log, declarations: flowDeclarations() }, { now: new Date('2026-03-01T10:00:00Z'), dryRun: false, pauseRatio: 0 })
    const counts = async () => (await t.db.query<{ active: number; archived: number }>('select (select count(*)::int from persons) as active, (select count(*)::int from archive.persons) as archived')).rows[0]!
    expect(await counts()).toEqual({ active: 0, archived: 1 })

    const ctx = { db: t.db, keys, purposes: testPurposes(), now: new Date('2026-03-02T10:00:00Z'), actor: 'dpo@test.example' }
    const opened = await openRequest(ctx, { type: 'limitation', nir: person.nir13, birthDate: person.birthDate })
    expect(opened.notes).toContainEqual(expect.stringMatching(/^limitation applied/))
    expect(JSON.stringify(opened.notes)).not.toMatch(/ZZSENTINEL|1800175123456/)
    const shown = await showRequest(ctx, opened.request.id)
    expect(shown.request.limitationId).not.toBeNull()

    // The CAF sends the person again (a new open right): back in the active base, under the same id, limited.
    await seedDossier(t.db, keys, { numdemrsa: '90000000002', transmittedAt: new Date('2026-03-05T10:00:00Z'), etatDroit: '2', persons: [person] })
    const { rows } = await t.db.query<{ limited: boolean }>(`select ${limitedSql('p', '$1')} as limited from persons p`, [new Date('2026-03-06T10:00:00Z')])
    expect(rows).toEqual([{ limited: true }])
  })
})
