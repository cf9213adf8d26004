import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { assertKeysApart, loadExtractKey } from '../../src/statistics/extract-keys.ts'
import { base32, derivePseudonymKey, encodePseudonym, extractPseudonym, PSEUDONYM_DIGEST_BYTES, writePseudonym } from '../../src/statistics/pseudonym.ts'
import { startDigestWorker } from '../../src/statistics/pseudonym-worker.ts'

const keyA = Buffer.alloc(32, 7)
const keyB = Buffer.alloc(32, 8)

describe('extract pseudonyms', () => {
  it('are 16 base32 characters, stable for one recipient and purpose', () => {
    const k = derivePseudonymKey(keyA, 'statistiques', 'drees')
    const p = extractPseudonym(k, 'match-key-1')
    expect(p).toMatch(/^[a-z2-7]{16}$/)
    expect(extractPseudonym(derivePseudonymKey(keyA, 'statistiques', 'drees'), 'match-key-1')).toBe(p)
  })

  it('differ between recipients, purposes and key versions', () => {
    const person = 'match-key-1'
    const drees = extractPseudonym(derivePseudonymKey(keyA, 'statistiques', 'drees'), person)
    expect(extractPseudonym(derivePseudonymKey(keyA, 'statistiques', 'observatoire'), person)).not.toBe(drees)
    expect(extractPseudonym(derivePseudonymKey(keyA, 'autre-etude', 'drees'), person)).not.toBe(drees)
    expect(extractPseudonym(derivePseudonymKey(keyB, 'statistiques', 'drees'), person)).not.toBe(drees)
  })

  it('packs the same characters as the string form', () => {
    const k = derivePseudonymKey(keyA, 'statistiques', 'drees')
    const target = Buffer.alloc(40)
    writePseudonym(k, 'match-key-2', target, 8)
    expect(target.toString('latin1', 8, 24)).toBe(extractPseudonym(k, 'match-key-2'))
  })

  it('come out the same from the worker thread as inline', async () => {
    const k = derivePseudonymKey(keyA, 'statistiques', 'drees')
    const keys = Array.from({ length: 1000 }, (_, i) => `match-key-${i}-é`)
    const worker = startDigestWorker(k)
    try {
      const digests = await worker.digests(keys)
      const target = Buffer.alloc(16)
      keys.forEach((key, i) => {
        encodePseudonym(digests, i * PSEUDONYM_DIGEST_BYTES, target, 0)
        expect(target.toString('latin1')).toBe(extractPseudonym(k, key))
      })
    } finally {
      await worker.close()
    }
  })

  it('encodes base32 as RFC 4648', () => {
    expect(base32(Buffer.from('fooba'), 8)).toBe('mzxw6ytb')
  })
})

describe('extract keys', () => {
  it('takes the highest version from files and variables', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keys-'))
    writeFileSync(path.join(dir, 'drees.v1.key'), keyA.toString('base64') + '\n', { mode: 0o600 })
    writeFileSync(path.join(dir, 'drees.v3.key'), keyB, { mode: 0o600 })
    writeFileSync(path.join(dir, 'other.v9.key'), keyB.toString('base64'), { mode: 0o600 })
    const env = { PASSERELLE_EXTRACT_KEYS_DIR: dir, PASSERELLE_EXTRACT_KEY_DREES_V2: keyA.toString('base64') }
    const current = loadExtractKey('drees', env)
    expect(current.version).toBe(3)
    expect(current.key.equals(keyB)).toBe(true)
    expect(loadExtractKey('drees', env, 2).source).toBe('PASSERELLE_EXTRACT_KEY_DREES_V2')
  })

  it('says how to create a missing key, without any value', () => {
    expect(() => loadExtractKey('observatoire-93', {})).toThrow(/observatoire-93\.v1\.key.*PASSERELLE_EXTRACT_KEY_OBSERVATOIRE_93_V1/)
  })

  it('refuses a key that is not 32 bytes', () => {
    expect(() => loadExtractKey('drees', { PASSERELLE_EXTRACT_KEY_DREES_V1: 'c2hvcnQ=' })).toThrow(/32 random bytes/)
  })

  it('refuses to write extracts into the keys folder', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keys-'))
    mkdirSync(path.join(dir, 'out'))
    expect(() => assertKeysApart(path.join(dir, 'out'), { PASSERELLE_EXTRACT_KEYS_DIR: dir })).toThrow(/overlap/)
    expect(() => assertKeysApart(path.join(tmpdir(), 'elsewhere'), { PASSERELLE_EXTRACT_KEYS_DIR: dir })).not.toThrow()
  })
})
