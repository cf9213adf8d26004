import { InvalidArgumentError, type Command } from 'commander'
import { wholeNumber } from '../option-parsers.ts'
import type { CnafFileReport } from '../../fixtures/cnaf/write-cnaf-file.ts'
import {
  FIXTURE_DEFECTS,
  FIXTURE_FLOWS,
  generateFixture,
  type FixtureDefect,
  type FixtureFlow,
  type FixtureResult,
} from '../../fixtures/generate-fixture.ts'
import type { FranceTravailFileKind } from '../../fixtures/france-travail/france-travail-records.ts'
import { parisDay } from '../../calendar/paris-day.ts'

/**
 * `passerelle fixtures --flow ID --foyers N --seed S --out DIR`: writes one synthetic flow file (deterministic
 * for a seed) under its realistic name and prints its path, size and counts — never a personal value.
 */
export function register(program: Command): void {
  program
    .command('fixtures')
    .description('write a synthetic flow file (deterministic for a seed): CNAF VRSB0801 XML, France Travail CSV, monthly fichier-PE-CG XML or SPIE extracts')
    .requiredOption('--flow <id>', `flow: ${FIXTURE_FLOWS.join(', ')}`, oneOf(FIXTURE_FLOWS, 'flow'))
    .requiredOption('--foyers <n>', 'number of foyers (a daily file draws its changed foyers from this population)', nonNegativeInteger)
    .requiredOption('--out <dir>', 'directory to write into (created if missing)')
    .option('--seed <s>', 'seed: the same seed gives the same people and the same bytes', '1')
    .option('--type <M|I>', 'CNAF: M monthly stock, I daily movements', oneOf(['M', 'I'] as const, 'type'), 'M')
    .option('--date <YYYY-MM-DD>', 'file creation date (default: today)')
    .option('--departement <code>', 'département of the population', '93')
    .option('--minimal', 'CNAF: only the elements the schema requires (plus NIR, state blocks, events)')
    .option('--changed <n>', 'CNAF daily: how many foyers changed (default: foyers / 50)', nonNegativeInteger)
    .option('--new <n>', 'CNAF daily: new foyers beyond the population', nonNegativeInteger)
    .option('--kind <kind>', 'France Travail: stock, inscriptions, cessations, radiations', oneOf(['stock', 'inscriptions', 'cessations', 'radiations'] as const, 'kind'))
    .option('--defect <names...>', `inject defects: ${Object.keys(FIXTURE_DEFECTS).join(', ')}`)
    .option('--every <n>', 'record-level defects hit one record in n', positiveInteger, 50)
    .option('--truncate-at <fraction>', 'where a truncated CNAF file is cut, as a fraction of its size', fraction, 0.6)
    .option('--encrypt-for <certificate>', 'SPIE: encrypt both extracts for this PEM certificate (openssl cms -encrypt, .p7m)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: FixturesOptions) => {
      const defects = (opts.defect ?? []).map((name) => {
        if (!(name in FIXTURE_DEFECTS)) throw new Error(`unknown defect "${name}" (known: ${Object.keys(FIXTURE_DEFECTS).join(', ')})`)
        return name as FixtureDefect
      })
      const started = performance.now()
      const result = await generateFixture({
        flow: opts.flow,
        foyers: opts.foyers,
        seed: opts.seed,
        outDir: opts.out,
        date: opts.date ?? parisDay(new Date()),
        type: opts.type,
        departement: opts.departement,
        minimal: opts.minimal ?? false,
        ...(opts.changed !== undefined ? { changed: opts.changed } : {}),
        ...(opts.new !== undefined ? { added: opts.new } : {}),
        ...(opts.kind !== undefined ? { kind: opts.kind } : {}),
        defects,
        every: opts.every,
        truncateAt: opts.truncateAt,
        ...(opts.encryptFor !== undefined ? { encryptFor: opts.encryptFor } : {}),
      })
      const seconds = (performance.now() - started) / 1000
      process.stdout.write(opts.json ? `${JSON.stringify(summary(result, seconds))}\n` : describe(result, seconds))
    })
}

interface FixturesOptions {
  flow: FixtureFlow
  foyers: number
  out: string
  seed: string
  type: 'M' | 'I'
  date?: string
  departement: string
  minimal?: boolean
  changed?: number
  new?: number
  kind?: FranceTravailFileKind
  defect?: string[]
  every: number
  truncateAt: number
  encryptFor?: string
  json?: boolean
}

