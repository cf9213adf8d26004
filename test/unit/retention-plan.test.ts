import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parisDay, parisMidnight } from '../../src/calendar/paris-day.ts'
import { addDuration, cutoffFor, parseDuration } from '../../src/retention/duration.ts'
import { dossierAnchorFacts, orphanPersonAnchorFacts, registrationAnchorFacts, type AnchorFacts, type DossierRowFacts } from '../../src/retention/anchors.ts'
import { decideActiveRow, decideArchivedRow, planRetention, policyCutoffs } from '../../src/retention/plan.ts'
import { toRetentionPolicy, RetentionPolicySchema, type RetentionPolicy } from '../../src/retention/policy.ts'

const policy = (id: string, raw: unknown): RetentionPolicy => toRetentionPolicy(id, RetentionPolicySchema.parse(raw))
const source = { text: 'test', justification: 'test' }

const franceTravail = policy('france-travail', {
  title: 'FT',
  applies_to: 'flow-data',
  source,
  phases: { active: { duration: 'P5M', anchor: 'transmission' }, archive: { duration: 'P6Y', anchor: 'transmission', purpose: 'litigation' } },
})
const rsa = policy('rsa', {
  title: 'RSA',
  applies_to: 'flow-data',
  source,
  phases: { active: { duration: 'P36M', anchor: 'end_of_right' }, archive: { duration: 'P6Y', anchor: 'end_of_right', purpose: 'litigation' } },
})
const byAnchor = (anchor: string) =>
  policy(`by-${anchor}`, {
    title: anchor,
    applies_to: 'flow-data',
    source,
    phases: { active: { duration: 'P2Y', anchor }, archive: { duration: 'P3Y', anchor, purpose: 'litigation' } },
  })
const noArchive = policy('no-archive', { title: 'x', applies_to: 'flow-data', source, phases: { active: { duration: 'P1Y', anchor: 'transmission' } } })

/** 10:00 Paris on a civil day (summer or winter, still that day). */
const at = (d: string, time = '10:00') => new Date(`${d}T${time}:00+01:00`)

const dossier = (overrides: Partial<DossierRowFacts>): DossierRowFacts => ({
  transmittedAt: at('2020-03-10'),
  createdAt: at('2019-01-05'),
  etatDroit: '2',
  dateCloture: null,
  dateRefus: null,
  dateSuspensionDroit: null,
  dateSuspensionVersement: null,
  transmissionState: 'transmitted',
  notTransmittedSince: null,
  lastChangeAt: null,
  ...overrides,
})

