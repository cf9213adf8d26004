import { once } from 'node:events'
import { createWriteStream, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCnafFile } from '../../src/ingestion/cnaf/read-cnaf-file.ts'
import { VRSB0801_ELEMENT_NAMES } from '../../src/ingestion/cnaf/schema-element-names.ts'
import { readCsvRecords } from '../../src/ingestion/csv/read-csv-records.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import { readFranceTravailFile } from '../helpers/declared-flows.ts'
import { guardReader } from '../../src/ingestion/guard-reader.ts'
import { decideQuarantine } from '../../src/ingestion/quarantine/decide-quarantine.ts'
import { DEFAULT_READER_LIMITS, readerLimits, type ReaderLimits } from '../../src/ingestion/reader-limits.ts'
import { FlowSchema } from '../../src/flows/flow.ts'
import { VRSB0801_XSD } from '../helpers/xsd.ts'

const RICH = fileURLToPath(new URL('../../fixtures/cnaf/rsabem-rich.cp1252.xml', import.meta.url))
const FLOWS = fileURLToPath(new URL('../../flows/', import.meta.url))
const FT_HEADER = 'nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale\n'

let dir: string
let counter = 0
let rich: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'passerelle-reader-limits-'))
  rich = (await readFile(RICH)).toString('latin1')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function write(content: string): Promise<string> {
  const file = path.join(dir, `f${counter++}`)
  await writeFile(file, Buffer.from(content, 'latin1'))
  return file
}

/** Writes `head`, then `mb` MB of `fill`, then `tail`, without building the whole text in memory. */
async function writeHuge(head: string, fill: string, mb: number, tail: string): Promise<string> {
  const file = path.join(dir, `huge${counter++}`)
  const out = createWriteStream(file)
  out.write(head)
  const block = Buffer.from(fill.repeat(Math.ceil((1024 * 1024) / fill.length)).slice(0, 1024 * 1024), 'latin1')
  for (let i = 0; i < mb; i++) if (!out.write(block)) await once(out, 'drain')
  out.end(tail)
  await once(out, 'finish')
  return file
}

async function rejection(events: AsyncIterable<unknown>): Promise<FileRejection> {
  try {
    for await (const _ of events) {
      // drain
    }
  } catch (error) {
    if (error instanceof FileRejection) return error
    throw error
  }
  throw new Error('expected a file rejection')
}

const cnaf = (file: string, limits?: ReaderLimits) =>
  readCnafFile(file, { fallbackEncoding: 'windows-1252', organismes: ['CAF', 'MSA'], fileLabel: 'RSABEM.test.xml', limits })
const ft = (file: string, limits?: ReaderLimits) =>
  readFranceTravailFile(file, { kind: 'stock', encoding: 'iso-8859-1', delimiter: ';', header: true, fileLabel: 'ft.csv', limits })

/** The rich fixture with the first occurrence of `from` replaced by `to`. */
function richWith(from: string, to: string): string {
  const at = rich.indexOf(from)
  if (at === -1) throw new Error(`test setup: "${from}" not in the fixture`)
  return rich.slice(0, at) + to + rich.slice(at + from.length)
}

