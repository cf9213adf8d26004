import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../config/config.ts'

/** The secrets Passerelle needs: NIR encryption, the blind index for matching, and pseudonyms. */
export interface Keys {
  /** AES-256-GCM key encrypting stored NIRs. */
  nir: Buffer
  /** HMAC-SHA256 key of the blind indexes (person matching, NIR lookups). */
  index: Buffer
  /** HMAC-SHA256 base key of keyed pseudonyms (audit subjects, recipients' extracts). */
  pseudonym: Buffer
}

const KEY_NAMES = { nir: 'PASSERELLE_NIR_KEY', index: 'PASSERELLE_INDEX_KEY', pseudonym: 'PASSERELLE_PSEUDONYM_KEY' } as const

export class MissingKeysError extends Error {}

/**
 * Keys come from the environment. On the embedded default with no keys configured, they are generated once
 * into `<dataDir>/keys.json` (mode 600) and `onGenerated` is told so; with a real PostgreSQL (DATABASE_URL set),
 * a missing key is a start-up error: a production database must never get keys that live only on one disk.
 */
export function loadKeys(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'keys'>, onGenerated?: (file: string) => void): Keys {
  const fromEnv = config.keys
  const missing = (Object.keys(KEY_NAMES) as (keyof Keys)[]).filter((k) => !fromEnv[k])
  if (missing.length === 0) return decode(fromEnv as Record<keyof Keys, string>)
  if (config.databaseUrl) {
    throw new MissingKeysError(
      `DATABASE_URL is set but ${missing.map((k) => KEY_NAMES[k]).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not: ` +
        'set each to 32 random bytes in base64 (openssl rand -base64 32) and keep them in your secret store',
    )
  }
  const file = path.join(config.dataDir, 'keys.json')
  let stored: Partial<Record<keyof Keys, string>> = {}
  if (existsSync(file)) {
    stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored
  }
  let generated = false
  for (const k of missing) {
    if (!stored[k]) {
      stored[k] = randomBytes(32).toString('base64')
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
  return decode({ ...stored, ...Object.fromEntries(Object.entries(fromEnv).filter(([, v]) => v)) } as Record<keyof Keys, string>)
}

function decode(values: Record<keyof Keys, string>): Keys {
  return {
    nir: Buffer.from(values.nir, 'base64'),
    index: Buffer.from(values.index, 'base64'),
    pseudonym: Buffer.from(values.pseudonym, 'base64'),
  }
}

/** Fixed keys for tests and benchmarks only. */
export function testKeys(): Keys {
  return { nir: Buffer.alloc(32, 1), index: Buffer.alloc(32, 2), pseudonym: Buffer.alloc(32, 3) }
}
