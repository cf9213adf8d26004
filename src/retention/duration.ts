/**
 * Retention durations (an ISO-8601 subset: `P5M`, `P6Y`, `P36M`, `P2Y`, `P1Y`, `P0D`, `P1Y6M`, `P10D`, `P2W`) and
 * calendar dates (`YYYY-MM-DD`, the civil day in Europe/Paris). Retention is day-precise: a phase that ends on day E
 * is over from 00:00 Europe/Paris on E, whatever the hour the anchor event happened on its own day.
 */
export interface Duration {
  years: number
  months: number
  days: number
}

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/

export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text)
  if (!m) return undefined
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s))
  return { years: n(m[1]), months: n(m[2]), days: n(m[3]) * 7 + n(m[4]) }
}

export function formatDuration(d: Duration): string {
  const parts = `${d.years ? `${d.years}Y` : ''}${d.months ? `${d.months}M` : ''}${d.days ? `${d.days}D` : ''}`
  return `P${parts || '0D'}`
}

/** A calendar date `YYYY-MM-DD`. */
export type CalendarDate = string

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

export function isCalendarDate(text: string): boolean {
  const m = DATE.exec(text)
  if (!m) return false
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return d.toISOString().slice(0, 10) === text
}

function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate()
}

/**
 * `day + duration`, calendar-wise: years and months first (clamped to the month's last day, so 31 Jan + P1M is
 * 28/29 Feb), then days.
 */
export function addDuration(day: CalendarDate, duration: Duration): CalendarDate {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  const totalMonths = y * 12 + (m - 1) + duration.years * 12 + duration.months
  const year = Math.floor(totalMonths / 12)
  const month0 = totalMonths % 12
  const clamped = Math.min(d, daysInMonth(year, month0))
  const date = new Date(Date.UTC(year, month0, clamped + duration.days))
  return date.toISOString().slice(0, 10)
}

/**
 * The inverse question: the latest anchor day whose due day (`anchor + duration`, or any non-decreasing function of
 * the anchor day no earlier than it) falls on or before `today`. Data anchored on or before the returned day is due.
 * It turns "expired" into one indexable comparison (`anchor_day <= cutoff`).
 */
export function cutoffFor(today: CalendarDate, due: Duration | ((anchor: CalendarDate) => CalendarDate)): CalendarDate {
  const dueOf = typeof due === 'function' ? due : (day: CalendarDate) => addDuration(day, due)
  const toDays = (s: CalendarDate) => Date.parse(`${s}T00:00:00Z`) / 86_400_000
  const fromDays = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10)
  // Find lo with dueOf(lo) <= today, then binary-search the last such day in [lo, today].
  let step = 32
  let lo = toDays(today) - step
  while (dueOf(fromDays(lo)) > today) {
    step *= 2
    lo = toDays(today) - step
  }
  let hi = toDays(today)
  if (dueOf(fromDays(hi)) <= today) return fromDays(hi)
  while (lo < hi - 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (dueOf(fromDays(mid)) <= today) lo = mid
    else hi = mid
  }
  return fromDays(lo)
}
