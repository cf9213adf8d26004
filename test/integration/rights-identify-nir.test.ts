import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useAuditKeys } from '../../src/audit/audit-keys.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { openRequest } from '../../src/rights/requests.ts'
import { testPurposes } from '../helpers/api-seed.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { seedDossier } from '../helpers/retention-seed.ts'

/**
 * One NIR held under two birth dates (a CAF file corrected the birth date; the loader keeps the earlier person, who
 * has a match key of their own): a request must never be told that nothing is held on that NIR.
 */
describe.skipIf(postgresUnavailable())('a rights request about a NIR held under several birth dates', () => {
  let t: TestDatabase
  const keys = testKeys()
  const nir13 = '1800175123456'
  beforeAll(async () => {
    t = await createTestDatabase()
    useAuditKeys(keys.audit)
    for (const [i, birthDate] of ['1980-01-15', '1980-01-25'].entries()) {
      await seedDossier(t.db, keys, { numdemrsa: String(93_000_000_000 + i), transmittedAt: new Date('2026-03-01T10:00:00Z'), etatDroit: '2', persons: [{ nir13, birthDate, nom: 'ZZSENTINELNOM', prenom: 'ZZPRENOM' }] })
    }
  })
  afterAll(() => t?.drop())
  const ctx = () => ({ db: t.db, keys, purposes: testPurposes(), now: new Date('2026-03-02T10:00:00Z'), actor: 'dpo@test.example' })

  it('says the other persons bearing the NIR are not covered, and never that nothing is held', async () => {
    const exact = await openRequest(ctx(), { type: 'access', nir: nir13, birthDate: '1980-01-15' })
    expect(exact.notes).toContainEqual(expect.stringMatching(/^1 other held person\(s\) bear this NIR under another birth date/))
    const neither = await openRequest(ctx(), { type: 'access', nir: nir13, birthDate: '1980-02-02' })
    expect(neither.found).toBe(false)
    expect(neither.notes).toContainEqual(expect.stringMatching(/^2 other held person\(s\) bear this NIR/))
    expect(neither.notes).toContainEqual(expect.stringMatching(/do not answer that nothing is held before checking/))
    expect(neither.notes.join('\n')).not.toMatch(/holds nothing|ZZSENTINEL|1800175123456/)
  })
})
