import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

/**
 * Keys of extract pseudonyms, one series per recipient, versioned and rotatable. They come from
 *   - files `<recipient>.v<N>.key` in the folder named by PASSERELLE_EXTRACT_KEYS_DIR (32 random bytes in base64,
 *     `openssl rand -base64 32 > drees.v1.key`, mode 600), or
 *   - variables PASSERELLE_EXTRACT_KEY_<RECIPIENT>_V<N> (recipient upper-cased, `-` as `_`), same encoding.
 * The highest version is current; rotating is adding version N+1 (the pseudonyms of every person change, and the
 * manifest names the version). Keys are never written to the database nor next to an extract.
 */
export interface ExtractKey {
  recipientId: string
  version: number
  key: Buffer
  /** Where it came from, for operators: a variable name or a file name (never the value). */
  source: string
}

export class ExtractKeyError extends Error {}

export const KEYS_DIR_VARIABLE = 'PASSERELLE_EXTRACT_KEYS_DIR'

export function keyVariablePrefix(recipientId: string): string {
  return `PASSERELLE_EXTRACT_KEY_${recipientId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_V`
}

/** Every version of a recipient's key found in the environment and the keys folder. */
export function listExtractKeys(recipientId: string, env: NodeJS.ProcessEnv): ExtractKey[] {
  const found = new Map<number, ExtractKey>()
  const add = (version: number, text: string | Buffer, source: string) => {
    const key = decodeKey(text, source)
    const previous = found.get(version)
    if (previous && !previous.key.equals(key)) {
      throw new ExtractKeyError(`extract key of recipient "${recipientId}" version ${version} is given twice with different values (${previous.source}, ${source})`)
    }
    found.set(version, { recipientId, version, key, source })
  }
  const prefix = keyVariablePrefix(recipientId)
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined) continue
    const version = Number(name.slice(prefix.length))
    if (!Number.isInteger(version) || version < 1) continue
    add(version, value, name)
  }
  const dir = env[KEYS_DIR_VARIABLE]
  if (dir) {
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch (error) {
      throw new ExtractKeyError(`${KEYS_DIR_VARIABLE} names a folder that cannot be read: ${dir}`, { cause: error })
    }
    const pattern = new RegExp(`^${recipientId.replace(/[^a-z0-9-]/g, '')}\\.v([1-9][0-9]*)\\.key$`)
    for (const name of names) {
      const match = pattern.exec(name)
      if (!match) continue
      add(Number(match[1]), readFileSync(path.join(dir, name)), name)
    }
  }
  return [...found.values()].sort((a, b) => a.version - b.version)
}

/** The current (highest) key version of a recipient, or a given version; throws with what to do when absent. */
export function loadExtractKey(recipientId: string, env: NodeJS.ProcessEnv, version?: number): ExtractKey {
  const keys = listExtractKeys(recipientId, env)
  const chosen = version === undefined ? keys.at(-1) : keys.find((k) => k.version === version)
  if (!chosen) {
    const what = version === undefined ? 'no extract key' : `no extract key version ${version}`
    throw new ExtractKeyError(
      `${what} for recipient "${recipientId}": create one with ` +
        `\`openssl rand -base64 32 > "$${KEYS_DIR_VARIABLE}/${recipientId}.v1.key"\` (mode 600) ` +
        `or set ${keyVariablePrefix(recipientId)}1; keep it in your secret store`,
    )
  }
  return chosen
}

function decodeKey(text: string | Buffer, source: string): Buffer {
  if (Buffer.isBuffer(text) && text.length === 32) return text
  const decoded = Buffer.from(String(text).trim(), 'base64')
  if (decoded.length !== 32) throw new ExtractKeyError(`extract key ${source}: must be 32 random bytes in base64 (openssl rand -base64 32)`)
  return decoded
}

/** Refuses an output folder that holds the keys folder or lies inside it: a key never sits next to an extract. */
export function assertKeysApart(outDir: string, env: NodeJS.ProcessEnv): void {
  const dir = env[KEYS_DIR_VARIABLE]
  if (!dir) return
  const keys = path.resolve(dir)
  const out = path.resolve(outDir)
  const inside = (child: string, parent: string) => child === parent || child.startsWith(parent + path.sep)
  if (inside(keys, out) || inside(out, keys)) {
    throw new ExtractKeyError(`the extract folder ${out} and the keys folder ${keys} overlap: keys are never stored next to an extract`)
  }
}

/** Key files readable by others than their owner (operators should chmod 600), by file name. */
export function looselyProtectedKeyFiles(env: NodeJS.ProcessEnv): string[] {
  const dir = env[KEYS_DIR_VARIABLE]
  if (!dir) return []
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.key'))
      .filter((n) => (statSync(path.join(dir, n)).mode & 0o077) !== 0)
  } catch {
    return []
  }
}
