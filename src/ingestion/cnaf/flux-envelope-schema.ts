import { z } from 'zod'
import { NATFLUX, TYPEFLUX } from './code-lists.ts'
import type { FileRejectionCode } from '../file-rejection.ts'
import type { CnafHeader, CnafTrailer } from './foyer.ts'
import { code, date, integer, shapeRule, text, time } from './xsd-values.ts'

/** What each file nature and type is called in rejection messages (codes of the lists only, never a value read). */
const TYPEFLUX_NAMES: Readonly<Record<(typeof TYPEFLUX)[number], string>> = { M: 'monthly stock', I: 'daily movements', R: 'reprise' }
const NATFLUX_NAMES: Readonly<Record<(typeof NATFLUX)[number], string>> = { D: 'beneficiary', I: 'instruction', R: 'nouveau recueil' }

/** The envelope of a VRSB0801 file: IdentificationFlux (header) and TransmissionFlux (trailer). */
const block = <T extends z.ZodRawShape>(shape: T) => z.object(shape, { error: shapeRule('type') })

export const IdentificationFluxSchema = block({
  APPLIEME: text(3),
  NUMVERSIONAPPLIEME: text(4),
  TYPEFLUX: code('TYPEFLUX', TYPEFLUX),
  NATFLUX: code('NATFLUX', NATFLUX),
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

/** What a flow takes: its NATFLUX and TYPEFLUX values (the flow declaration's `format.natflux` and `format.typeflux`). */
export interface FluxNatureExpectation {
  natflux: readonly (typeof NATFLUX)[number][]
  typeflux: readonly (typeof TYPEFLUX)[number][]
}

const isIn = <T extends string>(list: readonly T[], value: unknown): value is T => typeof value === 'string' && (list as readonly string[]).includes(value)

const words = (codes: readonly string[]): string => codes.join(' or ')

/**
 * Checks NATFLUX, then TYPEFLUX, of a parsed IdentificationFlux tree against what the flow takes, before the rest of
 * the header is validated (an instruction header has no DTREF: its nature is what is wrong, not a missing DTREF).
 * The message quotes only codes of the known lists, never a value read from the file ("an unknown NATFLUX").
 * An absent NATFLUX or TYPEFLUX, or a TYPEFLUX outside its code list, is left to the header schema (`bad_header`). Returns undefined when the file fits.
 */
export function checkFluxNature(tree: unknown, expected: FluxNatureExpectation): { code: FileRejectionCode; message: string } | undefined {
  const header = typeof tree === 'object' && tree !== null ? (tree as Record<string, unknown>) : {}
  const flowNature = words(expected.natflux.map((n) => NATFLUX_NAMES[n]))
  const natflux = header.NATFLUX
  if (natflux !== undefined && !isIn(expected.natflux, natflux)) {
    const what = isIn(NATFLUX, natflux) ? `${NATFLUX_NAMES[natflux]} flow (NATFLUX=${natflux})` : 'an unknown NATFLUX'
    return {
      code: 'wrong_flow_nature',
      message: `IdentificationFlux.NATFLUX: ${what} on a ${flowNature} flow (it takes NATFLUX=${words(expected.natflux)}) (rule wrong_flow_nature)`,
    }
  }
  // A TYPEFLUX outside the code list is a bad header (code_list:TYPEFLUX), left to the schema.
  const typeflux = header.TYPEFLUX
  if (isIn(TYPEFLUX, typeflux) && !isIn(expected.typeflux, typeflux)) {
    const what = `${TYPEFLUX_NAMES[typeflux]} file (TYPEFLUX=${typeflux})`
    return {
      code: 'wrong_flow_type',
      message: `IdentificationFlux.TYPEFLUX: ${what} on a flow that takes TYPEFLUX=${words(expected.typeflux)} (rule wrong_flow_type)`,
    }
  }
  return undefined
}
