import { nirIndex, personMatchKey, personWithoutNirMatchKey } from '../../../../crypto/blind-index.ts'
import type { Queryable } from '../../../../db/db.ts'
import { BENEFICIARY_FLOWS, CANONICAL_FIELDS, type CanonicalField } from '../../../../model/fields.ts'
import { FirstOccurrences, duplicateOf } from '../../../canonical/first-occurrence.ts'
import type { CanonicalValues } from '../../../canonical/map-records.ts'
import { masked, SQL_TYPES } from '../../../canonical/staging.ts'
import { allocataireNumber } from '../../../cnaf/allocataire-number.ts'
import type { RejectedRecord } from '../../../records/parsed-record.ts'
import { nirKey } from '../../../validation/nir.ts'
import { oneInFlight, writeRejections } from '../../file-load.ts'
import type { DeclaredRecord } from '../declared-record.ts'
import { supplies, type RecordTarget, type TargetProblem } from './target.ts'

/**
 * RSA applications (the CNAF instruction flow VIRS0901, flows/caf-instruction.yaml): one record per dossier with
 * its persons as members. Dossiers and persons are those of the beneficiary flow, on the same keys: the dossier by
 * organisme and NUMDEMRSA, the person by the keyed match key of NIR and birth date (without a NIR: within the
 * dossier, on birth name, first name, birth date and rank), as the VRSB0801 loader keys them.
 *
 * The beneficiary flow stays authoritative: an application creates the dossier and persons the stock does not list
 * yet, and fills only what is empty of what both flows send (identity, dates, matricule); the fields only the
 * instruction flow sends (contacts, their consent, the DSP) are its own and are replaced by each newer application.
 * It never writes the bookkeeping the beneficiary flow orders its records by (`transmitted_at`, `state_as_of`), nor
 * the members of a dossier the beneficiary flow already lists.
 */
const ORGANISME = 'dossier.organisme'
const NUMDEMRSA = 'dossier.numdemrsa'
const MATRICULE = 'dossier.matricule'
const NIR = 'personne.nir'
const BIRTH_DATE = 'personne.dateNaissance'
const NOM_NAISSANCE = 'personne.nomNaissance'
const PRENOM = 'personne.prenom'
const ROLE = 'personne.role'
/** Target inputs that are not catalogue fields: read to key a person without a NIR, never stored. */
const RANG = 'match.rangNaissance'

const INSTRUCTION_FLOWS = ['caf-instruction', 'msa-instruction']
const fedByInstruction = (f: CanonicalField) => f.sources.some((s) => INSTRUCTION_FLOWS.includes(s))
const shared = (f: CanonicalField) => f.sources.some((s) => BENEFICIARY_FLOWS.includes(s))

const DOSSIER_FIELDS = CANONICAL_FIELDS.filter((f) => f.table === 'dossiers' && fedByInstruction(f) && f.column !== 'organisme' && f.column !== 'numdemrsa')
const PERSON_FIELDS = CANONICAL_FIELDS.filter((f) => f.table === 'persons' && fedByInstruction(f))

const RECORD_ACCEPTS: ReadonlySet<string> = new Set([ORGANISME, NUMDEMRSA, ...DOSSIER_FIELDS.map((f) => f.id)])
const MEMBER_ACCEPTS: ReadonlySet<string> = new Set([...PERSON_FIELDS.map((f) => f.id), ROLE, RANG])

const cols = (fields: readonly CanonicalField[]) => fields.map((f) => f.column)
/** On an existing row: a shared field keeps the beneficiary flow's value, an instruction-only field takes the new one. */
const update = (table: string, fields: readonly CanonicalField[]) =>
  fields.map((f) => (shared(f) ? `${f.column} = coalesce(${table}.${f.column}, excluded.${f.column})` : `${f.column} = excluded.${f.column}`)).join(',\n         ')

const ddl = (fields: readonly CanonicalField[]) => fields.map((f) => `, ${f.column} ${SQL_TYPES[f.type]}`).join('')

interface Application {
  recordIndex: number
  organisme: string
  numdemrsa: string
  dossier: CanonicalValues
  persons: { matchKey: string; nirIndex: string | null; values: CanonicalValues; role: string | undefined }[]
}

