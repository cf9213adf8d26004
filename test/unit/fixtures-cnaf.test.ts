import { VRSB0801_XSD } from '../helpers/xsd.ts'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cnafFileName, defaultDtref, writeCnafFile, type CnafFileOptions, type CnafFileReport } from '../../src/fixtures/cnaf/write-cnaf-file.ts'
import { dailyChange, foyer } from '../../src/fixtures/population.ts'
import { readCnafFile } from '../../src/ingestion/cnaf/read-cnaf-file.ts'
import type { CnafFoyer } from '../../src/ingestion/cnaf/foyer.ts'
import type { ParsedRecord } from '../../src/ingestion/records/parsed-record.ts'
import { checkNir, isNir13 } from '../../src/ingestion/validation/nir.ts'

const XSD = VRSB0801_XSD
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0 && existsSync(XSD)
if (!hasXmllint) console.log('[passerelle tests] xmllint or vrsb0801.xsd not found: the XSD validation tests are skipped')

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'passerelle-fixtures-cnaf-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const base = { dtcreaflux: '2026-11-03' } as const

async function toBuffer(options: CnafFileOptions): Promise<{ bytes: Buffer; report: CnafFileReport }> {
  const sink = new PassThrough()
  const parts: Buffer[] = []
  sink.on('data', (part: Buffer) => parts.push(part))
  const report = await writeCnafFile(sink, options)
  return { bytes: Buffer.concat(parts), report }
}

async function toFile(name: string, options: CnafFileOptions): Promise<{ file: string; report: CnafFileReport }> {
  const file = path.join(dir, name)
  return { file, report: await writeCnafFile(file, options) }
}

/** The file as text (latin1 keeps one char per byte: enough for tags, digits and ASCII codes). */
const text = (bytes: Buffer) => bytes.toString('latin1')
const records = (xml: string) => xml.split('</InfosFoyerRSA>').slice(0, -1)
const values = (xml: string, element: string) => [...xml.matchAll(new RegExp(`<${element}>([^<]*)</${element}>`, 'g'))].map((m) => m[1] as string)

async function xmllint(file: string): Promise<{ ok: boolean; output: string }> {
  const run = promisify(execFile)
  try {
    const { stderr } = await run('xmllint', ['--noout', '--schema', XSD, file], { maxBuffer: 1 << 20 })
    return { ok: true, output: stderr }
  } catch (error) {
    // Never echo the file: xmllint's message names line and element only, values are cut.
    return { ok: false, output: String((error as { stderr?: string }).stderr ?? error).slice(0, 2000) }
  }
}

async function readAll(file: string): Promise<{ records: ParsedRecord<CnafFoyer>[]; rejection?: string }> {
  const out: ParsedRecord<CnafFoyer>[] = []
  try {
    for await (const event of readCnafFile(file, { fallbackEncoding: 'windows-1252', organismes: ['CAF', 'MSA'], fileLabel: path.basename(file) })) {
      if (event.type === 'records') out.push(...event.records)
    }
    return { records: out }
  } catch (error) {
    return { records: out, rejection: (error as Error).message }
  }
}

