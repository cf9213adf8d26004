import { breather } from '../../breather.ts'
import { FirstOccurrences, duplicateOf } from '../../canonical/first-occurrence.ts'
import { mapCnafFoyer, type MappedFoyer } from '../../canonical/map-records.ts'
import { encodeFoyerStage, markAbsentFromStock, mergeFoyers, stageEncoded, type MergeContext } from '../../canonical/staging.ts'
import type { CnafFoyer } from '../../cnaf/foyer.ts'
import { readCnafFile } from '../../cnaf/read-cnaf-file.ts'
import { FileRejection } from '../../file-rejection.ts'
import { guardReader } from '../../guard-reader.ts'
import { readerLimits } from '../../reader-limits.ts'
import type { ParsedRecord } from '../../records/parsed-record.ts'
import { cnafTransmissionTime } from '../../transmission-time.ts'
import { checkOrder, oneInFlight, writeRejections, type FileLoad, type Loaded } from '../file-load.ts'
import type { CnafDeclaration } from './declaration.ts'

/**
 * Loads a CNAF VRSB0801 file (CAF or MSA beneficiaries): the dedicated streaming reader (src/ingestion/cnaf/),
 * foyers mapped to canonical values, staged and merged batch by batch while the next batch is parsed.
 */

/** Files from this size on are parsed in a worker thread. */
const PARSE_WORKER_THRESHOLD_BYTES = 16 * 1024 * 1024

export async function loadCnaf({ tx, deps, flow, format, file, fileId, state, issues, options, report }: FileLoad<CnafDeclaration>): Promise<Loaded> {
  let ctx: MergeContext | undefined
  let typeflux: string | undefined
  let referenceDate: string | null = null
  const rejectedKeys: string[] = []
  /** Dossiers whose MATRICULE was a NIR, stored without a matricule (the MSA sends the NIR as matricule). */
  let matriculesWithheld = 0
  // Two records of one dossier in a file: the first is stored, each later one is a `duplicate_dossier` rejection.
  const firstDossiers = new FirstOccurrences()
  const staging = oneInFlight()
  const breathe = breather()
  const events = readCnafFile(file.path, {
    fallbackEncoding: format.encoding,
    organismes: format.organismes,
    expected: { natflux: format.natflux, typeflux: format.typeflux },
    fileLabel: file.name,
    signal: options.signal,
    // One worker parses while this thread maps and copies and the database merges: on 2 cores, 1.4x faster on a
    // 367 MB stock than parsing here. Small files are not worth a worker's start-up.
    workers: options.parseWorkers ?? ((file.size ?? 0) >= PARSE_WORKER_THRESHOLD_BYTES ? 1 : 0),
    limits: readerLimits(flow.limits),
    meter: report.meter,
  })
  for await (const event of guardReader(events, file.name)) {
    if (event.type === 'header') {
      const transmittedAt = cnafTransmissionTime(event.header.dtcreaflux, event.header.heucreaflux)
      await checkOrder(tx, flow, file, transmittedAt)
      typeflux = event.header.typeflux
      state.kind = typeflux === 'M' ? 'stock' : typeflux === 'I' ? 'daily' : 'reprise'
      referenceDate = event.header.dtref
      ctx = { flowId: flow.id, fileId, transmittedAt, effectiveDate: typeflux === 'M' ? event.header.dtref : event.header.dtcreaflux }
    } else if (event.type === 'records') {
      const ok: { recordIndex: number; mapped: ReturnType<typeof mapCnafFoyer> }[] = []
      const failed: Extract<ParsedRecord<CnafFoyer>, { ok: false }>[] = []
      for (const r of event.records) {
        await breathe()
        if (!r.ok) {
          failed.push(r)
          if (r.key) rejectedKeys.push(r.key)
          continue
        }
        const foyer = r.value
        const at = { recordIndex: foyer.recordIndex, line: foyer.line }
        const mapped = mapCnafFoyer(foyer, deps.keys.index)
        const twice = repeatedPerson(mapped)
        if (twice !== undefined) {
          // One person twice in a foyer: the record contradicts itself, and storing one of the two would rewrite it.
          failed.push({ ok: false, ...at, key: foyer.numdemrsa, issues: [{ field: `Personne[${twice}]`, rule: 'duplicate_member' }] })
          rejectedKeys.push(foyer.numdemrsa)
          continue
        }
        const first = firstDossiers.claim(`${foyer.fonorg}|${foyer.numdemrsa}`, at)
        if (first) {
          // The dossier stays transmitted (its first record is stored): no need to protect it from the stock rule.
          failed.push(duplicateOf(at, first, { field: 'IdentificationRSA.DemandeRSA.NUMDEMRSA', rule: 'duplicate_dossier' }, foyer.numdemrsa))
          continue
        }
        if (mapped.nirAsMatricule) matriculesWithheld++
        ok.push({ recordIndex: foyer.recordIndex, mapped })
      }
      state.total += event.records.length
      state.rejected += failed.length
      const merge = ctx
      if (!merge) throw new FileRejection('bad_header', `${file.name}: records before the IdentificationFlux header`)
      // Encoded here, while the database merges the previous batch; only sending and merging wait for it.
      const encoded = await encodeFoyerStage(ok, deps.stored, deps.keys, breathe)
      await staging.next(async () => {
        await stageEncoded(tx, encoded)
        await mergeFoyers(tx, merge)
        await writeRejections(tx, fileId, failed, issues)
      })
      report.progress(state.total)
      deps.log.debug({ flowId: flow.id, fileId, records: state.total }, 'records staged')
    }
  }
  await staging.drain()
  if (!ctx) throw new FileRejection('bad_header', `${file.name}: no IdentificationFlux header`)
  // A stock replaces the set of dossiers this flow transmits; a reprise or daily file only adds to it.
  if (typeflux === 'M') await markAbsentFromStock(tx, ctx, rejectedKeys)
  if (matriculesWithheld > 0) deps.log.info({ flowId: flow.id, fileId, matriculesWithheld }, 'MATRICULE values that are NIRs were not stored')
  return { transmittedAt: ctx.transmittedAt, referenceDate }
}

/** The index of a person met twice in one foyer (same match key), if any. */
function repeatedPerson(mapped: MappedFoyer): number | undefined {
  const seen = new Set<string>()
  for (const [i, p] of mapped.persons.entries()) {
    if (seen.has(p.matchKey)) return i
    seen.add(p.matchKey)
  }
  return undefined
}