/** A checked record as the dossier and persons it names; a person named twice is the record's rejection. */
export function applicationOf(r: DeclaredRecord, indexKey: Buffer): Application | { twice: number } {
  const v = r.values
  const organisme = v[ORGANISME] as string
  const numdemrsa = v[NUMDEMRSA] as string
  const members = r.members ?? []
  const nirs13 = members.map((m) => m[NIR] as string | undefined)
  const dossier: CanonicalValues = { ...v }
  if (typeof v[MATRICULE] === 'string') dossier[MATRICULE] = allocataireNumber(organisme, v[MATRICULE], nirs13).matricule
  const persons: Application['persons'] = []
  const seen = new Set<string>()
  for (const [i, m] of members.entries()) {
    const nir13 = m[NIR] as string | undefined
    const dtnai = m[BIRTH_DATE] as string
    const matchKey = nir13
      ? personMatchKey(indexKey, nir13, dtnai)
      : personWithoutNirMatchKey(
          indexKey,
          { organisme, numdemrsa },
          { nomNaissance: String(m[NOM_NAISSANCE] ?? ''), prenom: String(m[PRENOM] ?? ''), dateNaissance: dtnai, rang: m[RANG as never] as string | undefined },
        )
    if (seen.has(matchKey)) return { twice: i }
    seen.add(matchKey)
    persons.push({
      matchKey,
      nirIndex: nir13 ? nirIndex(indexKey, nir13) : null,
      values: { ...m, [NIR]: nir13 ? nir13 + nirKey(nir13) : undefined },
      role: m[ROLE] as string | undefined,
    })
  }
  return { recordIndex: r.recordIndex, organisme, numdemrsa, dossier, persons }
}

async function createStage(tx: Queryable): Promise<void> {
  await tx.exec(`
    create temp table stage_app_dossiers (record_index integer not null, organisme text not null, numdemrsa text not null${ddl(DOSSIER_FIELDS)}) on commit drop;
    create temp table stage_app_persons (match_key text not null, nir_index text${ddl(PERSON_FIELDS)}) on commit drop;
    create temp table stage_app_members (organisme text not null, numdemrsa text not null, match_key text not null, role text not null) on commit drop;
  `)
}

async function mergeApplications(tx: Queryable, ctx: { flowId: string; fileId: number; transmittedAt: Date }): Promise<void> {
  const d = cols(DOSSIER_FIELDS)
  const p = cols(PERSON_FIELDS)
  await tx.query(
    `insert into dossiers (flow_id, organisme, numdemrsa, ${d.join(', ')}, transmission_state, file_id, transmitted_at, state_as_of)
     select $1, organisme, numdemrsa, ${d.join(', ')}, 'transmitted', $2, $3, $3
     from stage_app_dossiers
     on conflict (organisme, numdemrsa) do update set
         ${update('dossiers', DOSSIER_FIELDS)},
         updated_at = now()`,
    [ctx.flowId, ctx.fileId, ctx.transmittedAt],
  )
  await tx.query(
    `insert into persons (match_key, nir_index, ${p.join(', ')}, file_id, transmitted_at)
     select match_key, nir_index, ${p.join(', ')}, $1, $2
     from stage_app_persons
     on conflict (match_key) do update set
         nir_index = coalesce(persons.nir_index, excluded.nir_index),
         ${update('persons', PERSON_FIELDS)},
         updated_at = now()`,
    [ctx.fileId, ctx.transmittedAt],
  )
  // The members of a dossier only this flow has sent are the latest application's; the beneficiary flow's are its own.
  await tx.query(
    `delete from dossier_members dm
     using dossiers d, stage_app_dossiers s
     where dm.dossier_id = d.id
       and d.organisme = s.organisme
       and d.numdemrsa = s.numdemrsa
       and d.flow_id = $1`,
    [ctx.flowId],
  )
  await tx.query(
    `insert into dossier_members (dossier_id, person_id, role, file_id, transmitted_at)
     select d.id, p.id, sm.role, $1, $2
     from stage_app_members sm
     join dossiers d on d.organisme = sm.organisme and d.numdemrsa = sm.numdemrsa
     join persons p on p.match_key = sm.match_key
     where d.flow_id = $3
     on conflict (dossier_id, person_id) do nothing`,
    [ctx.fileId, ctx.transmittedAt, ctx.flowId],
  )
  await tx.exec('truncate stage_app_dossiers, stage_app_persons, stage_app_members')
}

