/**
 * The transmission time of a CNAF file: DTCREAFLUX + HEUCREAFLUX (e.g. `2026-11-02` and `01:18:36.0000`), a
 * local time in metropolitan France. Converted to an instant with the Europe/Paris offset of that day.
 */
export function cnafTransmissionTime(dtcreaflux: string, heucreaflux: string | undefined): Date {
  const time = /^(\d{2}):(\d{2})(?::(\d{2}))?/.exec(heucreaflux ?? '') ?? ['', '00', '00', '00']
  const [y, m, d] = dtcreaflux.split('-').map(Number) as [number, number, number]
  const asUtc = Date.UTC(y, m - 1, d, Number(time[1]), Number(time[2]), Number(time[3] ?? 0))
  return new Date(asUtc - parisOffsetMinutes(new Date(asUtc)) * 60_000)
}

/** Offset of Europe/Paris from UTC at that instant, in minutes (60 in winter, 120 in summer). */
export function parisOffsetMinutes(at: Date): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', timeZoneName: 'shortOffset' }).formatToParts(at)
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT+1'
  const match = /GMT([+-]\d+)(?::(\d+))?/.exec(name)
  return match ? Number(match[1]) * 60 + Math.sign(Number(match[1])) * Number(match[2] ?? 0) : 60
}
