import { findPersonByPublicId } from '../access/person-by-public-id.ts'
import { auditSubject } from '../audit/subject-pseudonym.ts'
import { nirIndex, personMatchKey } from '../crypto/blind-index.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Queryable } from '../db/db.ts'
import { checkNir } from '../ingestion/validation/nir.ts'
import { isCalendarDate } from '../retention/duration.ts'
import { RightsError, type MatchedBy } from './rights-request.ts'

/**
 * Finds the person a request is about from the NIR and birth date the DPO was given (after checking the person's
 * identity). Both are turned at once into the keyed blind indexes the loader computes; neither is kept nor
 * printed, and errors name the rule, never the value.
 */
export interface PersonKeys {
  /** personMatchKey of the person as held (it may differ from the one the given birth date yields). */
  matchKey: string
  nirIndex: string
  /** The audit pseudonym of the held match key. */
  subject: string
  matchedBy: MatchedBy
  /**
   * Held persons (active base or archive) bearing the same NIR under another match key (another birth date: an
   * earlier one since corrected, or a homonym of NIR): this request's answer does not cover them, and the DPO must
   * be told, never that nothing is held.
   */
  othersWithNir: number
}

/** The blind indexes of a NIR (13 or 15 characters) and a birth date; throws a RightsError naming the rule. */
export function blindIndexesOf(keys: Pick<Keys, 'index'>, nir: string, birthDate: string): { matchKey: string; nirIndex: string } {
  const checked = checkNir(nir)
  if (!checked.ok) {
    throw new RightsError('invalid', checked.rule === 'nir_key' ? 'nir: the key (last two digits) does not match the NIR (rule nir_key)' : 'nir: not a NIR of 13 or 15 characters (rule nir_format)')
  }
  if (!isCalendarDate(birthDate)) throw new RightsError('invalid', 'birth date: must be a date YYYY-MM-DD (rule date_format)')
  return { matchKey: personMatchKey(keys.index, checked.nir13, birthDate), nirIndex: nirIndex(keys.index, checked.nir13) }
}

/**
 * Looks the person up, in the active base and in the archive: by match key first (NIR and birth date), then by
 * NIR alone when exactly one held person has it (the birth date held may be the very thing contested). With no
 * match, the request is still recorded (`none`): the answer is that Passerelle holds nothing.
 */
export async function identifyPerson(db: Queryable, keys: Pick<Keys, 'index' | 'pseudonym'>, nir: string, birthDate: string): Promise<PersonKeys> {
  const given = blindIndexesOf(keys, nir, birthDate)
  const { rows: byKey } = await db.query<{ found: boolean }>(
    `select (
       exists (select 1 from persons where match_key = $1)
       or exists (select 1 from archive.persons where match_key = $1)
       or exists (select 1 from france_travail_registrations where person_key = $1)
       or exists (select 1 from archive.france_travail_registrations where person_key = $1)
     ) as found`,
    [given.matchKey],
  )
  const { rows: byNir } = await db.query<{ match_key: string }>(
    `select match_key from persons where nir_index = $1
     union
     select match_key from archive.persons where nir_index = $1`,
    [given.nirIndex],
  )
  if (byKey[0]?.found) {
    const others = byNir.filter((r) => r.match_key !== given.matchKey).length
    return { ...given, subject: auditSubject(keys.pseudonym, given.matchKey), matchedBy: 'nir_and_birth_date', othersWithNir: others }
  }
  if (byNir.length === 1) {
    const held = byNir[0]!.match_key
    return { matchKey: held, nirIndex: given.nirIndex, subject: auditSubject(keys.pseudonym, held), matchedBy: 'nir', othersWithNir: 0 }
  }
  return { ...given, subject: auditSubject(keys.pseudonym, given.matchKey), matchedBy: 'none', othersWithNir: byNir.length }
}

/**
 * The audit pseudonym of the person with this public id, in the active base or the archive (a person who left the
 * active base keeps their public id there): the DPO's "who accessed this person's file" stays answerable. Reads
 * the match key only, never an identity. Undefined when no person has this id.
 */
export async function subjectOfPublicId(db: Queryable, keys: Pick<Keys, 'pseudonym'>, publicId: string): Promise<string | undefined> {
  const active = await findPersonByPublicId(db, publicId)
  if (active) return auditSubject(keys.pseudonym, active.matchKey)
  const { rows } = await db.query<{ match_key: string }>('select match_key from archive.persons where public_id = $1', [publicId])
  return rows[0] && auditSubject(keys.pseudonym, rows[0].match_key)
}