describe('CNAF VRSB0801 file writer', () => {
  it('writes the same bytes for the same seed, other bytes for another seed', async () => {
    const options: CnafFileOptions = { flow: 'caf', seed: 11, typeflux: 'M', foyers: 120, ...base }
    const a = await toBuffer(options)
    const b = await toBuffer(options)
    const c = await toBuffer({ ...options, seed: 12 })
    expect(a.bytes.equals(b.bytes)).toBe(true)
    expect(a.bytes.equals(c.bytes)).toBe(false)
    const onDisk = await toFile('same.xml', options)
    expect((await readFile(onDisk.file)).equals(a.bytes)).toBe(true)
  })

  it.skipIf(!hasXmllint)(
    'validates against vrsb0801.xsd: CAF and MSA, stock and daily, realistic and minimal, several seeds',
    async () => {
      const failures: string[] = []
      for (const seed of [1, 2, 3]) {
        for (const flow of ['caf', 'msa'] as const) {
          for (const typeflux of ['M', 'I'] as const) {
            for (const minimal of [false, true]) {
              const name = `${flow}-${typeflux}-${minimal ? 'min' : 'full'}-${seed}.xml`
              const { file } = await toFile(name, {
                flow,
                seed,
                typeflux,
                minimal,
                departement: seed === 3 ? '2A' : seed === 2 ? '34' : '93',
                ...(typeflux === 'M' ? { foyers: 400 } : { indices: [5, 3, 900, 12, 40_000, 77, 401, 0, 1, 2] }),
                ...base,
              })
              const result = await xmllint(file)
              if (!result.ok) failures.push(`${name}: ${result.output}`)
            }
          }
        }
      }
      expect(failures).toEqual([])
    },
    120_000,
  )

  it('writes windows-1252 bytes under a windows-1252 declaration', async () => {
    const { bytes } = await toBuffer({ flow: 'caf', seed: 4, typeflux: 'M', foyers: 300, ...base })
    expect(text(bytes.subarray(0, 60))).toMatch(/^<\?xml version="1\.0" encoding="windows-1252"\?>\n<Racine /)
    expect(bytes.includes(Buffer.from([0xe9]))).toBe(true) // é
    expect(bytes.includes(Buffer.from([0xc3, 0xa9]))).toBe(false) // no UTF-8 é
    expect(bytes.includes(Buffer.from('Cl\xe9ment', 'latin1')) || bytes.includes(Buffer.from('H\xe9l\xe8ne', 'latin1')) || bytes.includes(Buffer.from([0xe8]))).toBe(true)
  })

  it('has the quirks of real files: padded TYPEPARTE, empty elements, zero-padded amounts and counters, HEUCREAFLUX', async () => {
    const caf = text((await toBuffer({ flow: 'caf', seed: 5, typeflux: 'M', foyers: 200, ...base })).bytes)
    const msa = text((await toBuffer({ flow: 'msa', seed: 5, typeflux: 'M', foyers: 200, ...base })).bytes)
    expect(values(caf, 'TYPEPARTE').every((v) => v === 'CG  ')).toBe(true)
    expect(caf).toContain('<COMPLIDEADR />')
    expect(msa).toContain('<COMPLIDEADR/>')
    expect(values(caf, 'MTTOTDRORSA').every((v) => /^\d{7}\.\d{2}$/.test(v))).toBe(true)
    expect(values(caf, 'MTNATRESSMEN').every((v) => /^\d{7}\.\d{2}$/.test(v))).toBe(true)
    expect(values(caf, 'NBTOTDOSRSATRANSM')).toEqual(['00000200'])
    expect(values(caf, 'RGADR').every((v) => /^0[1-3]$/.test(v))).toBe(true)
    expect(values(caf, 'HEUCREAFLUX')[0]).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{4}$/)
    expect(values(caf, 'APPLIEME')).toEqual(['CRI'])
    expect(values(msa, 'APPLIEME')).toEqual(['AGO'])
    expect(new Set(values(msa, 'FONORG'))).toEqual(new Set(['MSA']))
    expect(new Set(values(msa, 'NUMORG')).size).toBeGreaterThan(2)
    expect(values(msa, 'REGAGRIFAM').length).toBe(200)
    expect(values(caf, 'DTREF')).toEqual([defaultDtref('M', base.dtcreaflux)])
    expect(values(caf, 'IDASSEDIC').length).toBeGreaterThan(0)
  })

  it('writes every NIR on 13 characters or with its right key, and matches the population', async () => {
    const xml = text((await toBuffer({ flow: 'caf', seed: 6, typeflux: 'M', foyers: 500, ...base })).bytes)
    const nirs = values(xml, 'NIR')
    const bad = nirs.map((nir, i) => ({ i, ok: nir.length === 13 ? isNir13(nir) : checkNir(nir).ok })).filter((n) => !n.ok)
    expect(bad.map((n) => n.i)).toEqual([])
    expect(nirs.some((n) => n.length === 15)).toBe(true)
    expect(nirs.some((n) => n.length === 13)).toBe(true)
    const numdem = values(xml, 'NUMDEMRSA')
    expect(numdem.every((n, i) => n === foyer(6, i).numdemrsa)).toBe(true)
  })

  it('averages 2.5 to 4 KB per foyer in the realistic shape, less when minimal', async () => {
    for (const [flow, seed] of [['caf', 7], ['msa', 8], ['caf', 9]] as const) {
      const full = await toBuffer({ flow, seed, typeflux: 'M', foyers: 2000, ...base })
      const perFoyer = full.report.bytes / full.report.foyers
      expect(perFoyer, `${flow} seed ${seed}`).toBeGreaterThan(2500)
      expect(perFoyer, `${flow} seed ${seed}`).toBeLessThan(4000)
      const xml = text(full.bytes)
      expect(values(xml, 'MOISRESS').length).toBeGreaterThan(2000 * 0.2 * 3)
      expect(xml.split('<RessourcesMensuelles>').length - 1).toBe(values(xml, 'MOISRESS').length)
      expect(xml).toContain('<Activite>')
      expect(xml).toContain('<DetailCalculDroitRSA>')
      expect(xml).toContain('<Rattachement>')
      expect(xml.split('<Adresse>').length - 1).toBeGreaterThan(2000)
      const minimal = await toBuffer({ flow, seed, typeflux: 'M', foyers: 2000, minimal: true, ...base })
      expect(minimal.report.bytes).toBeLessThan(full.report.bytes * 0.7)
      expect(text(minimal.bytes)).not.toContain('<Ressources>')
      expect(minimal.report.persons).toBe(full.report.persons)
    }
  })

  it('sends the given foyers in a daily file, changed as of DTREF, with Evenement blocks', async () => {
    const indices = [42, 7, 1000, 3]
    const { bytes, report } = await toBuffer({ flow: 'caf', seed: 10, typeflux: 'I', indices, ...base })
    const xml = text(bytes)
    expect(values(xml, 'TYPEFLUX')).toEqual(['I'])
    expect(values(xml, 'DTREF')).toEqual([base.dtcreaflux])
    expect(values(xml, 'NUMDEMRSA')).toEqual(indices.map((i) => foyer(10, i).numdemrsa))
    expect(values(xml, 'ETATDOSRSA')).toEqual(indices.map((i) => dailyChange(foyer(10, i), 10, base.dtcreaflux).etatdosrsa))
    expect(records(xml).every((r) => r.includes('<Evenement>'))).toBe(true)
    expect(values(xml, 'DTLIQ').every((d) => d === base.dtcreaflux)).toBe(true)
    expect(report.foyers).toBe(4)
  })

  it('reads back through the project parser: every record accepted, same foyers as the population', async () => {
    const { file, report } = await toFile('roundtrip.xml', { flow: 'msa', seed: 13, typeflux: 'M', foyers: 300, departement: '34', ...base })
    const { records: parsed, rejection } = await readAll(file)
    expect(rejection).toBeUndefined()
    expect(parsed.filter((r) => !r.ok).map((r) => (r.ok ? -1 : r.recordIndex))).toEqual([])
    expect(parsed).toHaveLength(300)
    const mismatches = parsed.flatMap((r, i) => {
      if (!r.ok) return [i]
      const expected = foyer(13, i, { organisme: 'MSA', departement: '34' })
      const same =
        r.value.numdemrsa === expected.numdemrsa &&
        r.value.etatdosrsa === expected.etatdosrsa &&
        r.value.personnes.length === expected.personnes.length &&
        r.value.personnes.every((p, k) => p.nir13 === expected.personnes[k]?.nir13 && p.dtnai === expected.personnes[k]?.dtnai)
      return same ? [] : [i]
    })
    expect(mismatches).toEqual([])
    expect(report.persons).toBe(parsed.reduce((n, r) => n + (r.ok ? r.value.personnes.length : 0), 0))
  })
})

