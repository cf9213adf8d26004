import { createPrivateKey, createPublicKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../config/config.ts'

/** The secrets Passerelle needs: NIR encryption, the blind index for matching, pseudonyms, and the audit log's. */
export interface Keys {
  /** AES-256-GCM key encrypting stored NIRs. */
  nir: Buffer
  /** HMAC-SHA256 key of the blind indexes (person matching, NIR lookups). */
  index: Buffer
  /** HMAC-SHA256 base key of keyed pseudonyms (audit subjects, recipients' extracts). */
  pseudonym: Buffer
  /** The audit log's keys: none of them is ever in the database. */
  audit: AuditKeys
}

export interface AuditKeys {
  /** HMAC-SHA256 key of the version-2 event hashes (derived from the pseudonym key). */
  chain: Buffer
  /** HMAC-SHA256 key of the digests that events keep of their free texts (derived from the pseudonym key). */
  text: Buffer
  /** Ed25519 private key signing the checkpoints written outside the database. */
  signing: KeyObject
  /** Its public key, which is all `audit verify` needs to check a checkpoint. */
  verifying: KeyObject
}

const KEY_NAMES = {
  nir: 'PASSERELLE_NIR_KEY',
  index: 'PASSERELLE_INDEX_KEY',
  pseudonym: 'PASSERELLE_PSEUDONYM_KEY',
  auditSigning: 'PASSERELLE_AUDIT_SIGNING_KEY',
} as const
type KeyName = keyof typeof KEY_NAMES

export class MissingKeysError extends Error {}

/**
 * Keys come from the environment. On the embedded default with no keys configured, they are generated once
 * into `<dataDir>/keys.json` (mode 600) and `onGenerated` is told so; with a real PostgreSQL (DATABASE_URL set),
 * a missing key is a start-up error: a production database must never get keys that live only on one disk.
 */
export function loadKeys(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'keys'>, onGenerated?: (file: string) => void): Keys {
  const fromEnv = config.keys as Partial<Record<KeyName, string>>
  const missing = (Object.keys(KEY_NAMES) as KeyName[]).filter((k) => !fromEnv[k])
  if (missing.length === 0) return decode(fromEnv as Record<KeyName, string>)
  if (config.databaseUrl) {
    throw new MissingKeysError(
      `DATABASE_URL is set but ${missing.map((k) => KEY_NAMES[k]).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not: ` +
        'set the first three to 32 random bytes in base64 (openssl rand -base64 32), PASSERELLE_AUDIT_SIGNING_KEY to an ' +
        'Ed25519 private key (openssl genpkey -algorithm ed25519: the PEM text, its path, or its DER in base64), and keep them in your secret store',
    )
  }
  const file = path.join(config.dataDir, 'keys.json')
  let stored: Partial<Record<KeyName, string>> = {}
  if (existsSync(file)) stored = readStoredKeys(file)
  let generated = false
  for (const k of missing) {
    if (!stored[k]) {
      stored[k] = k === 'auditSigning' ? generateSigningKey() : randomBytes(32).toString('base64')
      generated = true
    }
  }
  if (generated) {
    mkdirSync(config.dataDir, { recursive: true })
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
    writeFileSync(temp, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
    chmodSync(temp, 0o600)
    try {
      // Created whole or not at all: of two processes starting at once on a new folder (serve and a command),
      // one writes the keys and the other reads them, instead of each encrypting with keys the other overwrites.
      if (existsSync(file)) renameSync(temp, file)
      else linkSync(temp, file)
      onGenerated?.(file)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      return loadKeys(config, onGenerated)
    } finally {
      rmSync(temp, { force: true })
    }
  }
  return decode({ ...stored, ...Object.fromEntries(Object.entries(fromEnv).filter(([, v]) => v)) } as Record<KeyName, string>)
}

/**
 * The keys the embedded default keeps in `<dataDir>/keys.json`, checked as the environment's are: JSON, each
 * symmetric key 32 bytes of base64, the signing key a private key. An error names the file and the key, never a
 * value or a piece of the file (a JSON parser's message quotes the text it choked on).
 */
function readStoredKeys(file: string): Partial<Record<KeyName, string>> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) throw new MissingKeysError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})`)
    throw new MissingKeysError(`${file}: not valid JSON: the embedded database's keys file is damaged; restore it from your backup (without it, the data it protects cannot be read)`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new MissingKeysError(`${file}: not a JSON object of keys`)
  const stored = parsed as Record<string, unknown>
  for (const k of Object.keys(KEY_NAMES) as KeyName[]) {
    const value = stored[k]
    if (value === undefined) continue
    if (typeof value !== 'string') throw new MissingKeysError(`${file}: key "${k}" is not a text`)
    if (k === 'auditSigning') {
      try {
        parseSigningKey(value)
      } catch {
        throw new MissingKeysError(`${file}: key "${k}" is not an Ed25519 private key`)
      }
    } else if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || Buffer.from(value, 'base64').length !== 32) {
      throw new MissingKeysError(`${file}: key "${k}" is not 32 bytes in base64`)
    }
  }
  return stored as Partial<Record<KeyName, string>>
}

