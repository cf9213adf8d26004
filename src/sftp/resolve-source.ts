import { readFileSync } from 'node:fs'
import ssh2 from 'ssh2'
import type { DeclaredSftpEndpoint } from './sftp-endpoint.ts'
import { parseFingerprints } from './host-key.ts'
import { SftpError } from './sftp-error.ts'

/** Everything needed to open a connection, with the secrets read from the environment. Never log it whole. */
export interface SftpEndpoint {
  host: string
  port: number
  username: string
  privateKey: string | undefined
  passphrase: string | undefined
  password: string | undefined
  /** Accepted host key fingerprints; `undefined` when the flow declares no `host_key_env` (not checked). */
  hostKeyFingerprints: string[] | undefined
}

const REFERENCE = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g

/**
 * Resolves a flow's SFTP source against an environment: `${VAR}` (or `${VAR:-default}`) references in host, port
 * and user, and the variables named by `private_key_env`, `passphrase_env`, `password_env`, `host_key_env`.
 * The private key variable holds the key itself (PEM / OpenSSH text, `\n` escapes accepted) or the path of a key file.
 * Every problem is reported at once, naming the flow, the variable and the source field — never a value.
 */
export function resolveSftpSource(
  source: DeclaredSftpEndpoint,
  flowId: string,
  env: NodeJS.ProcessEnv,
  readKeyFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): SftpEndpoint {
  const problems: string[] = []
  const variable = (name: string, field: string): string | undefined => {
    const value = env[name]
    if (value === undefined || value.trim() === '') {
      problems.push(`environment variable ${name} (${field}) is not set`)
      return undefined
    }
    return value
  }
  const interpolate = (template: string, field: string): string | undefined => {
    let missing = false
    const value = template.replace(REFERENCE, (_whole, name: string, fallback: string | undefined) => {
      const found = env[name]
      if (found !== undefined && found.trim() !== '') return found.trim()
      if (fallback !== undefined) return fallback
      problems.push(`environment variable ${name} (${field}) is not set`)
      missing = true
      return ''
    })
    return missing ? undefined : value
  }

  const host = interpolate(source.host, 'source.host')
  if (host !== undefined && host.trim() === '') problems.push('source.host resolves to an empty host name')
  const username = interpolate(source.user, 'source.user')
  if (username !== undefined && username.trim() === '') problems.push('source.user resolves to an empty user name')

  let port: number | undefined
  const portText = typeof source.port === 'number' ? String(source.port) : interpolate(source.port, 'source.port')
  if (portText !== undefined) {
    port = /^\d+$/.test(portText.trim()) ? Number(portText.trim()) : Number.NaN
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      problems.push(`source.port${typeof source.port === 'string' ? ` (${source.port})` : ''} is not a port number (1-65535)`)
    }
  }

  const passphrase = source.passphrase_env ? variable(source.passphrase_env, 'source.passphrase_env') : undefined
  const password = source.password_env ? variable(source.password_env, 'source.password_env') : undefined

  let privateKey: string | undefined
  if (source.private_key_env) {
    const name = source.private_key_env
    const value = variable(name, 'source.private_key_env')
    if (value !== undefined) {
      privateKey = loadPrivateKey(value, name, readKeyFile, problems)
      if (privateKey !== undefined) {
        const parsed = ssh2.utils.parseKey(privateKey, passphrase)
        if (parsed instanceof Error) {
          problems.push(`${name} (source.private_key_env) does not hold a usable private key: ${parsed.message}`)
          privateKey = undefined
        }
      }
    }
  }

  let hostKeyFingerprints: string[] | undefined
  if (source.host_key_env) {
    const value = variable(source.host_key_env, 'source.host_key_env')
    if (value !== undefined) {
      const parsed = parseFingerprints(value)
      if ('problem' in parsed) problems.push(`${source.host_key_env} (source.host_key_env) ${parsed.problem}`)
      else hostKeyFingerprints = parsed.fingerprints
    }
  }

  if (problems.length > 0) {
    throw new SftpError('config', `flow "${flowId}": SFTP source cannot be used: ${problems.join('; ')}`)
  }
  return {
    host: host!.trim(),
    port: port!,
    username: username!.trim(),
    privateKey,
    passphrase,
    password,
    hostKeyFingerprints,
  }
}

function loadPrivateKey(
  value: string,
  name: string,
  readKeyFile: (path: string) => string,
  problems: string[],
): string | undefined {
  if (value.includes('-----BEGIN')) {
    // Keys passed through container environments often arrive with literal "\n" instead of newlines.
    return value.includes('\n') ? value : value.replace(/\\n/g, '\n')
  }
  const path = value.trim()
  if (/[\r\n]/.test(path) || path.length > 4096) {
    problems.push(`${name} (source.private_key_env) holds neither a PEM/OpenSSH private key nor a file path`)
    return undefined
  }
  try {
    return readKeyFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    problems.push(`${name} (source.private_key_env) names a key file that cannot be read (${code})`)
    return undefined
  }
}
