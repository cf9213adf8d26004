import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FlowSchema } from '../../src/flows/flow.ts'
import { loadFlows } from '../../src/flows/load-flows.ts'
import { readCnafFile, type CnafEvent, type ReadCnafFileOptions } from '../../src/ingestion/cnaf/read-cnaf-file.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'

/**
 * IdentificationFlux.NATFLUX (D bénéficiaires, I instruction, R nouveau recueil) and TYPEFLUX are checked against
 * the flow before anything else is read: an instruction file (VIRS0901: no DTREF, InfoDemandeRSA records) on a
 * beneficiary flow is refused for its nature, not for a missing DTREF or an unexpected element.
 */
const flows = loadFlows(path.resolve(import.meta.dirname, '../../flows'))
const OPTIONS: ReadCnafFileOptions = { fallbackEncoding: 'windows-1252', organismes: ['CAF'], fileLabel: 'RSABEM.test.xml' }
/** A value planted in the header that no message may quote. */
const SENTINEL = 'Q'

let dir: string
let counter = 0
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'passerelle-cnaf-nature-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** An instruction-shaped file as far as the public sources describe it: no DTREF, InfoDemandeRSA, NBTOTDEMRSATRANSM. */
function instructionFile(natflux: string, typeflux = 'I'): string {
  return [
    '<?xml version="1.0" encoding="windows-1252"?>',
    '<Racine>',
    `<IdentificationFlux><APPLIEME>CRI</APPLIEME><NUMVERSIONAPPLIEME>6200</NUMVERSIONAPPLIEME><TYPEFLUX>${typeflux}</TYPEFLUX><NATFLUX>${natflux}</NATFLUX><DTCREAFLUX>2024-03-05</DTCREAFLUX><HEUCREAFLUX>01:18:36.0000</HEUCREAFLUX></IdentificationFlux>`,
    '<InfoDemandeRSA><IdentificationRSA><DemandeRSA><DTDEMRSA>2024-02-01</DTDEMRSA><NUMDEMRSA>00000000001</NUMDEMRSA></DemandeRSA></IdentificationRSA></InfoDemandeRSA>',
    '<TransmissionFlux><NBTOTDEMRSATRANSM>1</NBTOTDEMRSATRANSM></TransmissionFlux>',
    '</Racine>',
    '',
  ].join('\n')
}

async function rejectionOf(content: string, options: Partial<ReadCnafFileOptions> = {}): Promise<{ rejection: FileRejection; events: CnafEvent[] }> {
  const file = path.join(dir, `nature-${counter++}.xml`)
  await writeFile(file, content, 'latin1')
  const events: CnafEvent[] = []
  try {
    for await (const event of readCnafFile(file, { ...OPTIONS, ...options })) events.push(event)
  } catch (error) {
    if (error instanceof FileRejection) return { rejection: error, events }
    throw error
  }
  throw new Error('test setup: the file was not rejected')
}

describe('the nature of a CNAF file against its flow', () => {
  it('refuses an instruction file (NATFLUX=I) on the beneficiary flow for its nature, before the header schema or any record', async () => {
    const { rejection, events } = await rejectionOf(instructionFile('I'))
    expect(rejection.code).toBe('wrong_flow_nature')
    expect(rejection.message).toContain('instruction flow (NATFLUX=I) on a beneficiary flow')
    expect(rejection.message).not.toMatch(/DTREF|unexpected|InfoDemandeRSA/)
    expect(rejection.where.line).toBe(3)
    expect(events).toEqual([])
  })

  it('refuses a nouveau recueil file (NATFLUX=R) on the beneficiary flow', async () => {
    const { rejection } = await rejectionOf(instructionFile('R'))
    expect(rejection.code).toBe('wrong_flow_nature')
    expect(rejection.message).toContain('nouveau recueil flow (NATFLUX=R) on a beneficiary flow')
  })

  it('names an unknown NATFLUX without quoting it', async () => {
    const { rejection } = await rejectionOf(instructionFile(SENTINEL))
    expect(rejection.code).toBe('wrong_flow_nature')
    expect(rejection.message).toContain('an unknown NATFLUX on a beneficiary flow')
    expect(rejection.message).not.toContain(`=${SENTINEL}`)
    expect(rejection.message).not.toContain(`${SENTINEL})`)
  })

  it('refuses a TYPEFLUX the flow does not declare, naming only known codes (one outside the code list is a bad header)', async () => {
    const { rejection } = await rejectionOf(instructionFile('D', 'R'), { expected: { natflux: ['D'], typeflux: ['M', 'I'] } })
    expect(rejection.code).toBe('wrong_flow_type')
    expect(rejection.message).toContain('reprise file (TYPEFLUX=R) on a flow that takes TYPEFLUX=M or I')
    const unknown = await rejectionOf(instructionFile('D', SENTINEL), { expected: { natflux: ['D'], typeflux: ['M', 'I'] } })
    expect(unknown.rejection.code).toBe('bad_header')
    expect(unknown.rejection.message).toContain('IdentificationFlux.TYPEFLUX: code_list:TYPEFLUX')
  })

  it('takes the nature the flow declares: an instruction flow passes the nature check and fails on what follows', async () => {
    const { rejection } = await rejectionOf(instructionFile('I'), { expected: { natflux: ['I'], typeflux: ['M', 'I', 'R'] } })
    expect(rejection.code).not.toBe('wrong_flow_nature')
  })
})

describe('the flow declaration of file natures', () => {
  it('declares NATFLUX=D and every TYPEFLUX on the shipped beneficiary flows', () => {
    for (const id of ['caf-beneficiaires', 'msa-beneficiaires']) {
      const format = flows.get(id)?.format
      expect(format?.type).toBe('cnaf-vrsb0801')
      if (format?.type !== 'cnaf-vrsb0801') continue
      expect(format.natflux).toEqual(['D'])
      expect(format.typeflux).toEqual(['M', 'I', 'R'])
    }
  })

  const declaration = (format: Record<string, unknown>) => ({
    title: 't',
    producer: 'CAF',
    schedule: '30 2 * * *',
    retention: 'r',
    format: { type: 'cnaf-vrsb0801', organismes: ['CAF'], ...format },
  })

  it('defaults to NATFLUX=D and every TYPEFLUX, and refuses a nature or type outside the code lists', () => {
    const parsed = FlowSchema.parse(declaration({}))
    expect(parsed.format).toMatchObject({ natflux: ['D'], typeflux: ['M', 'I', 'R'] })
    expect(FlowSchema.safeParse(declaration({ natflux: ['X'] })).success).toBe(false)
    expect(FlowSchema.safeParse(declaration({ natflux: [] })).success).toBe(false)
    expect(FlowSchema.safeParse(declaration({ typeflux: ['D'] })).success).toBe(false)
  })
})
