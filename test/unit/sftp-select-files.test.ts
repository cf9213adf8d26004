import { describe, expect, it } from 'vitest'
import path from 'node:path'
import { loadFlows } from '../../src/flows/load-flows.ts'
import type { RemoteFile } from '../../src/sftp/connect.ts'
import { isControlFile, selectFiles } from '../../src/sftp/select-files.ts'

const now = new Date('2025-03-10T02:30:00Z')
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000)
const file = (name: string, ageSeconds = 3600, size = 100): RemoteFile => ({ name, size, modifiedAt: ago(ageSeconds) })
const caf = { pattern: '^[A-Za-z0-9_.-]*RSABE[MI][A-Za-z0-9_.-]*\\.(xml|XML|RCV)$', min_age_seconds: 120 }
const names = (files: RemoteFile[]) => files.map((f) => f.name)

describe('selectFiles', () => {
  it('takes the files whose whole name matches the flow pattern', () => {
    const { ready } = selectFiles([file('RSABEM_20250301.xml'), file('notes.txt'), file('RSABEI_1.xml.bak')], caf, now)
    expect(names(ready)).toEqual(['RSABEM_20250301.xml'])
  })

  it('anchors an unanchored pattern to the whole name', () => {
    const { ready } = selectFiles([file('a.csv'), file('a.csv.old'), file('xa.csv')], { pattern: 'a\\.csv', min_age_seconds: 0 }, now)
    expect(names(ready)).toEqual(['a.csv'])
  })

  it('holds back a file younger than min_age_seconds as still being written', () => {
    const selection = selectFiles([file('RSABEI_1.xml', 119), file('RSABEI_2.xml', 120), file('RSABEI_3.xml', -30)], caf, now)
    expect(names(selection.ready)).toEqual(['RSABEI_2.xml'])
    expect(selection.waiting.map((w) => [w.file.name, w.reason])).toEqual([
      ['RSABEI_1.xml', 'too_recent'],
      ['RSABEI_3.xml', 'too_recent'],
    ])
  })

  it('waits for the ready marker when the flow declares one, and never takes the marker itself', () => {
    const source = { pattern: '.*', min_age_seconds: 0, ready_marker_suffix: '.ok' }
    const selection = selectFiles([file('a.csv'), file('a.csv.ok'), file('b.csv')], source, now)
    expect(names(selection.ready)).toEqual(['a.csv'])
    expect(selection.waiting).toEqual([{ file: expect.objectContaining({ name: 'b.csv' }), reason: 'no_ready_marker' }])
  })

  it('never takes acknowledgements, hidden names or partial uploads, even when the pattern would', () => {
    const listing = ['x.csv.ack', 'x.csv.nack', '.x.csv.1a2b.tmp', '.hidden.csv', 'x.csv.part', 'x.csv.filepart', 'x.csv~', 'x.csv']
    const { ready, waiting } = selectFiles(listing.map((n) => file(n)), { pattern: '.*', min_age_seconds: 0 }, now)
    expect(names(ready)).toEqual(['x.csv'])
    expect(waiting).toEqual([])
  })

  it('orders the files to take oldest first, then by name', () => {
    const { ready } = selectFiles([file('RSABEI_c.xml', 500), file('RSABEI_b.xml', 900), file('RSABEI_a.xml', 500)], caf, now)
    expect(names(ready)).toEqual(['RSABEI_b.xml', 'RSABEI_a.xml', 'RSABEI_c.xml'])
  })
})

describe('isControlFile', () => {
  it('tells control files from data files', () => {
    expect(isControlFile('RSABEM.xml')).toBe(false)
    expect(isControlFile('RSABEM.xml.ACK')).toBe(true)
    expect(isControlFile('RSABEM.xml.done', '.done')).toBe(true)
    expect(isControlFile('RSABEM.xml.done')).toBe(false)
  })
})

describe('the shipped beneficiary flows select their producer’s file names', () => {
  const flows = loadFlows(path.resolve(import.meta.dirname, '../../flows'))
  const sourceOf = (id: string) => {
    const source = flows.get(id)?.source
    if (!source) throw new Error(`test setup: flow ${id} has no source`)
    return { ...source, min_age_seconds: 0 }
  }
  const listing = ['MSABEM.xml', 'MSABEI.xml', 'MSABEI_20250301.xml', 'CG005.RSABEM.anonyme.xml', 'RSABEI_1.RCV', 'MSABEX.xml', 'MSABEM.xml.bak', 'notes.txt']

  it('takes the MSA names of the public fixtures (MSABEM.xml, MSABEI.xml) on the msa flow, with the CNAF ones', () => {
    const { ready } = selectFiles(listing.map((n) => file(n)), sourceOf('msa-beneficiaires'), now)
    expect(names(ready).sort()).toEqual(['CG005.RSABEM.anonyme.xml', 'MSABEI.xml', 'MSABEI_20250301.xml', 'MSABEM.xml', 'RSABEI_1.RCV'])
  })

  it('keeps the caf flow to CNAF names: an MSA file is not taken by it', () => {
    const { ready } = selectFiles(listing.map((n) => file(n)), sourceOf('caf-beneficiaires'), now)
    expect(names(ready).sort()).toEqual(['CG005.RSABEM.anonyme.xml', 'RSABEI_1.RCV'])
  })
})
