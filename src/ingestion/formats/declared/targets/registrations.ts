import { personMatchKey } from '../../../../crypto/blind-index.ts'
import { CANONICAL_FIELDS } from '../../../../model/fields.ts'
import { duplicateOf } from '../../../canonical/first-occurrence.ts'
import type { MappedRegistration } from '../../../canonical/map-records.ts'
import { mergeRegistrations, stageRegistrations, type MergeContext } from '../../../canonical/staging.ts'
import type { RejectedRecord } from '../../../records/parsed-record.ts'
import { oneInFlight, writeRejections } from '../../file-load.ts'
import { supplies, unknownIds, type RecordTarget, type TargetProblem } from './target.ts'

/**
 * France Travail registrations (table france_travail_registrations): one row per person, matched by the keyed
 * match key of NIR and birth date (the NIR itself is not stored here). The person's latest state of the file is
 * kept; the person's other rows are `duplicate_person` rejections naming the kept one (staging.ts).
 */
const NIR = 'personne.nir'
const BIRTH_DATE = 'personne.dateNaissance'
const ETAT = 'franceTravail.etat'
const ETATS = ['inscription', 'cessation', 'radiation']
/** Target inputs (not catalogue fields): the identity that matches a record without a NIR, never stored in clear. */
export const MATCH_BIRTH_NAME = 'match.nomNaissance'
export const MATCH_FIRST_NAME = 'match.prenom'

const ACCEPTS: ReadonlySet<string> = new Set([
  NIR,
  BIRTH_DATE,
  MATCH_BIRTH_NAME,
  MATCH_FIRST_NAME,
  ...CANONICAL_FIELDS.filter((f) => f.table === 'france_travail_registrations').map((f) => f.id),
])

export const registrations: RecordTarget = {
  accepts: ACCEPTS,
  check(input) {
    const problems: TargetProblem[] = unknownIds(input, ACCEPTS, 'registrations')
    for (const id of [BIRTH_DATE, ETAT]) {
      if (!supplies(input, id)) problems.push({ path: ['fields'], message: `the registrations target needs "${id}" on every record (a field, or a value of every kind)` })
    }
    const nir = input.fields.find((f) => f.field === NIR)
    // A NIR not required on every record: the records without one are matched on the declared identity (match.*).
    if (!nir?.required) {
      const missing = [MATCH_BIRTH_NAME, MATCH_FIRST_NAME].filter((id) => !input.fields.some((f) => f.field === id))
      if (missing.length > 0) {
        problems.push({
          path: ['fields'],
          message: `the registrations target needs "${NIR}" required on every record, or the identity matching a record without one: ${missing.map((m) => `"${m}"`).join(' and ')} (with "${BIRTH_DATE}")`,
        })
      }
    }
    if (nir && nir.type !== 'nir') problems.push({ path: ['fields'], message: `the field giving "${NIR}" must have type nir` })
    const etat = input.fields.find((f) => f.field === ETAT)
    if (etat && !(etat.codes ?? []).length) problems.push({ path: ['fields'], message: `the field giving "${ETAT}" needs codes among ${ETATS.join(', ')}` })
    for (const code of [...(etat?.codes ?? []), ...input.constants.flatMap((c) => (c[ETAT] === undefined ? [] : [c[ETAT]]))]) {
      if (!ETATS.includes(code)) problems.push({ path: ['fields'], message: `"${ETAT}" may only be ${ETATS.join(', ')} (got "${code}")` })
    }
    return problems
  },
  async store({ tx, deps, flow, fileId, state, issues, report }, records, { transmittedAt }) {
    const ctx: MergeContext = { flowId: flow.id, fileId, transmittedAt, effectiveDate: transmittedAt.toISOString().slice(0, 10) }
    const staging = oneInFlight()
    for await (const batch of records) {
      const ok: { recordIndex: number; line: number; mapped: MappedRegistration }[] = []
      const failed: RejectedRecord[] = []
      for (const r of batch) {
        if (!r.ok) {
          failed.push(r)
          continue
        }
        const { recordIndex, line, values } = r.value
        if (values[NIR] === undefined || values[BIRTH_DATE] === undefined) {
          // v1 of the interface: matching without a NIR is being built (notes/match-interface.md).
          failed.push({ ok: false, recordIndex, line, key: undefined, issues: [{ field: 'nir', rule: 'not_matched' }] })
          continue
        }
        ok.push({ recordIndex, line, mapped: { personKey: personMatchKey(deps.keys.index, values[NIR] as string, values[BIRTH_DATE] as string), values } })
      }
      state.total += batch.length
      state.rejected += failed.length
      await staging.next(async () => {
        await stageRegistrations(tx, ok, deps.stored, deps.keys)
        await writeRejections(tx, fileId, failed, issues)
      })
      report.progress(state.total)
      deps.log.debug({ flowId: flow.id, fileId, records: state.total }, 'records staged')
    }
    await staging.drain()
    // One row per person is stored; the person's other rows in the file are rejections naming the kept one.
    const { superseded } = await mergeRegistrations(tx, ctx)
    const duplicates = superseded.map((r) => duplicateOf(r, { recordIndex: r.keptRecordIndex, line: r.keptLine }, { field: 'nir', rule: 'duplicate_person' }))
    state.rejected += duplicates.length
    await writeRejections(tx, fileId, duplicates, issues)
  },
}
