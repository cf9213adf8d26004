import { describe, expect, it } from 'vitest'
import { addMonths, checkExtension, dueOn, today, urgency } from '../../src/rights/deadline.ts'

describe('rights deadlines (art. 12(3))', () => {
  it('runs one month to the same day of the next month', () => {
    expect(dueOn('2026-03-05')).toBe('2026-04-05')
    expect(dueOn('2026-12-15')).toBe('2027-01-15')
  })

  it('ends on the last day of a month that has no such day', () => {
    expect(dueOn('2026-01-31')).toBe('2026-02-28')
    expect(dueOn('2028-01-31')).toBe('2028-02-29')
    expect(dueOn('2026-03-31')).toBe('2026-04-30')
    expect(dueOn('2026-08-31')).toBe('2026-09-30')
  })

  it('runs three months from receipt once extended (not two months from the first deadline)', () => {
    expect(dueOn('2026-01-31', true)).toBe('2026-04-30')
    expect(dueOn('2025-11-30', true)).toBe('2026-02-28')
    expect(addMonths('2026-05-31', 3)).toBe('2026-08-31')
  })

  it('refuses a date that is not a calendar date', () => {
    expect(() => dueOn('2026-02-30')).toThrow(/not a calendar date/)
  })

  it('tells overdue, due soon and on time apart on the civil day', () => {
    const r = { state: 'open' as const, dueOn: '2026-04-05', extendedDueOn: null }
    expect(urgency(r, '2026-03-20')).toBe('on_time')
    expect(urgency(r, '2026-03-29')).toBe('due_soon')
    expect(urgency(r, '2026-04-05')).toBe('due_soon')
    expect(urgency(r, '2026-04-06')).toBe('overdue')
    expect(urgency({ ...r, extendedDueOn: '2026-06-05' }, '2026-04-06')).toBe('on_time')
    expect(urgency({ ...r, state: 'closed' }, '2027-01-01')).toBe('closed')
    expect(urgency(r, '2026-03-20', 20)).toBe('due_soon')
  })

  it('takes the civil day in Paris, not UTC', () => {
    expect(today(new Date('2026-04-05T22:30:00Z'))).toBe('2026-04-06')
    expect(today(new Date('2026-01-05T22:30:00Z'))).toBe('2026-01-05')
  })

  it('allows one extension, within the first month, with a reason', () => {
    const r = { state: 'open' as const, receivedOn: '2026-01-31', dueOn: '2026-02-28', extendedDueOn: null }
    expect(checkExtension(r, '2026-02-28', 'volume exceptionnel de demandes')).toEqual({ ok: true, extendedDueOn: '2026-04-30' })
    expect(checkExtension(r, '2026-03-01', 'volume exceptionnel de demandes')).toMatchObject({ ok: false, reason: expect.stringMatching(/first month ended/) })
    expect(checkExtension({ ...r, extendedDueOn: '2026-04-30' }, '2026-02-10', 'volume exceptionnel')).toMatchObject({ ok: false, reason: expect.stringMatching(/already extended/) })
    expect(checkExtension(r, '2026-02-10', 'court')).toMatchObject({ ok: false, reason: expect.stringMatching(/reason/) })
    expect(checkExtension({ ...r, state: 'closed' }, '2026-02-10', 'volume exceptionnel')).toMatchObject({ ok: false })
  })
})