describe('CNAF defects', () => {
  it('badNirKey: the records it names carry a 15-character NIR with a wrong key, and only those', async () => {
    const { file, report } = await toFile('bad-nir.xml', { flow: 'caf', seed: 14, typeflux: 'M', foyers: 200, defects: { badNirKey: { every: 20 } }, ...base })
    const hits = report.defects.badNirKey ?? []
    expect(hits.length).toBeGreaterThanOrEqual(9)
    const xml = text(await readFile(file))
    const wrong = records(xml)
      .map((r, i) => ({ i, bad: values(r, 'NIR').filter((n) => n.length === 15 && !checkNir(n).ok).length }))
      .filter((r) => r.bad > 0)
    expect(wrong.map((r) => r.i)).toEqual(hits.map((h) => h.recordIndex))
    expect(wrong.every((r) => r.bad === 1)).toBe(true)
    const { records: parsed } = await readAll(file)
    const rejected = parsed.filter((r) => !r.ok)
    expect(rejected.map((r) => (r.ok ? -1 : r.recordIndex))).toEqual(hits.map((h) => h.recordIndex))
    expect(rejected.every((r) => !r.ok && r.issues.some((issue) => issue.rule === 'nir_key'))).toBe(true)
  })

  it('unknownCode: the records it names carry ETATDOSRSA 9 or ROLEPERS XXX, and only those', async () => {
    const { file, report } = await toFile('unknown.xml', { flow: 'msa', seed: 15, typeflux: 'M', foyers: 100, defects: { unknownCode: { every: 10 } }, ...base })
    const hits = report.defects.unknownCode ?? []
    expect(hits).toHaveLength(10)
    expect(new Set(hits.map((h) => h.field))).toEqual(new Set(['ETATDOSRSA', 'ROLEPERS']))
    const xml = text(await readFile(file))
    const odd = records(xml)
      .map((r, i) => ({ i, etat: values(r, 'ETATDOSRSA').includes('9'), role: values(r, 'ROLEPERS').includes('XXX') }))
      .filter((r) => r.etat || r.role)
    expect(odd.map((r) => r.i)).toEqual(hits.map((h) => h.recordIndex))
    expect(odd.map((r) => (r.etat ? 'ETATDOSRSA' : 'ROLEPERS'))).toEqual(hits.map((h) => h.field))
    const { records: parsed } = await readAll(file)
    expect(parsed.filter((r) => !r.ok).map((r) => (r.ok ? -1 : r.recordIndex))).toEqual(hits.map((h) => h.recordIndex))
  })

  it('countMismatch: the trailer declares another count than the records', async () => {
    const { file, report } = await toFile('count.xml', { flow: 'caf', seed: 16, typeflux: 'M', foyers: 30, defects: { countMismatch: { delta: -2 } }, ...base })
    expect(report.defects.countMismatch).toEqual({ declared: 28, actual: 30 })
    const xml = text(await readFile(file))
    expect(values(xml, 'NBTOTDOSRSATRANSM')).toEqual(['00000028'])
    expect(records(xml)).toHaveLength(30)
    const { rejection } = await readAll(file)
    expect(rejection).toMatch(/NBTOTDOSRSATRANSM/)
  })

  it('truncate: the file stops at the byte it names, inside a record, without trailer', async () => {
    const full = await toBuffer({ flow: 'caf', seed: 17, typeflux: 'M', foyers: 400, ...base })
    const { file, report } = await toFile('cut.xml', { flow: 'caf', seed: 17, typeflux: 'M', foyers: 400, defects: { truncate: { fraction: 0.5 } }, ...base })
    const bytes = await readFile(file)
    const cut = report.defects.truncated
    expect(cut?.fullBytes).toBe(full.bytes.length)
    expect(cut?.atByte).toBe(Math.floor(full.bytes.length * 0.5))
    expect(bytes.length).toBe(cut?.atByte)
    expect(bytes.equals(full.bytes.subarray(0, bytes.length))).toBe(true)
    expect(records(text(bytes))).toHaveLength(cut?.completeRecords as number)
    expect(text(bytes)).not.toContain('</Racine>')
    expect(report.declaredCount).toBeUndefined()
    const atByte = await toFile('cut-at.xml', { flow: 'caf', seed: 17, typeflux: 'M', foyers: 400, defects: { truncate: { atByte: 5000 } }, ...base })
    expect((await stat(atByte.file)).size).toBe(5000)
    const { rejection } = await readAll(file)
    expect(rejection).toMatch(/truncated/)
    if (hasXmllint) expect((await xmllint(file)).ok).toBe(false)
  })
})

