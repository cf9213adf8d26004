import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auditSubject } from '../../src/audit/subject-pseudonym.ts'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { dailyChange, foyer } from '../../src/fixtures/population.ts'
import { renderAccessExport } from '../../src/rights/access-export.ts'
import { applyRightsAfterFile } from '../../src/rights/apply-rights-after-file.ts'
import { issueRectificationNotice } from '../../src/rights/rectification-notice.ts'
import { closeRequest, openRequest, showRequest } from '../../src/rights/requests.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { adults, loadDaily, loadPopulation, mappingsWith, nextDay, rightsContext, SEED, type LoadedWorld, type Subject } from '../helpers/rights-world.ts'

const FOYERS = 12
const NOW = new Date('2026-03-05T10:00:00Z')

/** The first day after the stock on which the daily file moves foyer `i` to another street. */
function dayOfMove(i: number): string | undefined {
  const base = foyer(SEED, i)
  let day = '2026-03-05'
  for (let n = 0; n < 60; n++, day = nextDay(day)) {
    const changed = dailyChange(base, SEED, day)
    if (changed.adresses[0]!.nomvoie !== base.adresses[0]!.nomvoie && changed.etatdosrsa === base.etatdosrsa) return day
  }
  return undefined
}

/**
 * Rectification (art. 16) end to end: contested fields flagged on generated data, the notice for the CAF names the
 * dossier and the fields but no contested value, and a later daily file that changes a contested field closes its
 * flag while one that sends the same value again leaves it open.
 */
describe.skipIf(postgresUnavailable())('rights: rectification', () => {
  let t: TestDatabase
  let world: LoadedWorld
  const keys = testKeys()
  let x: Subject // moves in the daily file
  let y: Subject // sent again unchanged
  let moveDay: string
  let xRequest: number
  let yRequest: number
  const ctx = (now = NOW) => rightsContext(t.db, world.declarations, now, keys)

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await loadPopulation(t.db, keys, mappingsWith(), FOYERS, '2026-03-02')
    const people = adults(FOYERS)
    x = people.find((p) => p.person.role === 'DEM' && dayOfMove(p.foyerIndex) !== undefined)!
    moveDay = dayOfMove(x.foyerIndex)!
    y = people.find((p) => p.foyerIndex !== x.foyerIndex && p.person.role === 'DEM')!
  })
  afterAll(() => t?.drop())

  it('flags the contested fields on the person’s rows, without copying their values', async () => {
    const opened = await openRequest(ctx(), { type: 'rectification', nir: x.nir13, birthDate: x.birthDate, fields: ['adresse.nomVoie', 'personne.nom'] })
    xRequest = opened.request.id
    expect(opened.notes).toContain('2 held value(s) flagged as contested')
    yRequest = (await openRequest(ctx(), { type: 'rectification', nir: y.nir13, birthDate: y.birthDate, fields: ['personne.nom'] })).request.id
    const flags = (await showRequest(ctx(), xRequest)).contested
    expect(flags.map((f) => [f.fieldId, f.table, f.closedAt])).toEqual([
      ['adresse.nomVoie', 'dossiers', null],
      ['personne.nom', 'persons', null],
    ])
    const stored = JSON.stringify((await t.db.query('select * from rights_contested_fields')).rows)
    for (const v of [x.person.nom, x.foyer.adresses[0]!.nomvoie, y.person.nom]) expect(stored).not.toContain(v)
  })

  it('shows the contested values as such in the access export', async () => {
    const access = await openRequest(ctx(), { type: 'access', nir: x.nir13, birthDate: x.birthDate })
    const { export: x1 } = await renderAccessExport(ctx(), access.request.id)
    const contested = x1.data.flatMap((i) => i.fields.filter((f) => f.contested).map((f) => f.id)).sort()
    expect(contested).toEqual(['adresse.nomVoie', 'personne.nom'])
  })

  it('produces a notice to the CAF naming the dossier and the fields, not the contested values', async () => {
    const issued = await issueRectificationNotice(ctx(), xRequest)
    expect(issued.notice.recipients).toHaveLength(1)
    const r = issued.notice.recipients[0]!
    expect(r.body).toBe('CAF')
    expect(r.references).toEqual(expect.arrayContaining([{ label: 'Numéro de demande RSA (NUMDEMRSA)', value: x.foyer.numdemrsa }]))
    expect(r.fields.map((f) => f.id).sort()).toEqual(['adresse.nomVoie', 'personne.nom'])
    expect(r.role).toBe('DEM — Demandeur')
    for (const text of [issued.text, issued.html]) {
      expect(text).toContain(x.foyer.numdemrsa)
      expect(text).toContain('Identification/NOM')
      for (const v of [x.person.nom, x.person.prenom, x.foyer.adresses[0]!.nomvoie, x.nir13, x.birthDate]) expect(text).not.toContain(v)
    }
    expect(issued.html).toMatch(/^<!doctype html>/)
    const events = (await t.db.query<{ details: unknown }>(`select details from audit_events where action = 'rights.rectification.notice'`)).rows
    expect(events).toHaveLength(1)
  })

  it('a later flow that changes a contested field closes its flag; the same value sent again leaves it open', async () => {
    const daily = await loadDaily(t.db, keys, world.declarations, [x.foyerIndex, y.foyerIndex], moveDay)
    expect(daily.status).toBe('loaded')
    // The loader ran the rights hook in the file's own transaction.
    const flags = (await showRequest(ctx(), xRequest)).contested
    expect(flags.map((f) => [f.fieldId, f.closedReason, f.closedByFileId])).toEqual([
      ['adresse.nomVoie', 'corrected_by_source', daily.fileId],
      ['personne.nom', null, null],
    ])
    expect((await showRequest(ctx(), yRequest)).contested.map((f) => f.closedAt)).toEqual([null])
    const { rows } = await t.db.query<{ subject: string; actor: string; details: Record<string, unknown> }>(
      `select subject, actor, details from audit_events where action = 'rights.rectification.corrected'`,
    )
    expect(rows).toEqual([
      { subject: auditSubject(keys.pseudonym, x.matchKey), actor: 'passerelle:ingestion', details: { request: xRequest, fields: ['adresse.nomVoie'], fileId: daily.fileId, remaining: 1 } },
    ])
    // The hook is idempotent: run again for the same file, it closes nothing more.
    expect(await t.db.transaction((tx) => applyRightsAfterFile(tx, { keys, purposes: world.declarations.purposes }, daily.fileId!))).toMatchObject({ rectificationsClosed: 0 })
  })

  it('closing a refused request closes its flags; a granted one keeps them until the source corrects', async () => {
    await closeRequest(ctx(new Date('2026-03-20T10:00:00Z')), yRequest, 'refused')
    expect((await showRequest(ctx(), yRequest)).contested.map((f) => f.closedReason)).toEqual(['closed_with_request'])
    await closeRequest(ctx(new Date('2026-03-20T10:00:00Z')), xRequest, 'granted')
    expect((await showRequest(ctx(), xRequest)).contested.map((f) => f.closedReason)).toEqual(['corrected_by_source', null])
    // A closed request forgets the person's blind indexes, unless a flag still awaits the source.
    expect((await showRequest(ctx(), yRequest)).request).toMatchObject({ matchKey: null, nirIndex: null, subject: auditSubject(keys.pseudonym, y.matchKey) })
    expect((await showRequest(ctx(), xRequest)).request.matchKey).toBe(x.matchKey)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })
})
