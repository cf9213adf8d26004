import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyAuditChain } from '../../src/audit/verify-chain.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { closeRequest, extendRequest, listRequests, openRequest, showRequest } from '../../src/rights/requests.ts'
import { RightsError } from '../../src/rights/rights-request.ts'
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/database.ts'
import { adults, dumpEveryTable, loadPopulation, mappingsWith, rightsContext, type LoadedWorld } from '../helpers/rights-world.ts'

/** Requests, their deadlines and the overdue listing, on an injected clock; the NIR never lands anywhere. */
describe.skipIf(postgresUnavailable())('rights requests: deadlines, listing, extension', () => {
  let t: TestDatabase
  let world: LoadedWorld
  const keys = testKeys()
  const people = adults(6)
  const at = (iso: string) => new Date(iso)
  const ctx = (now: string) => rightsContext(t.db, world.declarations, at(now), keys)

  beforeAll(async () => {
    t = await createTestDatabase()
    world = await loadPopulation(t.db, keys, mappingsWith(), 6)
  })
  afterAll(() => t?.drop())

  it('records a request with its deadline one month from receipt, end of month included', async () => {
    const p = people[0]!
    const opened = await openRequest(ctx('2026-02-02T09:00:00Z'), { type: 'access', nir: p.nir13, birthDate: p.birthDate, receivedOn: '2026-01-31' })
    expect(opened.found).toBe(true)
    expect(opened.matchedBy).toBe('nir_and_birth_date')
    expect(opened.request).toMatchObject({ type: 'access', receivedOn: '2026-01-31', dueOn: '2026-02-28', state: 'open', openedBy: 'dpo@test.example' })
  })

  it('lists overdue first, then due soon, then on time, as the clock moves', async () => {
    await t.db.exec('truncate rights_request_actions, rights_contested_fields, rights_oppositions, rights_requests restart identity cascade')
    const open = (i: number, receivedOn: string) =>
      openRequest(ctx(`${receivedOn}T12:00:00Z`), { type: 'access', nir: people[i]!.nir13, birthDate: people[i]!.birthDate, receivedOn })
    const a = await open(0, '2026-03-01') // due 2026-04-01
    const b = await open(1, '2026-03-20') // due 2026-04-20
    const c = await open(2, '2026-03-27') // due 2026-04-27
    const view = async (now: string) => (await listRequests(ctx(now))).map((l) => [l.request.id, l.urgency, l.daysLeft])
    expect(await view('2026-03-28T10:00:00Z')).toEqual([
      [a.request.id, 'due_soon', 4],
      [b.request.id, 'on_time', 23],
      [c.request.id, 'on_time', 30],
    ])
    expect(await view('2026-04-02T10:00:00Z')).toEqual([
      [a.request.id, 'overdue', -1],
      [b.request.id, 'on_time', 18],
      [c.request.id, 'on_time', 25],
    ])
    expect(await view('2026-04-15T10:00:00Z')).toEqual([
      [a.request.id, 'overdue', -14],
      [b.request.id, 'due_soon', 5],
      [c.request.id, 'on_time', 12],
    ])
    // Only what needs attention.
    expect((await listRequests(ctx('2026-04-15T10:00:00Z'), { only: 'due' })).map((l) => l.request.id)).toEqual([a.request.id, b.request.id])
    // A closed request leaves the list; --all shows it last, with its outcome.
    await closeRequest(ctx('2026-04-15T10:00:00Z'), a.request.id, 'granted')
    expect((await listRequests(ctx('2026-04-15T10:00:00Z'))).map((l) => l.request.id)).toEqual([b.request.id, c.request.id])
    const all = await listRequests(ctx('2026-04-15T10:00:00Z'), { includeClosed: true })
    expect(all.at(-1)).toMatchObject({ urgency: 'closed', request: { id: a.request.id, outcome: 'granted' } })
    const shown = await showRequest(ctx('2026-04-15T10:00:00Z'), a.request.id)
    expect(shown.actions.map((x) => x.action)).toEqual(['rights.open', 'rights.close'])
    expect(shown.actions[1]!.details).toMatchObject({ outcome: 'granted', onTime: false, deadline: '2026-04-01' })
  })

  it('extends once, within the first month, with a reason; the new deadline is three months from receipt', async () => {
    const p = people[3]!
    const opened = await openRequest(ctx('2026-01-31T10:00:00Z'), { type: 'erasure', nir: p.nir13, birthDate: p.birthDate })
    expect(opened.request.dueOn).toBe('2026-02-28')
    await expect(extendRequest(ctx('2026-02-10T10:00:00Z'), opened.request.id, 'court')).rejects.toThrow(/reason/)
    const extended = await extendRequest(ctx('2026-02-10T10:00:00Z'), opened.request.id, 'demandes simultanées nombreuses, recherche en archive')
    expect(extended).toMatchObject({ dueOn: '2026-02-28', extendedDueOn: '2026-04-30' })
    await expect(extendRequest(ctx('2026-02-11T10:00:00Z'), opened.request.id, 'encore une prolongation demandée')).rejects.toThrow(/already extended/)
    const late = await openRequest(ctx('2026-01-05T10:00:00Z'), { type: 'access', nir: people[4]!.nir13, birthDate: people[4]!.birthDate })
    await expect(extendRequest(ctx('2026-02-06T10:00:00Z'), late.request.id, 'demandes simultanées nombreuses')).rejects.toThrow(/first month ended on 2026-02-05/)
    const listed = await listRequests(ctx('2026-03-15T10:00:00Z'))
    expect(listed.find((l) => l.request.id === opened.request.id)).toMatchObject({ deadline: '2026-04-30', urgency: 'on_time' })
  })

  it('refuses bad input by rule, never echoing the value', async () => {
    const p = people[0]!
    const bad = '1840299000124' + '55'
    const error = await openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'access', nir: bad, birthDate: p.birthDate }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RightsError)
    expect((error as Error).message).toMatch(/nir_key/)
    expect((error as Error).message).not.toContain('1840299000124')
    await expect(openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'access', nir: p.nir13, birthDate: '1990-02-30' })).rejects.toThrow(/date_format/)
    await expect(openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'access', nir: p.nir13, birthDate: p.birthDate, receivedOn: '2026-03-02' })).rejects.toThrow(/future/)
    await expect(openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'rectification', nir: p.nir13, birthDate: p.birthDate })).rejects.toThrow(/names the contested fields/)
    await expect(openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'rectification', nir: p.nir13, birthDate: p.birthDate, fields: ['personne.nomm'] })).rejects.toThrow(/unknown field "personne.nomm"/)
    await expect(openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'erasure', nir: p.nir13, birthDate: p.birthDate, purpose: 'nope' })).rejects.toThrow(/unknown purpose "nope"/)
  })

  it('finds a person by NIR alone when the birth date held differs, and records a stranger as holding nothing', async () => {
    const p = people[5]!
    const other = await openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'access', nir: p.nir13, birthDate: '1901-01-01' })
    expect(other).toMatchObject({ found: true, matchedBy: 'nir' })
    expect(other.request.subject).toBe((await openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'access', nir: p.nir13, birthDate: p.birthDate })).request.subject)
    const stranger = await openRequest(ctx('2026-03-01T10:00:00Z'), { type: 'access', nir: '2991275123456', birthDate: '1999-12-01' })
    expect(stranger).toMatchObject({ found: false, matchedBy: 'none' })
    expect(stranger.notes.join(' ')).toMatch(/holds nothing/)
  })

  it('keeps neither the NIR nor the birth date of a request anywhere, and the audit chain holds', async () => {
    const lines = await dumpEveryTable(t.db)
    const requests = lines.filter((l) => l.startsWith('public.rights_'))
    expect(requests.length).toBeGreaterThan(5)
    for (const p of people) {
      expect(requests.filter((l) => l.includes(p.nir13))).toEqual([])
      expect(requests.filter((l) => l.includes(p.birthDate))).toEqual([])
    }
    expect(lines.filter((l) => l.includes('2991275123456'))).toEqual([])
    expect(lines.filter((l) => l.startsWith('public.audit_events') && l.includes('action=rights.')).length).toBeGreaterThan(5)
    expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })
})