describe('durations and civil days', () => {
  it('parses the ISO-8601 subset and refuses the rest', () => {
    expect(parseDuration('P5M')).toEqual({ years: 0, months: 5, days: 0 })
    expect(parseDuration('P1Y6M')).toEqual({ years: 1, months: 6, days: 0 })
    expect(parseDuration('P2W')).toEqual({ years: 0, months: 0, days: 14 })
    expect(parseDuration('P0D')).toEqual({ years: 0, months: 0, days: 0 })
    for (const bad of ['P', '5M', 'P5', 'PT5H', 'P-1Y', 'p5m', '']) expect(parseDuration(bad)).toBeUndefined()
  })

  it('adds months calendar-wise, clamping to the last day of the month', () => {
    expect(addDuration('2026-01-31', parseDuration('P1M')!)).toBe('2026-02-28')
    expect(addDuration('2024-01-31', parseDuration('P1M')!)).toBe('2024-02-29')
    expect(addDuration('2024-02-29', parseDuration('P1Y')!)).toBe('2025-02-28')
    expect(addDuration('2026-01-15', parseDuration('P5M')!)).toBe('2026-06-15')
    expect(addDuration('2026-12-31', parseDuration('P1D')!)).toBe('2027-01-01')
  })

  it('takes the civil day in Europe/Paris, across midnight and daylight saving', () => {
    expect(parisDay(new Date('2026-01-14T23:30:00Z'))).toBe('2026-01-15')
    expect(parisDay(new Date('2026-07-14T21:59:59Z'))).toBe('2026-07-14')
    expect(parisDay(new Date('2026-07-14T22:00:00Z'))).toBe('2026-07-15')
    expect(parisMidnight('2026-01-15').toISOString()).toBe('2026-01-14T23:00:00.000Z')
    expect(parisMidnight('2026-07-15').toISOString()).toBe('2026-07-14T22:00:00.000Z')
    expect(parisMidnight('2026-03-29').toISOString()).toBe('2026-03-28T23:00:00.000Z')
  })

  it('finds the latest anchor day that is due (cutoff) for any day and duration', () => {
    const days = fc.date({ min: new Date('2000-01-01'), max: new Date('2040-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
    const durations = fc.record({ years: fc.integer({ min: 0, max: 8 }), months: fc.integer({ min: 0, max: 40 }), days: fc.integer({ min: 0, max: 60 }) })
    fc.assert(
      fc.property(days, durations, (today, duration) => {
        const cutoff = cutoffFor(today, duration)
        const next = addDuration(cutoff, { years: 0, months: 0, days: 1 })
        return addDuration(cutoff, duration) <= today && addDuration(next, duration) > today
      }),
      { numRuns: 400 },
    )
  })
})

describe('anchors', () => {
  it('transmission: the civil day of the last transmission, in Paris', () => {
    expect(dossierAnchorFacts(dossier({ transmittedAt: new Date('2026-01-14T23:30:00Z') })).transmission).toBe('2026-01-15')
    expect(registrationAnchorFacts({ transmittedAt: at('2026-02-01'), createdAt: at('2025-01-01'), etat: 'inscription', dateEtat: '2025-01-01', lastChangeAt: null }).transmission).toBe('2026-02-01')
  })

  it('end_of_right: none while the right is open and transmitted', () => {
    for (const etat of ['0', '2', '3', '4']) expect(dossierAnchorFacts(dossier({ etatDroit: etat })).endOfRight).toBeNull()
  })

  it('end_of_right: an application only the instruction flow sent (no state of the right) counts from its transmission', () => {
    const facts = dossierAnchorFacts(dossier({ etatDroit: null, transmittedAt: new Date('2026-01-14T23:30:00Z') }))
    expect(facts.endOfRight).toBe('2026-01-15')
  })

  it('end_of_right: closure date when closed, refusal date when refused, the transmission day when the date is missing', () => {
    expect(dossierAnchorFacts(dossier({ etatDroit: '5', dateCloture: '2021-04-30' })).endOfRight).toBe('2021-04-30')
    expect(dossierAnchorFacts(dossier({ etatDroit: '6', dateCloture: '2021-05-31' })).endOfRight).toBe('2021-05-31')
    expect(dossierAnchorFacts(dossier({ etatDroit: '1', dateRefus: '2020-02-02' })).endOfRight).toBe('2020-02-02')
    expect(dossierAnchorFacts(dossier({ etatDroit: '5', dateCloture: null })).endOfRight).toBe('2020-03-10')
  })

  it('end_of_right: the day the organisme stopped transmitting an open dossier', () => {
    expect(dossierAnchorFacts(dossier({ transmissionState: 'not_transmitted', notTransmittedSince: '2022-09-01' })).endOfRight).toBe('2022-09-01')
  })

  it('end_of_right for France Travail: a cessation or radiation date; none while registered', () => {
    const base = { transmittedAt: at('2026-02-01'), createdAt: at('2025-01-01'), lastChangeAt: null }
    expect(registrationAnchorFacts({ ...base, etat: 'inscription', dateEtat: '2025-01-01' }).endOfRight).toBeNull()
    expect(registrationAnchorFacts({ ...base, etat: 'radiation', dateEtat: '2025-06-01' }).endOfRight).toBe('2025-06-01')
    expect(registrationAnchorFacts({ ...base, etat: 'cessation', dateEtat: null }).endOfRight).toBe('2026-02-01')
  })

  it('last_activity: the latest change seen, not a mere re-transmission', () => {
    const facts = dossierAnchorFacts(dossier({ createdAt: at('2019-01-05'), transmittedAt: at('2024-01-01'), lastChangeAt: at('2021-07-07') }))
    expect(facts.lastActivity).toBe('2021-07-07')
    expect(dossierAnchorFacts(dossier({ createdAt: at('2019-01-05'), lastChangeAt: null })).lastActivity).toBe('2019-01-05')
  })

  it('decision: the latest decision date on the right', () => {
    expect(dossierAnchorFacts(dossier({ dateRefus: '2020-01-01', dateSuspensionDroit: '2021-02-03' })).decision).toBe('2021-02-03')
    expect(dossierAnchorFacts(dossier({})).decision).toBeNull()
  })

  it('an orphan person: every clock starts at its last transmission', () => {
    expect(Object.values(orphanPersonAnchorFacts(new Date('2026-01-14T23:30:00Z')))).toEqual(Array(5).fill('2026-01-15'))
  })
})

describe('phase boundaries (France Travail: 5 months active, 6 years archived, from transmission)', () => {
  const facts = registrationAnchorFacts({ transmittedAt: at('2026-01-15', '23:50'), createdAt: at('2026-01-15'), etat: 'inscription', dateEtat: '2026-01-10', lastChangeAt: null })

  it('stays active the day before the end of the active phase, moves to the archive on the day and after', () => {
    expect(decideActiveRow(franceTravail, facts, '2026-06-14', false).fate).toBe('active')
    expect(decideActiveRow(franceTravail, facts, '2026-06-15', false).fate).toBe('archive')
    expect(decideActiveRow(franceTravail, facts, '2026-06-16', false).fate).toBe('archive')
  })

  it('is destroyed on the day the archive phase ends, not the day before', () => {
    expect(decideArchivedRow(franceTravail, '2026-01-15', '2032-01-14', false).fate).toBe('archive')
    expect(decideArchivedRow(franceTravail, '2026-01-15', '2032-01-15', false).fate).toBe('destroy')
    expect(decideArchivedRow(franceTravail, '2026-01-15', '2032-01-16', false).fate).toBe('destroy')
  })

  it('a row so old that both phases are over is destroyed at once, unless held', () => {
    expect(decideActiveRow(franceTravail, facts, '2033-01-01', false).fate).toBe('destroy')
    expect(decideActiveRow(franceTravail, facts, '2033-01-01', true)).toMatchObject({ fate: 'archive', heldBack: true })
  })

  it('a re-transmission restarts the clock', () => {
    const again = registrationAnchorFacts({ transmittedAt: at('2026-05-01'), createdAt: at('2026-01-15'), etat: 'inscription', dateEtat: '2026-01-10', lastChangeAt: null })
    expect(decideActiveRow(franceTravail, again, '2026-06-15', false).fate).toBe('active')
    expect(decideActiveRow(franceTravail, again, '2026-09-30', false).fate).toBe('active')
    expect(decideActiveRow(franceTravail, again, '2026-10-01', false).fate).toBe('archive')
  })
})

describe('RSA: 36 months from the end of the right, archive up to six years', () => {
  it('never leaves the active base while the right is open', () => {
    expect(decideActiveRow(rsa, dossierAnchorFacts(dossier({ transmittedAt: at('2001-01-01') })), '2040-01-01', false).fate).toBe('active')
  })

  it('moves to the archive 36 months after closure (day before / of / after)', () => {
    const facts = dossierAnchorFacts(dossier({ etatDroit: '5', dateCloture: '2021-04-30' }))
    expect(decideActiveRow(rsa, facts, '2024-04-29', false).fate).toBe('active')
    expect(decideActiveRow(rsa, facts, '2024-04-30', false).fate).toBe('archive')
    expect(decideActiveRow(rsa, facts, '2024-05-01', false).fate).toBe('archive')
    expect(decideArchivedRow(rsa, '2021-04-30', '2027-04-29', false).fate).toBe('archive')
    expect(decideArchivedRow(rsa, '2021-04-30', '2027-04-30', false).fate).toBe('destroy')
  })

  it('a hold keeps an archived row that is due, and its release lets it go', () => {
    expect(decideArchivedRow(rsa, '2021-04-30', '2028-01-01', true)).toMatchObject({ fate: 'archive', heldBack: true })
    expect(decideArchivedRow(rsa, '2021-04-30', '2028-01-01', false)).toMatchObject({ fate: 'destroy', heldBack: false })
  })
})

describe('every anchor drives its clock', () => {
  const facts: AnchorFacts = { transmission: '2020-01-10', endOfRight: '2020-02-10', lastActivity: '2020-03-10', decision: '2020-04-10', event: '2020-05-10' }
  for (const [anchor, startDay] of [
    ['transmission', '2020-01-10'],
    ['end_of_right', '2020-02-10'],
    ['last_activity', '2020-03-10'],
    ['decision', '2020-04-10'],
  ] as const) {
    it(`${anchor}: active for two years from ${startDay}`, () => {
      const p = byAnchor(anchor)
      const end = addDuration(startDay, { years: 2, months: 0, days: 0 })
      const before = new Date(Date.parse(`${end}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10)
      expect(decideActiveRow(p, facts, before, false).fate).toBe('active')
      expect(decideActiveRow(p, facts, end, false).fate).toBe('archive')
      expect(decideActiveRow(p, facts, end, false).destroyDue).toBe(addDuration(startDay, { years: 3, months: 0, days: 0 }))
    })
  }
})

describe('a policy without archive', () => {
  const facts = registrationAnchorFacts({ transmittedAt: at('2025-03-01'), createdAt: at('2025-03-01'), etat: 'inscription', dateEtat: null, lastChangeAt: null })
  it('keeps the row active until it is destroyed, and active while held', () => {
    expect(decideActiveRow(noArchive, facts, '2026-02-28', false).fate).toBe('active')
    expect(decideActiveRow(noArchive, facts, '2026-03-01', false).fate).toBe('destroy')
    expect(decideActiveRow(noArchive, facts, '2026-03-01', true)).toMatchObject({ fate: 'active', heldBack: true })
  })
})

describe('cutoffs agree with the row decisions', () => {
  it('a row is due exactly when its anchor day is on or before the cutoff', () => {
    const days = fc.date({ min: new Date('2010-01-01'), max: new Date('2035-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))
    fc.assert(
      fc.property(days, days, fc.constantFrom(franceTravail, rsa, noArchive), (anchor, today, p) => {
        const cutoffs = policyCutoffs(p, today)
        const facts: AnchorFacts = { transmission: anchor, endOfRight: anchor, lastActivity: anchor, decision: anchor, event: anchor }
        const decision = decideActiveRow(p, facts, today, false)
        const leaves = p.archive ? anchor <= cutoffs.activeAnchorCutoff : anchor <= cutoffs.destroyAnchorCutoff
        const destroyed = decideArchivedRow(p, anchor, today, false).fate === 'destroy'
        return (decision.fate !== 'active') === leaves && destroyed === anchor <= cutoffs.destroyAnchorCutoff
      }),
      { numRuns: 500 },
    )
  })

  it('plans every policy for the civil day of `now` in Paris', () => {
    const plan = planRetention(new Map([[rsa.id, rsa]]), new Date('2026-06-14T22:30:00Z'))
    expect(plan.today).toBe('2026-06-15')
    expect(plan.cutoffs.get('rsa')).toMatchObject({ activeAnchorCutoff: '2023-06-15', destroyAnchorCutoff: '2020-06-15' })
  })
})