describe('reader limits: CSV', () => {
  it('rejects a 300 MB single line as line_too_long, reading no further than the limit', async () => {
    const file = await writeHuge(FT_HEADER, 'A', 300, '\n')
    const r = await rejection(ft(file))
    expect(r).toMatchObject({ code: 'line_too_long', where: { line: 2 } })
    expect(r.message).toBe('file "ft.csv": line 2: longer than 65536 characters (the flow\'s limits.max_line_chars) (rule line_too_long)')
  }, 60_000)

  it('counts a line across reads, and accepts one exactly at the limit', async () => {
    const limits = readerLimits({ max_line_chars: 300 })
    const row = '2737373737373;4704191X944;NOM;PRENOM;22/08/1989;29/07/2017;1;2737373737373;93006;BAGNOLET;1 RUE;93225'
    const atLimit = `${row};${'x'.repeat(300 - row.length - 1)}`
    expect(atLimit.length).toBe(300)
    await expect(rejection(ft(await write(`${FT_HEADER}${atLimit}\n${atLimit}x\n`), limits))).resolves.toMatchObject({ code: 'line_too_long', where: { line: 3 } })
    const ok = ft(await write(`${FT_HEADER}${atLimit}\r\n`), limits)
    for await (const batch of ok) expect(batch).toHaveLength(1)
  })

  it('rejects a quoted record spanning lines beyond max_record_bytes as record_too_large', async () => {
    const limits = readerLimits({ max_record_bytes: 4096 })
    const cell = `"${'ab\n'.repeat(2000)}"`
    const r = await rejection(ft(await write(`${FT_HEADER}1;${cell};x\n`), limits))
    expect(r.code).toBe('record_too_large')
    expect(r.message).not.toMatch(/ab/)
  })

  it('rejects a cell longer than max_text_chars as text_too_long, naming the cell by its position', async () => {
    const limits = readerLimits({ max_text_chars: 100 })
    const r = await rejection(ft(await write(`${FT_HEADER}2737373737373;${'Z'.repeat(101)};NOM\n`), limits))
    expect(r).toMatchObject({ code: 'text_too_long', where: { line: 2 } })
    expect(r.message).toMatch(/cell 2 is longer than 100 characters/)
  })

  it('reads a 4 MB line of 2 million cells when the limits allow it', async () => {
    const limits = readerLimits({ max_line_chars: 64 * 1024 * 1024, max_record_bytes: 64 * 1024 * 1024 })
    const file = await writeHuge('', 'a;', 4, '\n')
    let cells = 0
    for await (const batch of readCsvRecords(file, {
      encoding: 'utf-8', delimiter: ';', fileLabel: 'x.csv', hasHeader: false, limits,
      record: (c, at) => ({ ok: true, value: c.length, ...at }) as never,
    })) {
      for (const r of batch as unknown as { value: number }[]) cells += r.value
    }
    expect(cells).toBe(2 * 1024 * 1024 + 1)
  }, 60_000)
})

