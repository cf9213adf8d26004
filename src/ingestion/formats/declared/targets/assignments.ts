import { loadOrientationsRecords } from '../../../../assignments/load-orientations.ts'
import type { OrientationRow } from '../../../../assignments/orientation-row.ts'
import type { ParsedRecord } from '../../../records/parsed-record.ts'
import { writeRejections } from '../../file-load.ts'
import type { DeclaredRecord } from '../declared-record.ts'
import { supplies, unknownIds, type RecordTarget, type TargetProblem } from './target.ts'

/**
 * Orientations (table assignments): who follows a beneficiary, from when to when. The person is named by NIR and
 * birth date, or by dossier (NUMDEMRSA, role, optionally the organisme); the structure by SIRET, the referent by
 * e-mail. Resolution and its rejections (person_not_found, organisation_unknown...) are src/assignments/'s.
 */
const IDS = {
  nir: 'personne.nir',
  birthDate: 'personne.dateNaissance',
  numdemrsa: 'dossier.numdemrsa',
  role: 'personne.role',
  organisme: 'dossier.organisme',
  siret: 'orientation.siretStructure',
  email: 'orientation.emailReferent',
  start: 'orientation.dateDebut',
  end: 'orientation.dateFin',
} as const

const ACCEPTS: ReadonlySet<string> = new Set(Object.values(IDS))

/** The orientation a declared record names (its values are checked: the person is named one way or the other). */
export function orientationRowOf(r: DeclaredRecord): OrientationRow {
  const v = r.values as Record<string, string | undefined>
  const nir13 = v[IDS.nir]
  const person: OrientationRow['person'] =
    nir13 !== undefined
      ? { by: 'nir', nir13, dtnai: v[IDS.birthDate] as string }
      : { by: 'dossier', numdemrsa: v[IDS.numdemrsa] as string, rolepers: v[IDS.role] as string, organisme: v[IDS.organisme] as 'CAF' | 'MSA' | undefined }
  return { recordIndex: r.recordIndex, line: r.line, person, siret: v[IDS.siret] as string, referentEmail: v[IDS.email], startsOn: v[IDS.start] as string, endsOn: v[IDS.end] }
}

async function* rows(records: AsyncIterable<ParsedRecord<DeclaredRecord>[]>): AsyncGenerator<ParsedRecord<OrientationRow>[]> {
  for await (const batch of records) yield batch.map((r) => (r.ok ? { ok: true as const, value: orientationRowOf(r.value) } : r))
}

export const assignments: RecordTarget = {
  accepts: ACCEPTS,
  check(input) {
    const problems: TargetProblem[] = unknownIds(input, ACCEPTS, 'assignments')
    for (const id of [IDS.siret, IDS.start]) {
      if (!supplies(input, id)) problems.push({ path: ['fields'], message: `the assignments target needs "${id}"` })
    }
    const byNir = supplies(input, IDS.nir) && supplies(input, IDS.birthDate)
    const byDossier = supplies(input, IDS.numdemrsa) && supplies(input, IDS.role)
    if (!byNir && !byDossier) problems.push({ path: ['fields'], message: `the assignments target needs the person: "${IDS.nir}" and "${IDS.birthDate}", or "${IDS.numdemrsa}" and "${IDS.role}"` })
    return problems
  },
  async store({ tx, deps, fileId, state, issues, report }, records, { transmittedAt }) {
    const result = await loadOrientationsRecords(
      tx,
      {
        fileId,
        keys: deps.keys,
        transmittedAt,
        onRejected: async (failed) => {
          state.rejected += failed.length
          await writeRejections(tx, fileId, failed, issues)
        },
      },
      rows(records),
    )
    state.total = result.total
    report.progress(state.total, true)
  },
}
