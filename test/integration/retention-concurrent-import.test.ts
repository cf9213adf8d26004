import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useAuditKeys } from '../../src/audit/audit-keys.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { createLogger } from '../../src/log/logger.ts'
import { runRetention } from '../../src/retention/run-retention.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { flowDeclarations } from '../helpers/declarations.ts'
import { seedDossier } from '../helpers/retention-seed.ts'

/**
 * Retention archiving a person's last old dossier while a writer (an import that took no lock) links that person to
 * a new open dossier: the person must stay, with the new membership. Each archive chunk locks its persons before
 * deciding who leaves, so it waits for the writer and sees what it committed.
 */
describe.skipIf(postgresUnavailable())('retention beside a writer linking a person it archives', () => {
  let t: TestDatabase
  const keys = testKeys()
  const log = createLogger({ level: 'silent' })
  beforeAll(async () => {
    t = await createTestDatabase()
    useAuditKeys(keys.audit)
  })
  afterAll(() => t?.drop())

  it('keeps the person the writer links meanwhile, and the new membership', async () => {
    const persons = Array.from({ length: 20 }, (_, i) => ({ nir13: `18001751234${String(10 + i)}`, birthDate: '1980-01-15', nom: `ZZSENTINEL${i}`, prenom: 'ZZPRENOM' }))
    // Closed on 2021-01-10: due for the archive in 2026.
    for (const [i, p] of persons.entries()) {
      await seedDossier(t.db, keys, { numdemrsa: String(91_000_000_000 + i), transmittedAt: new Date('2021-01-12T10:00:00Z'), etatDroit: '6', dateCloture: '2021-01-10', persons: [p] })
    }
    let release!: () => void
    let linked!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const inserted = new Promise<void>((resolve) => (linked = resolve))
    // The writer links half of them to a new open dossier, and holds its transaction open a while.
    const writer = t.db.transaction(async (tx) => {
      await seedDossier(tx, keys, { numdemrsa: '92000000001', transmittedAt: new Date('2026-03-01T08:00:00Z'), etatDroit: '2', persons: persons.slice(0, 10) })
      linked()
      await gate
    })
    await inserted
    const retention = runRetention({ db: t.db, keys, log, declarations: flowDeclarations() }, { now: new Date('2026-03-01T10:00:00Z'), dryRun: false, pauseRatio: 0 })
    setTimeout(release, 700)
    await writer
    const report = await retention
    expect(report.errors).toEqual([])
    const { rows } = await t.db.query<{ active: number; members: number; archivedWithIdentity: number }>(
      `select (select count(*)::int from persons) as active,
              (select count(*)::int from dossier_members dm join dossiers d on d.id = dm.dossier_id where d.numdemrsa = '92000000001') as members,
              (select count(*)::int from archive.persons where not identity_active) as "archivedWithIdentity"`,
    )
    // The ten linked stay active (identity in the active base only); the ten others left for the archive.
    expect(rows[0]).toEqual({ active: 10, members: 10, archivedWithIdentity: 10 })
  })
})
