import { parisDay } from '../calendar/paris-day.ts'
import { addDuration, isCalendarDate, type CalendarDate } from '../retention/duration.ts'

/**
 * Legal deadlines of data-subject requests (GDPR art. 12(3)): one month from receipt, extendable by two further
 * months where necessary, the person being told so (with the reasons) within the first month.
 *
 * A month runs to the same day of the next month; when that month has no such day, to its last day (31 January →
 * 28 or 29 February), as Regulation (EEC, Euratom) No 1182/71 art. 3(2)(c) counts periods in months. That
 * regulation would let a deadline falling on a Saturday, a Sunday or a public holiday run to the next working
 * day; Passerelle shows the earlier, calendar date on purpose: a DPO answering by then is always on time.
 */
export type Urgency = 'overdue' | 'due_soon' | 'on_time' | 'closed'

/** Days before the deadline from which `rights list` shows a request as due soon. */
export const DEFAULT_DUE_SOON_DAYS = 7

/** The day a period of `months` months from `received` ends. */
export function addMonths(received: CalendarDate, months: number): CalendarDate {
  if (!isCalendarDate(received)) throw new Error(`not a calendar date (YYYY-MM-DD): ${JSON.stringify(received)}`)
  return addDuration(received, { years: 0, months, days: 0 })
}

/** The deadline of a request received on `received`: one month, or three once extended. */
export function dueOn(received: CalendarDate, extended = false): CalendarDate {
  return addMonths(received, extended ? 3 : 1)
}

export interface DeadlineFacts {
  state: 'open' | 'closed'
  dueOn: CalendarDate
  extendedDueOn: CalendarDate | null
}

/** The deadline that applies now: the extended one when the request was extended. */
export function currentDeadline(request: Pick<DeadlineFacts, 'dueOn' | 'extendedDueOn'>): CalendarDate {
  return request.extendedDueOn ?? request.dueOn
}

/** Whole days from `today` to `day` (negative once `day` is past). */
export function daysBetween(today: CalendarDate, day: CalendarDate): number {
  return Math.round((Date.parse(`${day}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000)
}

/**
 * Where an open request stands on `today` (the civil day in Europe/Paris): overdue once its deadline day is over,
 * due soon when the deadline is within `soonDays` days (the deadline day itself included).
 */
export function urgency(request: DeadlineFacts, today: CalendarDate, soonDays = DEFAULT_DUE_SOON_DAYS): Urgency {
  if (request.state === 'closed') return 'closed'
  const left = daysBetween(today, currentDeadline(request))
  if (left < 0) return 'overdue'
  if (left <= soonDays) return 'due_soon'
  return 'on_time'
}

export type ExtensionCheck = { ok: true; extendedDueOn: CalendarDate } | { ok: false; reason: string }

/**
 * Whether a request may be extended on `today`: once only, while open, before the first month is over (the person
 * must be told of the extension within it), and with a reason the person can be given.
 */
export function checkExtension(
  request: DeadlineFacts & { receivedOn: CalendarDate },
  today: CalendarDate,
  reason: string,
): ExtensionCheck {
  if (request.state === 'closed') return { ok: false, reason: 'the request is closed' }
  if (request.extendedDueOn !== null) return { ok: false, reason: `the request was already extended (to ${request.extendedDueOn}); art. 12(3) allows one extension of two months` }
  if (today > request.dueOn) {
    return { ok: false, reason: `the first month ended on ${request.dueOn}: art. 12(3) requires the person to be told of an extension within it` }
  }
  const trimmed = reason.trim()
  if (trimmed.length < 10 || trimmed.length > 1000) return { ok: false, reason: 'give the reason of the extension (10 to 1000 characters), as the person will be told it' }
  return { ok: true, extendedDueOn: dueOn(request.receivedOn, true) }
}

/** The civil day (Europe/Paris) of an instant. */
export function today(now: Date): CalendarDate {
  return parisDay(now)
}
