/** The département's civil calendar: every "today" and every day boundary of Passerelle is Europe/Paris. */
const PARIS_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' })

let lastDay: { minute: number; day: string } | undefined

/**
 * The civil day (Europe/Paris) of an instant, `YYYY-MM-DD`. Remembered for the last minute asked (the API asks it
 * on every request; Paris offsets are whole hours, so a day never changes inside a minute).
 */
export function parisDay(instant: Date): string {
  const minute = Math.floor(instant.getTime() / 60_000)
  if (lastDay?.minute !== minute) lastDay = { minute, day: PARIS_DAY.format(instant) }
  return lastDay.day
}

/** 00:00 Europe/Paris on `day` (`YYYY-MM-DD`), as an instant (for comparisons with timestamptz columns). */
export function parisMidnight(day: string): Date {
  // Paris is UTC+1 or UTC+2: start from UTC midnight minus 2 hours and step forward to the first instant on `day`.
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  for (const offsetHours of [2, 1]) {
    const candidate = new Date(Date.UTC(y, m - 1, d, -offsetHours))
    if (parisDay(candidate) === day && parisDay(new Date(candidate.getTime() - 1)) !== day) return candidate
  }
  throw new Error(`parisMidnight: cannot place ${day} in Europe/Paris`)
}
