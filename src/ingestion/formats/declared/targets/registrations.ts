import { identityIndex, personMatchKey } from '../../../../crypto/blind-index.ts'
import { franceTravailIdentifierIndex } from '../../../../exchange/france-travail-api/look-up-persons.ts'
import { createMatchingStage, matchStaged, recordIdentifierLinks, stageIdentifierLinks, stageUnmatched, type UnmatchedRecord } from '../../../../matching/match-records.ts'
import { sealIdentity } from '../../../../matching/queued-identity.ts'
import { CANONICAL_FIELDS } from '../../../../model/fields.ts'
import { duplicateOf } from '../../../canonical/first-occurrence.ts'
import type { MappedRegistration } from '../../../canonical/map-records.ts'
import { markRegistrationsAbsent, maskRegistration, mergeRegistrations, stageRegistrations, type MergeContext } from '../../../canonical/staging.ts'
import type { RejectedRecord } from '../../../records/parsed-record.ts'
import { oneInFlight, writeRejections } from '../../file-load.ts'
import { supplies, unknownIds, type RecordTarget, type TargetProblem } from './target.ts'

/**
 * France Travail registrations (table france_travail_registrations): one row per person, matched by the keyed
 * match key of NIR and birth date (the NIR itself is not stored here). The person's latest state of the file is
 * kept; the person's other rows are `duplicate_person` rejections naming the kept one (staging.ts). A file of kind
 * `stock` replaces its flow's list: whom it no longer lists is marked no longer transmitted (never deleted).
 */
const NIR = 'personne.nir'
const BIRTH_DATE = 'personne.dateNaissance'
const ETAT = 'franceTravail.etat'
const IDENTIFIER = 'franceTravail.identifiant'
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
  async store({ tx, deps, flow, format, fileId, state, issues, report }, records, { transmittedAt }) {
    const ctx: MergeContext = { flowId: flow.id, fileId, transmittedAt, effectiveDate: transmittedAt.toISOString().slice(0, 10) }
    // Rejection rows name the declared field: the one giving the birth name (the identity a record lacks).
    const fields = (format as { fields?: { name: string; field?: string | undefined }[] }).fields ?? []
    const nameOf = (id: string, fallback: string) => fields.find((f) => f.field === id)?.name ?? fallback
    await createMatchingStage(tx)
    // The catalogue fields this flow brings: a stored row takes only those (staging.ts, mergeRegistrations).
    const declared = format as { fields: { field?: string | undefined }[]; values: Record<string, string>; kinds?: { values: Record<string, string> }[] | undefined }
    const supplied = new Set<string>([
      ...declared.fields.flatMap((f) => (f.field === undefined ? [] : [f.field])),
      ...Object.keys(declared.values),
      ...(declared.kinds ?? []).flatMap((k) => Object.keys(k.values)),
    ])
    // Persons whose record of this file was rejected: a stock does not treat them as gone.
    const rejectedKeys: string[] = []
    const staging = oneInFlight()
    for await (const batch of records) {
      const ok: { recordIndex: number; line: number; mapped: MappedRegistration }[] = []
      const links: { personKey: string; identifierIndex: string }[] = []
      const unmatched: UnmatchedRecord[] = []
      const failed: RejectedRecord[] = []
      for (const r of batch) {
        if (!r.ok) {
          failed.push(r)
          const nir = r.partial?.[NIR]
          const birthDate = r.partial?.[BIRTH_DATE]
          if (typeof nir === 'string' && typeof birthDate === 'string') rejectedKeys.push(personMatchKey(deps.keys.index, nir, birthDate))
          continue
        }
        const { recordIndex, line, values } = r.value
        const nir = values[NIR] as string | undefined
        const birthDate = values[BIRTH_DATE] as string | undefined
        const identifier = values[IDENTIFIER] as string | undefined
        const identifierIndex = identifier ? franceTravailIdentifierIndex(deps.keys.index, identifier) : null
        if (nir !== undefined && birthDate !== undefined) {
          const personKey = personMatchKey(deps.keys.index, nir, birthDate)
          ok.push({ recordIndex, line, mapped: { personKey, values } })
          if (identifierIndex) links.push({ personKey, identifierIndex })
          continue
        }
        // No NIR: matched by identifier, else identity, else queued (src/matching/).
        const v = values as Record<string, string | undefined>
        const identity = { nomNaissance: v[MATCH_BIRTH_NAME], prenom: v[MATCH_FIRST_NAME], dateNaissance: birthDate }
        const index = identityIndex(deps.keys.index, identity) ?? null
        unmatched.push({
          recordIndex,
          line,
          identifierIndex,
          identityIndex: index,
          identitySealed:
            index === null
              ? null
              : sealIdentity(deps.keys.nir, { nomNaissance: identity.nomNaissance!, prenom: identity.prenom!, dateNaissance: birthDate!, identifiantFranceTravail: identifier ?? null }),
          registration: maskRegistration(values, deps.stored, deps.keys),
        })
      }
      state.total += batch.length
      state.rejected += failed.length
      await staging.next(async () => {
        await stageRegistrations(tx, ok, deps.stored, deps.keys)
        await stageUnmatched(tx, unmatched)
        await stageIdentifierLinks(tx, links)
        await writeRejections(tx, fileId, failed, issues)
      })
      report.progress(state.total)
      deps.log.debug({ flowId: flow.id, fileId, records: state.total }, 'records staged')
    }
    await staging.drain()
    const matching = await matchStaged(tx, { flowId: flow.id, fileId, transmittedAt })
    state.matching = matching.counts
    // A record without a NIR, a linked identifier or a whole identity names nobody: rejected, never queued.
    const field = nameOf(MATCH_BIRTH_NAME, 'nom_naissance')
    const incomplete: RejectedRecord[] = matching.incomplete.map((r) => ({ ok: false, recordIndex: r.recordIndex, line: r.line, key: undefined, issues: [{ field, rule: 'identity_incomplete' }] }))
    const queuedTwice = matching.superseded.map((r) => duplicateOf(r, { recordIndex: r.keptRecordIndex, line: r.keptLine }, { field, rule: 'duplicate_person' }))
    // One row per person is stored; the person's other rows in the file are rejections naming the kept one.
    const { superseded, older } = await mergeRegistrations(tx, ctx, supplied)
    // A row older than the stored one is not written: neither accepted nor rejected.
    state.superseded += older
    if (state.kind === 'stock') await markRegistrationsAbsent(tx, ctx, rejectedKeys)
    const duplicates = superseded.map((r) => duplicateOf(r, { recordIndex: r.keptRecordIndex, line: r.keptLine }, { field: 'nir', rule: 'duplicate_person' }))
    state.rejected += incomplete.length + queuedTwice.length + duplicates.length
    await writeRejections(tx, fileId, [...incomplete, ...queuedTwice, ...duplicates], issues)
    await recordIdentifierLinks(tx, fileId)
  },
}