/** What the command prints: path, sizes, counts, and which records the defects hit (indices only). */
function summary(result: FixtureResult, seconds: number): Record<string, unknown> {
  if (result.flow === 'france-travail-spie') {
    const r = result.report
    return { flow: result.flow, path: result.path, bytes: r.bytes, foyers: r.foyers, records: r.records, encrypted: r.encrypted, actions: r.actions, seconds: round(seconds), defects: r.defects }
  }
  if (result.flow === 'france-travail-mensuel') {
    const r = result.report
    return { flow: result.flow, path: result.path, bytes: r.bytes, foyers: r.foyers, records: r.dossiers, seconds: round(seconds), defects: r.defects }
  }
  if (result.flow === 'france-travail') {
    const r = result.report
    return { flow: result.flow, path: result.path, bytes: r.bytes, foyers: r.foyers, records: r.rows, seconds: round(seconds), defects: r.defects }
  }
  if (result.flow === 'caf-instruction' || result.flow === 'msa-instruction') {
    const r = result.report
    // Consents as counts only: which record got which consent is no business of the output.
    const consents = { A: 0, R: 0, I: 0, none: 0 }
    for (const c of r.contacts) consents[c?.telephone ?? 'none']++
    return { flow: result.flow, path: result.path, bytes: r.bytes, foyers: r.applications, records: r.applications, persons: r.persons, phoneConsents: consents, seconds: round(seconds), defects: {} }
  }
  const r = result.report as CnafFileReport
  return {
    flow: result.flow,
    path: result.path,
    bytes: r.bytes,
    foyers: r.foyers,
    persons: r.persons,
    declaredCount: r.declaredCount ?? null,
    bytesPerFoyer: r.foyers > 0 ? Math.round(r.bytes / r.foyers) : 0,
    seconds: round(seconds),
    defects: r.defects,
  }
}

function describe(result: FixtureResult, seconds: number): string {
  const s = summary(result, seconds)
  const mb = (result.bytes / 1e6).toFixed(1)
  const lines = [`wrote ${result.path}`]
  if (result.flow === 'caf-instruction' || result.flow === 'msa-instruction') {
    lines.push(`  ${mb} MB, ${String(s.records)} applications, ${String(s.persons)} persons, phone consents ${JSON.stringify(s.phoneConsents)}, ${round(seconds)} s`)
    return `${lines.join('\n')}\n`
  }
  if (result.flow === 'france-travail' || result.flow === 'france-travail-mensuel') {
    lines.push(`  ${mb} MB, ${String(s.records)} records from ${String(s.foyers)} foyers, ${round(seconds)} s`)
  } else if (result.flow === 'france-travail-spie') {
    const a = result.report.actions
    lines.push(`  ${mb} MB, ${String(s.records)} records from ${String(s.foyers)} foyers${result.report.encrypted ? ' (S/MIME)' : ''}, ${round(seconds)} s`)
    lines.push(`wrote ${a.path}`, `  ${(a.bytes / 1e6).toFixed(1)} MB, ${a.records} records`)
  } else {
    lines.push(
      `  ${mb} MB, ${String(s.foyers)} foyers (${String(s.bytesPerFoyer)} bytes/foyer), ${String(s.persons)} persons, ` +
        `trailer count ${s.declaredCount === null ? 'cut off' : String(s.declaredCount)}, ${round(seconds)} s`,
    )
  }
  for (const [defect, hits] of Object.entries((result.report as { defects: object }).defects)) {
    lines.push(`  defect ${defect}: ${describeHits(hits)}`)
  }
  return `${lines.join('\n')}\n`
}

function describeHits(hits: unknown): string {
  if (Array.isArray(hits)) {
    const records = hits.map((h: { recordIndex: number }) => h.recordIndex)
    const shown = records.slice(0, 10).join(', ')
    return `${records.length} record(s)${records.length > 0 ? `: ${shown}${records.length > 10 ? ', ...' : ''}` : ''}`
  }
  return JSON.stringify(hits)
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100
}


function oneOf<T extends string>(values: readonly T[], what: string): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown ${what} "${value}" (expected ${values.join(', ')})`)
    return value as T
  }
}

const nonNegativeInteger = wholeNumber(0)
const positiveInteger = wholeNumber(1)

function fraction(value: string): number {
  const n = Number(value)
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a number between 0 and 1')
  return n
}
