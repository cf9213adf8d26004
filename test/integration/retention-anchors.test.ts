import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ETATDOSRSA } from '../../src/ingestion/cnaf/code-lists.ts'
import {
  anchorDay,
  dossierAnchorFacts,
  dossierAnchorSql,
  orphanPersonAnchorFacts,
  orphanPersonAnchorSql,
  registrationAnchorFacts,
  registrationAnchorSql,
} from '../../src/retention/anchors.ts'
import { ANCHORS } from '../../src/retention/policy.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { seedFile } from '../helpers/retention-seed.ts'

/**
 * The pure anchor rules (what the rules mean) and their SQL twins (what a run asks) agree on random rows: every
 * ETATDOSRSA state, missing dates, both transmission states, instants around midnight in Paris, with and without
 * a later state change.
 */
const instant = fc.integer({ min: Date.UTC(2018, 0, 1), max: Date.UTC(2027, 0, 1) }).map((ms) => new Date(Math.floor(ms / 600_000) * 600_000))
const calendarDay = fc.option(
  instant.map((d) => d.toISOString().slice(0, 10)),
  { nil: null },
)

describe.skipIf(postgresUnavailable())('retention: anchor rules and their SQL agree', () => {
  let t: TestDatabase
  let fileId: number
  let n = 0

  beforeAll(async () => {
    t = await createTestDatabase()
    fileId = await seedFile(t.db, 'caf-beneficiaires', new Date('2026-01-01T00:00:00Z'))
  })
  afterAll(() => t?.drop())

  const sqlAnchors = async (table: string, alias: string, id: number, sql: (a: (typeof ANCHORS)[number]) => string) => {
    const { rows } = await t.db.query<Record<string, string | null>>(`select ${ANCHORS.map((a) => `(${sql(a)})::text as "${a}"`).join(', ')} from ${table} ${alias} where ${alias}.id = $1`, [id])
    return rows[0]!
  }

  it('dossiers', async () => {
    const row = fc.record({
      etatDroit: fc.option(fc.constantFrom(...ETATDOSRSA), { nil: null }),
      dateCloture: calendarDay,
      dateRefus: calendarDay,
      dateSuspensionDroit: calendarDay,
      dateSuspensionVersement: calendarDay,
      transmissionState: fc.constantFrom('transmitted' as const, 'not_transmitted' as const),
      notTransmittedSince: calendarDay,
      transmittedAt: instant,
      createdAt: instant,
      lastChangeAt: fc.option(instant, { nil: null }),
    })
    await fc.assert(
      fc.asyncProperty(row, async (r) => {
        n += 1
        const { rows } = await t.db.query<{ id: number }>(
          `insert into dossiers (flow_id, organisme, numdemrsa, etat_droit, date_cloture, date_refus, date_suspension_droit, date_suspension_versement,
             transmission_state, not_transmitted_since, file_id, transmitted_at, created_at)
           values ('caf-beneficiaires', 'CAF', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           returning id`,
          [`P${n}`, r.etatDroit, r.dateCloture, r.dateRefus, r.dateSuspensionDroit, r.dateSuspensionVersement, r.transmissionState, r.notTransmittedSince, fileId, r.transmittedAt, r.createdAt],
        )
        const id = rows[0]!.id
        if (r.lastChangeAt) {
          await t.db.query(`insert into state_changes (dossier_id, field, old_value, new_value, file_id, transmitted_at) values ($1, 'etat_droit', '2', '5', $2, $3)`, [id, fileId, r.lastChangeAt])
        }
        const facts = dossierAnchorFacts(r)
        const sql = await sqlAnchors('dossiers', 'd', id, dossierAnchorSql)
        for (const a of ANCHORS) expect([a, sql[a]]).toEqual([a, anchorDay(a, facts)])
      }),
      { numRuns: 150 },
    )
  })

  it('France Travail registrations', async () => {
    const row = fc.record({
      etat: fc.constantFrom('inscription' as const, 'cessation' as const, 'radiation' as const),
      dateEtat: calendarDay,
      transmittedAt: instant,
      createdAt: instant,
      lastChangeAt: fc.option(instant, { nil: null }),
    })
    await fc.assert(
      fc.asyncProperty(row, async (r) => {
        n += 1
        const personKey = `anchor-key-${n}`
        const { rows } = await t.db.query<{ id: number }>(
          `insert into france_travail_registrations (person_key, identifiant_pe, etat, date_etat, file_id, transmitted_at, created_at)
           values ($1, $2, $3, $4, $5, $6, $7)
           returning id`,
          [personKey, `FT${n}`, r.etat, r.dateEtat, fileId, r.transmittedAt, r.createdAt],
        )
        if (r.lastChangeAt) {
          await t.db.query(`insert into state_changes (person_key, field, old_value, new_value, file_id, transmitted_at) values ($1, 'etat', 'inscription', 'cessation', $2, $3)`, [personKey, fileId, r.lastChangeAt])
        }
        const facts = registrationAnchorFacts(r)
        const sql = await sqlAnchors('france_travail_registrations', 'r', rows[0]!.id, registrationAnchorSql)
        for (const a of ANCHORS) expect([a, sql[a]]).toEqual([a, anchorDay(a, facts)])
      }),
      { numRuns: 100 },
    )
  })

  it('persons no dossier refers to', async () => {
    await fc.assert(
      fc.asyncProperty(instant, async (transmittedAt) => {
        n += 1
        const { rows } = await t.db.query<{ id: number }>(
          `insert into persons (match_key, file_id, transmitted_at) values ($1, $2, $3) returning id`,
          [`anchor-person-${n}`, fileId, transmittedAt],
        )
        const sql = await sqlAnchors('persons', 'p', rows[0]!.id, () => orphanPersonAnchorSql())
        const facts = orphanPersonAnchorFacts(transmittedAt)
        for (const a of ANCHORS) expect([a, sql[a]]).toEqual([a, anchorDay(a, facts)])
      }),
      { numRuns: 50 },
    )
  })
})
