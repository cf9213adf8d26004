import type { Queryable } from '../db/db.ts'

/** A dossier whose record a CNAF file rejected: where, which rules, and its NUMDEMRSA (never another value). */
export interface RejectedDossier {
  recordIndex: number
  line: number | null
  /** Undefined when the record's NUMDEMRSA could not be read (the CAF/MSA is then told the record's position). */
  numdemrsa: string | undefined
  /** `field rule` pairs, e.g. `Personne[0].Identification.NIR nir_key`. */
  rules: { field: string; rule: string }[]
}

export interface RejectedDossiers {
  file: { id: number; flowId: string; name: string; status: string; kind: string | null }
  dossiers: RejectedDossier[]
}

/**
 * The dossiers a file rejected, one entry per rejected record in file order (issue 17, point 6): what the operator
 * sends the CAF or MSA to get a corrected single-dossier file. Undefined when there is no such file.
 */
export async function listRejectedDossiers(db: Queryable, fileId: number): Promise<RejectedDossiers | undefined> {
  const { rows: files } = await db.query<{ id: number; flow_id: string; name: string; status: string; kind: string | null }>(
    `select id, flow_id, name, status, kind
     from files
     where id = $1`,
    [fileId],
  )
  const file = files[0]
  if (!file) return undefined
  const { rows } = await db.query<{ record_index: number; line: number | null; numdemrsa: string | null; field: string; rule: string }>(
    `select record_index, line, numdemrsa, field, rule
     from rejections
     where file_id = $1
       and field <> '(file)'
     order by record_index, id`,
    [fileId],
  )
  const byRecord = new Map<number, RejectedDossier>()
  for (const r of rows) {
    let entry = byRecord.get(r.record_index)
    if (!entry) {
      entry = { recordIndex: r.record_index, line: r.line, numdemrsa: r.numdemrsa ?? undefined, rules: [] }
      byRecord.set(r.record_index, entry)
    }
    entry.rules.push({ field: r.field, rule: r.rule })
  }
  return {
    file: { id: Number(file.id), flowId: file.flow_id, name: file.name, status: file.status, kind: file.kind },
    dossiers: [...byRecord.values()],
  }
}
