import { describe, expect, it } from 'vitest'
import { accessThrough, addDays, bestAccess, decideAccess, portfolioWindow } from '../../src/access/portfolio.ts'
import { parisDay } from '../../src/calendar/paris-day.ts'

const at = (iso: string) => new Date(iso)

describe('portfolio rules', () => {
  it('counts days in Europe/Paris', () => {
    expect(parisDay(at('2026-07-05T21:59:00Z'))).toBe('2026-07-05')
    expect(parisDay(at('2026-07-05T22:00:00Z'))).toBe('2026-07-06')
    expect(parisDay(at('2026-01-05T22:59:00Z'))).toBe('2026-01-05') // winter: UTC+1
    expect(parisDay(at('2026-01-05T23:00:00Z'))).toBe('2026-01-06')
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01')
    expect(addDays('2026-03-01', -30)).toBe('2026-01-30')
  })

  it('grants an open or not yet ended assignment, from its first day', () => {
    expect(accessThrough({ startsOn: '2026-01-01', endsOn: null }, 'referent', '2026-01-01', 30)).toEqual({ via: 'referent', mode: 'current', readOnly: false, until: null })
    expect(accessThrough({ startsOn: '2026-01-02', endsOn: null }, 'referent', '2026-01-01', 30)).toBeUndefined()
    expect(accessThrough({ startsOn: '2026-01-01', endsOn: '2026-03-01' }, 'structure', '2026-03-01', 30)).toEqual({ via: 'structure', mode: 'current', readOnly: false, until: '2026-03-01' })
  })

  it('keeps read-only access through the last day of the grace period, not after', () => {
    const span = { startsOn: '2026-01-01', endsOn: '2026-03-01' }
    expect(accessThrough(span, 'referent', '2026-03-02', 30)).toEqual({ via: 'referent', mode: 'grace', readOnly: true, until: '2026-03-31' })
    expect(accessThrough(span, 'referent', '2026-03-31', 30)?.mode).toBe('grace')
    expect(accessThrough(span, 'referent', '2026-04-01', 30)).toBeUndefined()
    expect(accessThrough(span, 'referent', '2026-03-02', 0)).toBeUndefined()
  })

  it('grants nothing for an assignment cancelled before it began', () => {
    expect(accessThrough({ startsOn: '2026-03-01', endsOn: '2026-02-28' }, 'referent', '2026-03-05', 30)).toBeUndefined()
  })

  it('prefers current access over grace, and the later end among several', () => {
    const now = at('2026-03-10T10:00:00Z')
    const spans = [
      { startsOn: '2025-01-01', endsOn: '2026-03-01' },
      { startsOn: '2026-03-05', endsOn: '2026-04-30' },
    ]
    expect(bestAccess(spans, 'referent', now, 30)).toMatchObject({ mode: 'current', until: '2026-04-30' })
    expect(bestAccess([...spans, { startsOn: '2026-03-08', endsOn: null }], 'referent', now, 30)).toMatchObject({ mode: 'current', until: null })
    expect(bestAccess([{ startsOn: '2025-01-01', endsOn: '2026-03-01' }, { startsOn: '2025-01-01', endsOn: '2026-03-05' }], 'referent', now, 30)).toMatchObject({
      mode: 'grace',
      until: '2026-04-04',
    })
  })

  it('decides: role without portfolio, outside it, limited, or granted', () => {
    const now = at('2026-03-10T10:00:00Z')
    const open = [{ startsOn: '2026-01-01', endsOn: null }]
    expect(decideAccess({ role: 'admin', assignments: open, exclusion: undefined, now, graceDays: 30 })).toEqual({ granted: false, reason: 'role_without_portfolio' })
    expect(decideAccess({ role: 'statistician', assignments: open, exclusion: undefined, now, graceDays: 30 })).toEqual({ granted: false, reason: 'role_without_portfolio' })
    // The département's instructor: the active base, no assignment needed; a limitation still holds.
    expect(decideAccess({ role: 'instructor', assignments: [], exclusion: undefined, now, graceDays: 30 })).toEqual({
      granted: true,
      access: { via: 'departement', mode: 'current', readOnly: false, until: null },
    })
    expect(decideAccess({ role: 'instructor', assignments: [], exclusion: 'limited', now, graceDays: 30 })).toEqual({ granted: false, reason: 'limited' })
    expect(decideAccess({ role: 'referent', assignments: [], exclusion: undefined, now, graceDays: 30 })).toEqual({ granted: false, reason: 'not_in_portfolio' })
    expect(decideAccess({ role: 'referent', assignments: open, exclusion: 'limited', now, graceDays: 30 })).toEqual({ granted: false, reason: 'limited' })
    expect(decideAccess({ role: 'structure-manager', assignments: open, exclusion: undefined, now, graceDays: 30 })).toMatchObject({ granted: true, access: { via: 'structure' } })
  })

  it('gives the SQL pre-filter the same window as the rules', () => {
    const now = at('2026-03-10T23:30:00Z') // 11 March in Paris
    expect(portfolioWindow(now, 30)).toEqual({ today: '2026-03-11', endedNoEarlierThan: '2026-02-09' })
    // An assignment that ended on the window's first day is still in its grace period; one day earlier is not.
    expect(bestAccess([{ startsOn: '2026-01-01', endsOn: '2026-02-09' }], 'referent', now, 30)?.mode).toBe('grace')
    expect(bestAccess([{ startsOn: '2026-01-01', endsOn: '2026-02-08' }], 'referent', now, 30)).toBeUndefined()
  })
})
