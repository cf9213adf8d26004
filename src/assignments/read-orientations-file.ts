import type { ReaderLimits } from '../ingestion/reader-limits.ts'
import type { ParsedRecord } from '../ingestion/records/parsed-record.ts'
import { readCsvRecords } from '../ingestion/csv/read-csv-records.ts'
import { FileRejection } from '../ingestion/file-rejection.ts'
import type { OrientationRow } from './orientation-row.ts'
import { validateOrientationRecord, type OrientationColumn } from './validate-orientation-record.ts'

/**
 * Reads the département's orientations CSV (flows/orientations.yaml) as batches of validated rows, in bounded
 * memory. The first line is a header naming the columns (any order, case and accents ignored):
 *
 * | column | required | meaning |
 * |---|---|---|
 * | `numdemrsa`, `rolepers`, `organisme` | either these two (organisme optional: CAF or MSA) … | the person by dossier and role (DEM, CJT, ENF, AUT, RDO) |
 * | `nir`, `date_naissance` | … or these two | the person by NIR (13 or 15 characters) and birth date |
 * | `siret_structure` | yes | the structure référente |
 * | `email_referent` | no | the referent (a user of that structure) |
 * | `date_debut`, `date_fin` | start yes, end no | inclusive dates, in the flow's date format |
 *
 * A bad record comes out as `{ ok: false, ... }` (field and rule, never the value); a file that cannot be trusted
 * (not text, no usable header, a quote left open, a last line cut short) throws a FileRejection.
 */
export interface ReadOrientationsOptions {
  encoding: string
  delimiter: string
  dateFormat: 'DD/MM/YYYY' | 'YYYY-MM-DD'
  /** How the file is named in rejection messages (its name, never its content). */
  fileLabel: string
  batchSize?: number
  signal?: AbortSignal
  /** The flow's reader limits (default DEFAULT_READER_LIMITS). */
  limits?: ReaderLimits
}

const ALIASES: Record<OrientationColumn, readonly string[]> = {
  numdemrsa: ['numdemrsa', 'numerodemandersa', 'numdem'],
  rolepers: ['rolepers', 'role', 'rolepersonne'],
  organisme: ['organisme', 'fonorg'],
  nir: ['nir', 'numerosecuritesociale'],
  dtnai: ['datenaissance', 'datedenaissance', 'dtnai'],
  siret: ['siretstructure', 'siret', 'structuresiret', 'siretstructurereferente'],
  email: ['emailreferent', 'referentemail', 'courrielreferent', 'mailreferent'],
  debut: ['datedebut', 'debut', 'datedebutorientation'],
  fin: ['datefin', 'fin', 'datefinorientation'],
}

function normaliseHeaderCell(cell: string): string {
  return cell
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
}

/** The columns a header names, or the reason it is unusable. */
export function orientationColumnsFromHeader(cells: readonly string[]): { ok: true; columns: OrientationColumn[] } | { ok: false; problem: string } {
  const columns: OrientationColumn[] = []
  for (const [i, cell] of cells.entries()) {
    const name = normaliseHeaderCell(cell)
    if (name === '' && i === cells.length - 1) continue
    const column = (Object.keys(ALIASES) as OrientationColumn[]).find((c) => ALIASES[c].includes(name))
    if (!column) return { ok: false, problem: `column ${i + 1} of the header is not an orientations column` }
    if (columns.includes(column)) return { ok: false, problem: `column ${column} appears twice in the header` }
    columns.push(column)
  }
  const has = (c: OrientationColumn) => columns.includes(c)
  if (!has('siret')) return { ok: false, problem: 'the header has no siret_structure column' }
  if (!has('debut')) return { ok: false, problem: 'the header has no date_debut column' }
  const byDossier = has('numdemrsa') && has('rolepers')
  const byNir = has('nir') && has('dtnai')
  if (!byDossier && !byNir) return { ok: false, problem: 'the header names the person neither by numdemrsa + rolepers nor by nir + date_naissance' }
  return { ok: true, columns }
}

export async function* readOrientationsFile(path: string, options: ReadOrientationsOptions): AsyncGenerator<ParsedRecord<OrientationRow>[]> {
  let columns: OrientationColumn[] = []
  yield* readCsvRecords<OrientationRow>(path, {
    ...options,
    hasHeader: true,
    header(cells, { line, where }) {
      const header = orientationColumnsFromHeader(cells)
      if (!header.ok) throw new FileRejection('bad_header', `${where}: line ${line}: ${header.problem} (rule bad_header)`, { line })
      columns = header.columns
    },
    record: (cells, { recordIndex, line }) => validateOrientationRecord(cells, { columns, dateFormat: options.dateFormat, recordIndex, line }),
    end({ headerSeen, where }) {
      if (!headerSeen) throw new FileRejection('empty_file', `${where}: no header and no record (rule empty_file)`, { line: 1 })
    },
  })
}
