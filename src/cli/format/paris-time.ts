/**
 * Times shown to people: Europe/Paris civil time with its offset (+01:00 in winter, +02:00 in summer), whatever the
 * machine's time zone. JSON output keeps ISO 8601, with the Paris offset too, so a reader never guesses the zone.
 */
export const DISPLAY_TIME_ZONE = 'Europe/Paris'

const PARTS = new Intl.DateTimeFormat('en-GB', {
  timeZone: DISPLAY_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'longOffset',
})

function parts(instant: Date): { day: string; time: string; offset: string } {
  const p = Object.fromEntries(PARTS.formatToParts(instant).map((x) => [x.type, x.value])) as Record<string, string>
  // `longOffset` reads "GMT+01:00" ("GMT" alone at offset zero, which Paris never has, but be exact anyway).
  const offset = p.timeZoneName === 'GMT' ? '+00:00' : p.timeZoneName!.replace('GMT', '')
  return { day: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}`, offset }
}

/** `2026-12-06 14:05:12 (UTC+01:00)`: for text output. */
export function parisTime(instant: Date | string | number): string {
  const d = instant instanceof Date ? instant : new Date(instant)
  if (Number.isNaN(d.getTime())) return String(instant)
  const { day, time, offset } = parts(d)
  return `${day} ${time} (UTC${offset})`
}

/** `2026-12-06T14:05:12.000+01:00`: ISO 8601 with the Paris offset, for JSON output (the same instant as toISOString). */
export function parisIso(instant: Date): string {
  const { day, time, offset } = parts(instant)
  return `${day}T${time}.${String(instant.getUTCMilliseconds()).padStart(3, '0')}${offset}`
}

/** A time shown to people, or `-` when there is none. */
export function parisTimeOrDash(instant: Date | string | null | undefined): string {
  return instant === null || instant === undefined ? '-' : parisTime(instant)
}