describe('CNAF writer resources', () => {
  it('waits for a slow destination instead of buffering the file', async () => {
    let maxBuffered = 0
    let written = 0
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length
        setTimeout(callback, 2)
      },
    })
    const probe = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, slow.writableLength)
    }, 1)
    const report = await writeCnafFile(slow, { flow: 'caf', seed: 18, typeflux: 'M', foyers: 3000, ...base })
    clearInterval(probe)
    expect(written).toBe(report.bytes)
    expect(report.bytes).toBeGreaterThan(8 * 1024 * 1024)
    expect(maxBuffered).toBeLessThanOrEqual(2 * 1024 * 1024 + 64 * 1024)
    expect(slow.writableFinished).toBe(true)
  })

  it('generates 20,000 foyers in a process capped at 32 MB of heap', async () => {
    const script = path.join(dir, 'bounded.mts')
    const target = path.join(dir, 'bounded.xml')
    const module = path.join(ROOT, 'src/fixtures/cnaf/write-cnaf-file.ts')
    await writeFile(
      script,
      `import { writeCnafFile } from ${JSON.stringify(module)}\n` +
        `const r = await writeCnafFile(${JSON.stringify(target)}, { flow: 'caf', seed: 19, typeflux: 'M', foyers: 20000, dtcreaflux: '2026-11-03' })\n` +
        `process.stdout.write(JSON.stringify({ bytes: r.bytes, foyers: r.foyers }))\n`,
    )
    const result = spawnSync(process.execPath, ['--max-old-space-size=32', '--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
    expect(result.status, result.stderr.slice(0, 500)).toBe(0)
    const out = JSON.parse(result.stdout) as { bytes: number; foyers: number }
    expect(out.foyers).toBe(20_000)
    expect(out.bytes).toBeGreaterThan(50 * 1024 * 1024)
    expect((await stat(target)).size).toBe(out.bytes)
    await rm(target)
  }, 120_000)

  it('names files like the CNAF deliveries and derives DTREF', () => {
    expect(cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: '2026-11-01' })).toBe('CAF093.RSABEM.20261101.xml')
    expect(cnafFileName({ flow: 'msa', typeflux: 'I', departement: '2a', dtcreaflux: '2026-11-04' })).toBe('MSA02A.RSABEI.20261104.xml')
    expect(defaultDtref('M', '2026-11-03')).toBe('2026-10-31')
    expect(defaultDtref('I', '2026-11-03')).toBe('2026-11-03')
  })

  it('refuses inconsistent options with a clear message', async () => {
    await expect(toBuffer({ flow: 'caf', seed: 1, typeflux: 'M', ...base })).rejects.toThrow(/needs foyers/)
    await expect(toBuffer({ flow: 'caf', seed: 1, typeflux: 'I', ...base })).rejects.toThrow(/needs indices/)
    await expect(toBuffer({ flow: 'caf', seed: 1, typeflux: 'M', foyers: 1, dtcreaflux: '2026-13-01' })).rejects.toThrow(/YYYY-MM-DD|calendar/)
  })
})
