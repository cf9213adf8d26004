import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeCnafFile } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import type { SupportedEncoding } from '../../src/ingestion/decode/text-encoding.ts'
import { RecordParsePool } from '../../src/ingestion/cnaf/parse-pool.ts'
import { readCnafFile, type CnafEvent, type ReadCnafFileOptions } from '../../src/ingestion/cnaf/read-cnaf-file.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'

const OPTIONS: ReadCnafFileOptions = { fallbackEncoding: 'windows-1252', organismes: ['CAF'], fileLabel: 'CAF093.RSABEM.test.xml' }

let dir: string
let stock: string
let badNirRecords: number[]

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'passerelle-cnaf-pool-'))
  stock = path.join(dir, 'stock.xml')
  const report = await writeCnafFile(stock, { flow: 'caf', seed: 7, typeflux: 'M', foyers: 300, dtcreaflux: '2026-11-01', defects: { badNirKey: { every: 40 } } })
  badNirRecords = (report.defects.badNirKey ?? []).map((hit) => hit.recordIndex)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function readAll(file: string, options: Partial<ReadCnafFileOptions>): Promise<CnafEvent[]> {
  const events: CnafEvent[] = []
  for await (const event of readCnafFile(file, { ...OPTIONS, ...options })) events.push(event)
  return events
}

describe('record parsing in worker threads', () => {
  it('returns exactly what the calling thread returns, in file order', async () => {
    const inline = await readAll(stock, { workers: 0, batchSize: 7 })
    const pooled = await readAll(stock, { workers: 2, batchSize: 7 })
    expect(pooled).toEqual(inline)
    const records = pooled.flatMap((e) => (e.type === 'records' ? e.records : []))
    expect(records.map((r) => (r.ok ? r.value.recordIndex : r.recordIndex))).toEqual([...Array(300).keys()])
    expect(records.filter((r) => !r.ok).map((r) => (r.ok ? -1 : r.recordIndex))).toEqual(badNirRecords)
  })

  it('stops with the file rejection of a bad record after handing out the batches before it', async () => {
    const content = (await readFile(stock)).toString('latin1')
    let at = -1
    for (let k = 0; k <= 200; k++) at = content.indexOf('<InfosFoyerRSA>', at + 1)
    const broken = path.join(dir, 'broken.xml')
    await writeFile(broken, Buffer.from(`${content.slice(0, at)}<InfosFoyerRSA><Oops></InfosFoyerRSA>${content.slice(at + 15)}`, 'latin1'))
    const seen: number[] = []
    let rejection: unknown
    try {
      for await (const event of readCnafFile(broken, { ...OPTIONS, workers: 2, batchSize: 50 })) {
        if (event.type === 'records') seen.push(...event.records.map((r) => (r.ok ? r.value.recordIndex : r.recordIndex)))
      }
    } catch (error) {
      rejection = error
    }
    expect(seen).toEqual([...Array(200).keys()])
    expect(rejection).toBeInstanceOf(FileRejection)
    expect(rejection).toMatchObject({ code: 'not_well_formed', where: { recordIndex: 200 } })
  })

  it('stops on abort', async () => {
    const controller = new AbortController()
    let batches = 0
    const run = async () => {
      for await (const event of readCnafFile(stock, { ...OPTIONS, workers: 2, batchSize: 10, signal: controller.signal })) {
        if (event.type === 'records' && ++batches === 2) controller.abort()
      }
    }
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' })
    expect(batches).toBe(2)
  })

  it('can be left early by the consumer', async () => {
    let header = 0
    for await (const event of readCnafFile(stock, { ...OPTIONS, workers: 2, batchSize: 10 })) {
      if (event.type === 'records') break
      header++
    }
    expect(header).toBe(1)
  })

  it('fails every pending batch when a worker fails, then refuses new work', async () => {
    // An encoding the batch parser does not know makes the worker fail as it starts.
    const pool = new RecordParsePool(1, { encoding: 'ebcdic' as SupportedEncoding, organismes: ['CAF'], fileLabel: 'x' })
    const batch = () => ({ bytes: Uint8Array.from([0x3c]), ends: Uint32Array.from([1]), lines: Uint32Array.from([1]), firstIndex: 0 })
    await expect(pool.submit(batch())).rejects.toThrow(/record parse worker/)
    await expect(pool.submit(batch())).rejects.toThrow(/record parse worker/)
    await pool.close()
  })
})