export const applications: RecordTarget = {
  accepts: RECORD_ACCEPTS,
  check(input) {
    const problems: TargetProblem[] = []
    const known = (set: ReadonlySet<string>) => [...set].join(', ')
    for (const [i, f] of input.fields.entries()) {
      if (f.field !== undefined && !RECORD_ACCEPTS.has(f.field)) {
        problems.push({ path: ['fields', i, 'field'], message: `"${f.field}" is not a dossier field the applications target takes (known: ${known(RECORD_ACCEPTS)})` })
      }
    }
    for (const constants of input.constants) {
      for (const id of Object.keys(constants)) if (!RECORD_ACCEPTS.has(id)) problems.push({ path: ['values'], message: `"${id}" is not a field the applications target takes` })
    }
    const memberFields = input.memberFields ?? []
    if (memberFields.length === 0) problems.push({ path: ['members'], message: 'the applications target needs the persons: a `members` block (the Personne element)' })
    for (const [i, f] of memberFields.entries()) {
      if (f.field !== undefined && !MEMBER_ACCEPTS.has(f.field)) {
        problems.push({ path: ['members', 'fields', i, 'field'], message: `"${f.field}" is not a person field the applications target takes (known: ${known(MEMBER_ACCEPTS)})` })
      }
    }
    for (const id of [ORGANISME, NUMDEMRSA]) if (!supplies(input, id)) problems.push({ path: ['fields'], message: `the applications target needs "${id}" on every record` })
    const member = (id: string) => memberFields.find((f) => f.field === id)
    for (const id of [BIRTH_DATE, ROLE]) if (!member(id)) problems.push({ path: ['members', 'fields'], message: `the applications target needs "${id}" for every person` })
    const nir = member(NIR)
    if (nir && nir.type !== 'nir') problems.push({ path: ['members', 'fields'], message: `the field giving "${NIR}" must have type nir` })
    if (nir && (!member(NOM_NAISSANCE) || !member(PRENOM))) {
      problems.push({ path: ['members', 'fields'], message: `a person without a NIR is keyed on "${NOM_NAISSANCE}" and "${PRENOM}": declare them (checked, stored only if a purpose declares them)` })
    }
    return problems
  },
  async store({ tx, deps, flow, fileId, state, issues, report }, records, { transmittedAt }) {
    await createStage(tx)
    const ctx = { flowId: flow.id, fileId, transmittedAt }
    const firstDossiers = new FirstOccurrences()
    const staging = oneInFlight()
    for await (const batch of records) {
      const failed: RejectedRecord[] = []
      const dossiers: unknown[][] = []
      const persons = new Map<string, unknown[]>()
      const members: unknown[][] = []
      for (const r of batch) {
        if (!r.ok) {
          failed.push(r)
          continue
        }
        const at = { recordIndex: r.value.recordIndex, line: r.value.line }
        const app = applicationOf(r.value, deps.keys.index)
        if ('twice' in app) {
          failed.push({ ok: false, ...at, key: undefined, issues: [{ field: `Personne[${app.twice}]`, rule: 'duplicate_member' }] })
          continue
        }
        const first = firstDossiers.claim(`${app.organisme}|${app.numdemrsa}`, at)
        if (first) {
          failed.push(duplicateOf(at, first, { field: 'numdemrsa', rule: 'duplicate_dossier' }))
          continue
        }
        dossiers.push([app.recordIndex, app.organisme, app.numdemrsa, ...masked(DOSSIER_FIELDS, deps.stored, app.dossier, deps.keys)])
        for (const p of app.persons) {
          persons.set(p.matchKey, [p.matchKey, p.nirIndex, ...masked(PERSON_FIELDS, deps.stored, p.values, deps.keys)])
          members.push([app.organisme, app.numdemrsa, p.matchKey, p.role ?? 'AUT'])
        }
      }
      state.total += batch.length
      state.rejected += failed.length
      await staging.next(async () => {
        await tx.copyRows('stage_app_dossiers', ['record_index', 'organisme', 'numdemrsa', ...cols(DOSSIER_FIELDS)], dossiers)
        await tx.copyRows('stage_app_persons', ['match_key', 'nir_index', ...cols(PERSON_FIELDS)], [...persons.values()])
        await tx.copyRows('stage_app_members', ['organisme', 'numdemrsa', 'match_key', 'role'], members)
        await mergeApplications(tx, ctx)
        await writeRejections(tx, fileId, failed, issues)
      })
      report.progress(state.total)
      deps.log.debug({ flowId: flow.id, fileId, records: state.total }, 'records staged')
    }
    await staging.drain()
  },
}