describe('reader limits: CNAF', () => {
  it('rejects a record holding a 300 MB text node as record_too_large, with bounded memory', async () => {
    const at = rich.indexOf('<NOMNAI>') + '<NOMNAI>'.length
    const file = await writeHuge(rich.slice(0, at), 'A', 300, rich.slice(at))
    const rssBefore = process.memoryUsage().rss
    const r = await rejection(cnaf(file))
    expect(r.code).toBe('record_too_large')
    expect(r.message).toMatch(/element larger than 1048576 bytes \(the flow's limits.max_record_bytes\)/)
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024)
  }, 60_000)

  it('rejects a text node over max_text_chars as text_too_long, naming the element and record', async () => {
    const file = await write(richWith('<NOMNAI>', `<NOMNAI>${'A'.repeat(70_000)}`))
    const r = await rejection(cnaf(file))
    expect(r.code).toBe('text_too_long')
    expect(r.message).toMatch(/record 0 \(line \d+\): over the flow's limit: text longer than 65536 characters in <NOMNAI>/)
  })

  it('rejects too many attributes and too deep a nesting, each with its rule', async () => {
    const attrs = Array.from({ length: 65 }, (_, i) => ` a${i}="1"`).join('')
    expect((await rejection(cnaf(await write(richWith('<InfosFoyerRSA>', `<InfosFoyerRSA${attrs}>`))))).code).toBe('too_many_attributes')
    const deep = `${'<X>'.repeat(40)}${'</X>'.repeat(40)}`
    expect((await rejection(cnaf(await write(richWith('</InfosFoyerRSA>', `${deep}</InfosFoyerRSA>`)))))).toMatchObject({ code: 'too_deep' })
    // Raised in the flow declaration, the same file reads (the unknown element is then a record-level matter).
    const events = cnaf(await write(richWith('</InfosFoyerRSA>', `${deep}</InfosFoyerRSA>`)), readerLimits({ max_depth: 64 }))
    for await (const _ of events) {
      // reads to the end
    }
  })

  it('reads a record behind 200,000 comments to the end when the limits allow it', async () => {
    const file = await write(richWith('</InfosFoyerRSA>', `${'<!---->'.repeat(200_000)}</InfosFoyerRSA>`))
    let records = 0
    for await (const e of cnaf(file, readerLimits({ max_record_bytes: 8 * 1024 * 1024 }))) if (e.type === 'records') records += e.records.length
    expect(records).toBe(rich.split('<InfosFoyerRSA>').length - 1)
  }, 60_000)

  it('never quotes a root or child element name the schema does not declare', async () => {
    const wrongRoot = await rejection(cnaf(await write(rich.replace('<Racine', '<RacineDUPONTJEAN').replace('</Racine>', '</RacineDUPONTJEAN>'))))
    expect(wrongRoot.message).toMatch(/root element is an unknown element, not <Racine>/)
    const child = await rejection(cnaf(await write(richWith('<InfosFoyerRSA>', '<InfosFoyerRSADUPONT>').replace('</InfosFoyerRSA>', '</InfosFoyerRSADUPONT>'))))
    expect(child.message).toMatch(/unexpected element an unknown element in <Racine>/)
    expect(`${wrongRoot.message} ${child.message}`).not.toMatch(/DUPONT/)
  })
})

describe('unexpected reader failures', () => {
  async function* failing(error: Error): AsyncGenerator<number> {
    yield 1
    throw error
  }

  it('become reader_failed file rejections naming the error class, never its message', async () => {
    const r = await rejection(guardReader(failing(new RangeError('Invalid string length near DUPONT 2737373737373')), 'x.csv'))
    expect(r).toMatchObject({ code: 'reader_failed', message: 'file "x.csv": the reader failed (RangeError) (rule reader_failed)' })
  })

  it('leave rejections, aborts and system errors as they are (the next run retries those)', async () => {
    const own = new FileRejection('truncated', 'file "x": cut')
    await expect(rejection(guardReader(failing(own), 'x'))).resolves.toBe(own)
    const io = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' })
    await expect(rejection(guardReader(failing(io), 'x'))).rejects.toBe(io)
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' })
    await expect(rejection(guardReader(failing(abort), 'x'))).rejects.toBe(abort)
  })
})

describe('flow declarations: limits', () => {
  it('every shipped flow declares its limits, equal to the defaults', () => {
    for (const file of ['caf-beneficiaires', 'msa-beneficiaires', 'france-travail', 'orientations']) {
      const flow = FlowSchema.parse(parseYaml(readFileSync(path.join(FLOWS, `${file}.yaml`), 'utf8')))
      expect(readerLimits(flow.limits)).toEqual(DEFAULT_READER_LIMITS)
      expect(Object.keys(flow.limits).sort()).toEqual(['max_attributes', 'max_depth', 'max_line_chars', 'max_record_bytes', 'max_text_chars'])
    }
  })

  it('refuses unknown, negative or absurd limits with the path named', () => {
    const base = parseYaml(readFileSync(path.join(FLOWS, 'caf-beneficiaires.yaml'), 'utf8')) as Record<string, unknown>
    for (const limits of [{ max_lines: 3 }, { max_depth: -1 }, { max_record_bytes: 10 }, { max_text_chars: 1.5 }]) {
      const parsed = FlowSchema.safeParse({ ...base, limits })
      expect(parsed.success).toBe(false)
      expect(parsed.error?.issues[0]?.path[0]).toBe('limits')
    }
    expect(readerLimits(FlowSchema.parse({ ...base, limits: undefined }).limits)).toEqual(DEFAULT_READER_LIMITS)
  })
})

describe('schema element names', () => {
  it('are exactly the element names the VRSB0801 schema declares', () => {
    const xsd = readFileSync(VRSB0801_XSD, 'utf8')
    const declared = new Set([...xsd.matchAll(/<xsd:element name="([A-Za-z0-9_]+)"/g)].map((m) => m[1]))
    expect([...VRSB0801_ELEMENT_NAMES].sort()).toEqual([...declared].sort())
  })
})

describe('quarantine decision', () => {
  it('fetches a new file and one with a single unfinished attempt; quarantines at two; skips a quarantined one', () => {
    expect(decideQuarantine(undefined)).toEqual({ action: 'fetch' })
    expect(decideQuarantine({ id: 1, status: 'watching', unfinishedAttempts: 1 })).toEqual({ action: 'fetch' })
    expect(decideQuarantine({ id: 1, status: 'watching', unfinishedAttempts: 2 })).toEqual({ action: 'quarantine', id: 1 })
    expect(decideQuarantine({ id: 1, status: 'quarantined', unfinishedAttempts: 2 })).toEqual({ action: 'skip', id: 1 })
    expect(decideQuarantine({ id: 1, status: 'released', unfinishedAttempts: 0 })).toEqual({ action: 'fetch' })
    expect(decideQuarantine({ id: 1, status: 'released', unfinishedAttempts: 2 })).toEqual({ action: 'quarantine', id: 1 })
  })
})
