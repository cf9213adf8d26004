import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, redactConfig } from '../../src/config/config.ts'
import { loadKeys, MissingKeysError, parseSigningKey } from '../../src/crypto/keys.ts'
import { decryptNir, encryptNir } from '../../src/crypto/nir-cipher.ts'
import { checkNir, nirKey } from '../../src/ingestion/validation/nir.ts'

const dirs: string[] = []
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'passerelle-keys-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('configuration', () => {
  it('lists every invalid variable at once, without echoing a value', () => {
    const secret = 'c2hvcnQ='
    try {
      loadConfig({ PASSERELLE_NIR_KEY: secret, PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'not a url' })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      const problems = (error as ConfigError).problems.join('\n')
      for (const name of ['PASSERELLE_NIR_KEY', 'PORT', 'LOG_LEVEL', 'DATABASE_URL']) expect(problems).toContain(name)
      expect(problems).not.toContain(secret)
    }
  })

  it('redacts keys and the database password when printed', () => {
    const key = Buffer.alloc(32, 7).toString('base64')
    const shown = JSON.stringify(redactConfig(loadConfig({ DATABASE_URL: 'postgres://app:hunter2@db:5432/p', PASSERELLE_NIR_KEY: key })))
    expect(shown).not.toContain('hunter2')
    expect(shown).not.toContain(key)
  })
})

describe('keys', () => {
  it('generates the keys once into the data directory, mode 600, on the embedded default, and says so', () => {
    const dataDir = tempDir()
    const told: string[] = []
    const config = { databaseUrl: undefined, dataDir, keys: {} }
    const first = loadKeys(config, (file) => told.push(file))
    expect(told).toEqual([path.join(dataDir, 'keys.json')])
    expect(statSync(told[0]!).mode & 0o777).toBe(0o600)
    const second = loadKeys(config, (file) => told.push(file))
    expect(told).toHaveLength(1)
    expect(second.nir.equals(first.nir) && second.index.equals(first.index) && second.pseudonym.equals(first.pseudonym)).toBe(true)
    expect(Object.keys(JSON.parse(readFileSync(told[0]!, 'utf8'))).sort()).toEqual(['auditSigning', 'index', 'nir', 'pseudonym'])
    // The audit checkpoint signing key is generated with the others, and the same one is read back.
    expect(second.audit.verifying.export({ format: 'der', type: 'spki' }).equals(first.audit.verifying.export({ format: 'der', type: 'spki' }))).toBe(true)
    expect(first.audit.signing.asymmetricKeyType).toBe('ed25519')
  })

  it('refuses a damaged keys.json naming the file and the key, never echoing a piece of it', () => {
    const dataDir = tempDir()
    const config = { databaseUrl: undefined, dataDir, keys: {} }
    const good = JSON.parse((loadKeys(config), readFileSync(path.join(dataDir, 'keys.json'), 'utf8'))) as Record<string, string>
    const file = path.join(dataDir, 'keys.json')
    const cases: [string, RegExp][] = [
      [`nir=${good.nir}\n`, /keys\.json: not valid JSON/],
      ['[]', /keys\.json: not a JSON object of keys/],
      [JSON.stringify({ ...good, nir: 'AAAA' }), /keys\.json: key "nir" is not 32 bytes in base64/],
      [JSON.stringify({ ...good, index: 7 }), /keys\.json: key "index" is not a text/],
      [JSON.stringify({ ...good, auditSigning: "AAAA" }), /keys\.json: key "auditSigning" is not an Ed25519 private key/],
    ]
    for (const [text, message] of cases) {
      writeFileSync(file, text)
      let error: unknown
      try {
        loadKeys(config)
      } catch (e) {
        error = e
      }
      expect(error, text.slice(0, 20)).toBeInstanceOf(MissingKeysError)
      expect((error as Error).message).toMatch(message)
      for (const value of Object.values(good)) expect((error as Error).message).not.toContain(value.slice(0, 6))
    }
  })

  it('reads the audit signing key as PEM text, a PEM file path or DER in base64, and refuses anything else without echoing it', () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    const file = path.join(tempDir(), 'audit-signing.pem')
    writeFileSync(file, pem, { mode: 0o600 })
    const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')
    const expected = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
    for (const value of [pem, file, der]) expect(parseSigningKey(value).asymmetricKeyType).toBe('ed25519')
    for (const value of [pem, file, der]) expect(createPublicKey(parseSigningKey(value)).export({ format: 'der', type: 'spki' }).equals(expected)).toBe(true)
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    const bad = 'bm90LWEta2V5LWF0LWFsbC1zZWNyZXQ='
    for (const value of [rsa, bad, '/no/such/file.pem']) {
      try {
        parseSigningKey(value)
        expect.unreachable()
      } catch (error) {
        expect(error).toBeInstanceOf(MissingKeysError)
        expect((error as Error).message).toContain('PASSERELLE_AUDIT_SIGNING_KEY')
        expect((error as Error).message).not.toContain(bad)
      }
    }
  })

  it('refuses to start on PostgreSQL with a key missing, naming the variable', () => {
    const key = Buffer.alloc(32, 1).toString('base64')
    expect(() => loadKeys({ databaseUrl: 'postgres://db/p', dataDir: tempDir(), keys: { nir: key, index: key } })).toThrow(MissingKeysError)
    expect(() => loadKeys({ databaseUrl: 'postgres://db/p', dataDir: tempDir(), keys: { nir: key, index: key } })).toThrow(/PASSERELLE_PSEUDONYM_KEY/)
    expect(() => loadKeys({ databaseUrl: 'postgres://db/p', dataDir: tempDir(), keys: { nir: key, index: key, pseudonym: key } })).toThrow(/PASSERELLE_AUDIT_SIGNING_KEY/)
  })
})

describe('NIR', () => {
  it('computes the key, Corsica included, and checks a 15-character NIR', () => {
    const nir13 = '1850275123456'
    expect(checkNir(nir13)).toEqual({ ok: true, nir13 })
    expect(checkNir(nir13 + nirKey(nir13))).toEqual({ ok: true, nir13 })
    const wrong = String((Number(nirKey(nir13)) % 97) + 1).padStart(2, '0')
    expect(checkNir(nir13 + wrong)).toEqual({ ok: false, rule: 'nir_key' })
    const corsica = '290052A123456'
    expect(nirKey(corsica)).toBe(String(97 - Number(BigInt('2900519123456') % 97n)).padStart(2, '0'))
    expect(checkNir(corsica + nirKey(corsica))).toEqual({ ok: true, nir13: corsica })
    expect(checkNir('123')).toEqual({ ok: false, rule: 'nir_format' })
  })

  it('encrypts NIRs with AES-256-GCM: a fresh IV each time, tampering detected', () => {
    const key = Buffer.alloc(32, 9)
    const a = encryptNir(key, '185027512345678')
    const b = encryptNir(key, '185027512345678')
    expect(a.equals(b)).toBe(false)
    expect(decryptNir(key, a)).toBe('185027512345678')
    a[a.length - 1]! ^= 1
    expect(() => decryptNir(key, a)).toThrow()
  })

  it('never reuses an IV, across refills of the buffered IV pool', () => {
    const key = Buffer.alloc(32, 7)
    const ivs = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const sealed = encryptNir(key, '185027512345678')
      ivs.add(sealed.subarray(1, 13).toString('hex'))
      if (i % 997 === 0) expect(decryptNir(key, sealed)).toBe('185027512345678')
    }
    expect(ivs.size).toBe(10_000)
  })
})
