import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashIds, retentionReceipt } from '../../src/retention/receipt.ts'

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(full)
    return e.name.endsWith('.ts') ? [full] : []
  })
}

describe('the archive is out of reach', () => {
  it('only the retention feature, the break-glass command and the data-subject rights name the archive tables', () => {
    // Data-subject rights read the archive for an access request (art. 15) and erase from it (art. 17), audited.
    const allowed = [path.join('src', 'retention') + path.sep, path.join('src', 'cli', 'commands', 'archive.ts'), path.join('src', 'rights') + path.sep]
    const archiveTable = /\barchive\.(dossiers|persons|dossier_members|france_travail_registrations|state_changes|assignments)\b/
    const offenders = sourceFiles('src')
      .filter((file) => archiveTable.test(readFileSync(file, 'utf8')))
      .filter((file) => !allowed.some((a) => file.startsWith(a) || file === a))
    expect(offenders).toEqual([])
  })
})

describe('destruction receipts', () => {
  it('hash the sorted internal ids, whatever their order', () => {
    expect(hashIds(['dossiers:2', 'dossiers:10', 'persons:1'])).toBe(hashIds(['persons:1', 'dossiers:10', 'dossiers:2']))
    expect(hashIds(['dossiers:2'])).not.toBe(hashIds(['dossiers:3']))
    expect(hashIds([])).toMatch(/^[0-9a-f]{64}$/)
  })

  it('carry policy, phase, cutoff, counts and the hash, and no id in clear', () => {
    const receipt = retentionReceipt({
      action: 'retention.destroy',
      runId: 'run-1',
      policyId: 'france-travail',
      phase: 'archive',
      anchorCutoff: '2020-01-15',
      today: '2026-01-15',
      counts: { 'archive.france_travail_registrations': 2 },
      keys: ['archive.france_travail_registrations:41', 'archive.france_travail_registrations:42'],
      occurredAt: new Date('2026-01-15T02:00:00Z'),
      chunk: 0,
    })
    expect(receipt).toMatchObject({ action: 'retention.destroy', subject: null, outcome: 'done', requestId: 'run-1' })
    expect(receipt.details).toEqual({
      policy: 'france-travail',
      phase: 'archive',
      anchorCutoff: '2020-01-15',
      today: '2026-01-15',
      counts: { 'archive.france_travail_registrations': 2 },
      ids: { count: 2, sha256: hashIds(['archive.france_travail_registrations:41', 'archive.france_travail_registrations:42']) },
      chunk: 0,
    })
    expect(JSON.stringify(receipt)).not.toMatch(/:4[12]\b/)
  })
})