/** A new Ed25519 private key, as base64 of its PKCS#8 DER (what keys.json holds). */
function generateSigningKey(): string {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, randomBytes(32)]), format: 'der', type: 'pkcs8' })
    .export({ format: 'der', type: 'pkcs8' })
    .toString('base64')
}

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/**
 * PASSERELLE_AUDIT_SIGNING_KEY: the PEM text of an Ed25519 private key, the path of a file holding it, or its
 * PKCS#8 DER (or its 32-byte seed) in base64. The value is never echoed in an error.
 */
export function parseSigningKey(value: string): KeyObject {
  let text = value.trim()
  if (!text.includes('-----BEGIN') && (text.startsWith('/') || text.startsWith('./') || text.startsWith('../') || text.endsWith('.pem'))) {
    try {
      text = readFileSync(text, 'utf8').trim()
    } catch (error) {
      throw new MissingKeysError('PASSERELLE_AUDIT_SIGNING_KEY: looks like a file path, but the file cannot be read', { cause: error })
    }
  }
  let key: KeyObject
  try {
    if (text.includes('-----BEGIN')) key = createPrivateKey(text)
    else {
      const der = Buffer.from(text, 'base64')
      key = createPrivateKey({ key: der.length === 32 ? Buffer.concat([ED25519_PKCS8_PREFIX, der]) : der, format: 'der', type: 'pkcs8' })
    }
  } catch (error) {
    throw new MissingKeysError('PASSERELLE_AUDIT_SIGNING_KEY: not a private key (PEM text, a path to a PEM file, or PKCS#8 DER in base64)', { cause: error })
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new MissingKeysError('PASSERELLE_AUDIT_SIGNING_KEY: must be an Ed25519 key (openssl genpkey -algorithm ed25519)')
  return key
}

/** Keys derived from the pseudonym key, one per use (HKDF-SHA256, distinct labels). */
function derive(pseudonym: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', pseudonym, Buffer.alloc(0), `passerelle|${label}`, 32))
}

function decode(values: Record<KeyName, string>): Keys {
  const pseudonym = Buffer.from(values.pseudonym, 'base64')
  const signing = parseSigningKey(values.auditSigning)
  return {
    nir: Buffer.from(values.nir, 'base64'),
    index: Buffer.from(values.index, 'base64'),
    pseudonym,
    audit: { chain: derive(pseudonym, 'audit-chain-v2'), text: derive(pseudonym, 'audit-text'), signing, verifying: createPublicKey(signing) },
  }
}

/** Fixed keys for tests and benchmarks only. */
export const TEST_AUDIT_SIGNING_KEY = Buffer.alloc(32, 4).toString('base64')

export function testKeys(): Keys {
  return decode({
    nir: Buffer.alloc(32, 1).toString('base64'),
    index: Buffer.alloc(32, 2).toString('base64'),
    pseudonym: Buffer.alloc(32, 3).toString('base64'),
    auditSigning: TEST_AUDIT_SIGNING_KEY,
  })
}
