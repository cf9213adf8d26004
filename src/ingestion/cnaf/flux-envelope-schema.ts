import { z } from 'zod'
import { TYPEFLUX } from './code-lists.ts'
import type { CnafHeader, CnafTrailer } from './foyer.ts'
import { code, date, integer, shapeRule, text, time } from './xsd-values.ts'

/** The envelope of a VRSB0801 file: IdentificationFlux (header) and TransmissionFlux (trailer). */
const block = <T extends z.ZodRawShape>(shape: T) => z.object(shape, { error: shapeRule('type') })

export const IdentificationFluxSchema = block({
  APPLIEME: text(3),
  NUMVERSIONAPPLIEME: text(4),
  TYPEFLUX: code('TYPEFLUX', TYPEFLUX),
  NATFLUX: text(1),
  DTCREAFLUX: date(),
  HEUCREAFLUX: time().optional(),
  DTREF: date(),
}).transform(
  (h): CnafHeader => ({
    applieme: h.APPLIEME,
    numversionapplieme: h.NUMVERSIONAPPLIEME,
    typeflux: h.TYPEFLUX,
    natflux: h.NATFLUX,
    dtcreaflux: h.DTCREAFLUX,
    heucreaflux: h.HEUCREAFLUX,
    dtref: h.DTREF,
  }),
)

export const TransmissionFluxSchema = block({
  NBTOTDOSRSATRANSM: integer(8),
  NBTOTDOSRSATRANSMANO: integer(8),
}).transform((t): CnafTrailer => ({ nbtotdosrsatransm: t.NBTOTDOSRSATRANSM, nbtotdosrsatransmano: t.NBTOTDOSRSATRANSMANO }))
