import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readCnafFile } from '../../src/ingestion/cnaf/read-cnaf-file.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import { readFranceTravailFile, readOrientationsFile } from '../helpers/declared-flows.ts'
import { guardReader } from '../../src/ingestion/guard-reader.ts'
import {
  applyMutations,
  cnafSentinelFile,
  CSV_INSERTS,
  findSentinel,
  franceTravailSentinelFile,
  mutationsArbitrary,
  NAME_SENTINELS,
  NIR_SENTINELS,
  XML_INSERTS,
} from '../helpers/sentinel-mutations.ts'

/**
 * Point 5 of issue 13: a lost `>` ran a value into an element name, and the name was quoted in the rejection
 * (`<NIR2921093965529>`, `<NOMNAIFOFANA>`). Here mutated files carrying planted sentinel values go through the
 * real readers (guarded as the ingest path guards them); nothing they say may hold a sentinel or a piece of one.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-sentinels-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type Batch = { ok: boolean; issues?: unknown }

/** Everything a reader says about a file: rejected records' issues and the file rejection, as one text. */
async function whatTheReaderSays(batches: AsyncIterable<Batch[]>): Promise<string> {
  const said: string[] = []
  try {
    for await (const batch of batches) for (const r of batch) if (!r.ok) said.push(JSON.stringify(r.issues))
  } catch (error) {
    if (!(error instanceof FileRejection)) throw error
    said.push(`${error.code} ${error.message} ${JSON.stringify(error.where)}`)
  }
  return said.join('\n')
}

async function* cnafBatches(file: string): AsyncGenerator<Batch[]> {
  for await (const event of guardReader(readCnafFile(file, { fallbackEncoding: 'windows-1252', organismes: ['CAF'], fileLabel: 'RSABEM.test.xml' }), 'RSABEM.test.xml')) {
    if (event.type === 'records') yield event.records as Batch[]
  }
}

const RUNS = Number(process.env.SENTINEL_RUNS ?? 800)

describe('rejections never quote a value of the file', () => {
  it('the CNAF reader, on files with bytes lost, markup inserted, cut short or duplicated', async () => {
    const base = await cnafSentinelFile()
    expect(findSentinel(base)).toBeDefined()
    const file = path.join(dir, 'cnaf.xml')
    writeFileSync(file, base, 'latin1')
    // The planted NIRs break the key rule: those records are rejected, by field and rule only.
    expect(await whatTheReaderSays(cnafBatches(file))).not.toMatch(/not_well_formed|wrong_schema|truncated/)
    let rejected = 0
    await fc.assert(
      fc.asyncProperty(mutationsArbitrary(XML_INSERTS), async (mutations) => {
        writeFileSync(file, applyMutations(base, mutations), 'latin1')
        const said = await whatTheReaderSays(cnafBatches(file))
        if (said !== '') rejected++
        expect(findSentinel(said), said).toBeUndefined()
      }),
      { numRuns: RUNS, seed: 1313 },
    )
    // The property is not vacuous: most mutated files are rejected, whole or in part.
    expect(rejected).toBeGreaterThan(RUNS / 2)
  }, 120_000)

  it('the CNAF reader, on the shapes the issue found (a lost ">" after a start tag)', async () => {
    const base = await cnafSentinelFile()
    const file = path.join(dir, 'cnaf-lost-gt.xml')
    for (const tag of ['NIR', 'NOMNAI', 'PRENOM', 'NOMVOIE', 'LIEUDIST', 'NOM']) {
      const at = base.indexOf(`<${tag}>`)
      if (at === -1) continue
      const lostGt = base.slice(0, at + tag.length + 1) + base.slice(at + tag.length + 2)
      const spaced = base.slice(0, at + tag.length + 1) + ' ' + base.slice(at + tag.length + 2)
      for (const text of [lostGt, spaced]) {
        writeFileSync(file, text, 'latin1')
        const said = await whatTheReaderSays(cnafBatches(file))
        expect(said).not.toBe('')
        expect(findSentinel(said), said).toBeUndefined()
      }
    }
  })

  it('the France Travail reader, on files with cells, quotes and lines damaged', async () => {
    const base = await franceTravailSentinelFile()
    expect(findSentinel(base)).toBeDefined()
    const file = path.join(dir, 'Liste_BeneficiairesRSA_Inscrits_test.csv')
    await fc.assert(
      fc.asyncProperty(mutationsArbitrary(CSV_INSERTS), async (mutations) => {
        writeFileSync(file, applyMutations(base, mutations), 'latin1')
        const said = await whatTheReaderSays(
          guardReader(readFranceTravailFile(file, { kind: 'stock', encoding: 'iso-8859-1', delimiter: ';', header: true, fileLabel: 'ft.csv' }), 'ft.csv'),
        )
        expect(findSentinel(said), said).toBeUndefined()
      }),
      { numRuns: Math.round(RUNS / 2), seed: 1314 },
    )
  }, 120_000)

  it('the orientations reader, on files with cells, quotes and lines damaged', async () => {
    const [a, b, c] = NAME_SENTINELS
    const [n1, n2] = NIR_SENTINELS
    const base = [
      'numdemrsa;rolepers;organisme;nir;date_naissance;siret_structure;email_referent;date_debut;date_fin',
      `;;;${n1};01/02/1980;21930001100011;${a.toLowerCase()}.${b.toLowerCase()}@cd93.fr;01/03/2026;`,
      `;;;${n2}12;03/04/1975;21930001100011;${c.toLowerCase()}@cd93.fr;01/03/2026;31/12/2026`,
      '',
    ].join('\n')
    const file = path.join(dir, 'orientations.csv')
    await fc.assert(
      fc.asyncProperty(mutationsArbitrary(CSV_INSERTS), async (mutations) => {
        writeFileSync(file, applyMutations(base, mutations), 'utf8')
        const said = await whatTheReaderSays(
          guardReader(readOrientationsFile(file, { encoding: 'utf-8', delimiter: ';', dateFormat: 'DD/MM/YYYY', fileLabel: 'orientations.csv' }), 'orientations.csv'),
        )
        expect(findSentinel(said), said).toBeUndefined()
      }),
      { numRuns: Math.round(RUNS / 2), seed: 1315 },
    )
  }, 120_000)
})
