import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import ssh2 from 'ssh2'
import { describe, expect, it } from 'vitest'
import { SftpSourceSchema } from '../../src/flows/flow.ts'
import { backoffDelay } from '../../src/sftp/backoff.ts'
import { fingerprintOfKeyBlob, fingerprintOfPublicKeyLine, parseFingerprints } from '../../src/sftp/host-key.ts'
import { resolveSftpSource } from '../../src/sftp/resolve-source.ts'
import { SftpError } from '../../src/sftp/sftp-error.ts'

const keys = ssh2.utils.generateKeyPairSync('ed25519')
const fingerprint = fingerprintOfPublicKeyLine(keys.public)
const source = SftpSourceSchema.parse({
  host: '${CAF_SFTP_HOST}',
  port: '${CAF_SFTP_PORT:-22}',
  user: '${CAF_SFTP_USER}',
  private_key_env: 'CAF_SFTP_PRIVATE_KEY',
  host_key_env: 'CAF_SFTP_HOST_KEY',
  remote_dir: '/depot/caf',
  pattern: '.*',
})
const env = {
  CAF_SFTP_HOST: 'sftp.caf.example',
  CAF_SFTP_USER: 'cd93',
  CAF_SFTP_PRIVATE_KEY: keys.private,
  CAF_SFTP_HOST_KEY: fingerprint,
}

function failure(run: () => unknown): SftpError {
  try {
    run()
  } catch (error) {
    if (error instanceof SftpError) return error
    throw error
  }
  throw new Error('expected an SftpError')
}

describe('resolveSftpSource', () => {
  it('resolves ${VAR} references, the ${VAR:-default} port and the key variables', () => {
    const endpoint = resolveSftpSource(source, 'caf-beneficiaires', env)
    expect(endpoint).toMatchObject({ host: 'sftp.caf.example', port: 22, username: 'cd93', hostKeyFingerprints: [fingerprint] })
    expect(endpoint.privateKey).toBe(keys.private)
    expect(resolveSftpSource(source, 'caf-beneficiaires', { ...env, CAF_SFTP_PORT: '2222' }).port).toBe(2222)
  })

  it('names the flow and every missing variable, and never prints a value', () => {
    const error = failure(() => resolveSftpSource(source, 'caf-beneficiaires', { CAF_SFTP_USER: 'cd93', CAF_SFTP_HOST_KEY: fingerprint }))
    expect(error.kind).toBe('config')
    expect(error.message).toContain('flow "caf-beneficiaires"')
    expect(error.message).toContain('CAF_SFTP_HOST (source.host) is not set')
    expect(error.message).toContain('CAF_SFTP_PRIVATE_KEY (source.private_key_env) is not set')
    expect(error.message).not.toContain('cd93')
    expect(error.message).not.toContain('CAF_SFTP_USER')
  })

  it('treats an empty variable as missing', () => {
    const error = failure(() => resolveSftpSource(source, 'f', { ...env, CAF_SFTP_HOST: '  ' }))
    expect(error.message).toContain('CAF_SFTP_HOST (source.host) is not set')
  })

  it('reads the private key from a file when the variable holds a path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'passerelle-key-'))
    const keyFile = path.join(dir, 'id_ed25519')
    fs.writeFileSync(keyFile, keys.private, { mode: 0o600 })
    try {
      expect(resolveSftpSource(source, 'f', { ...env, CAF_SFTP_PRIVATE_KEY: keyFile }).privateKey).toBe(keys.private)
      const error = failure(() => resolveSftpSource(source, 'f', { ...env, CAF_SFTP_PRIVATE_KEY: path.join(dir, 'missing') }))
      expect(error.message).toContain('CAF_SFTP_PRIVATE_KEY (source.private_key_env) names a key file that cannot be read (ENOENT)')
      expect(error.message).not.toContain(dir)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('accepts a key whose newlines arrived as literal \\n', () => {
    const flattened = keys.private.trim().replace(/\n/g, '\\n')
    expect(resolveSftpSource(source, 'f', { ...env, CAF_SFTP_PRIVATE_KEY: flattened }).privateKey).toContain('\n')
  })

  it('refuses a key that cannot be parsed without echoing it', () => {
    const garbage = '-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LXZhbHVl\n-----END OPENSSH PRIVATE KEY-----\n'
    const error = failure(() => resolveSftpSource(source, 'f', { ...env, CAF_SFTP_PRIVATE_KEY: garbage }))
    expect(error.message).toContain('CAF_SFTP_PRIVATE_KEY (source.private_key_env) does not hold a usable private key')
    expect(error.message).not.toContain('c2VjcmV0LXZhbHVl')
  })

  it('refuses a port that is not a number and a host key that is not a SHA256 fingerprint', () => {
    const error = failure(() => resolveSftpSource(source, 'f', { ...env, CAF_SFTP_PORT: 'ssh', CAF_SFTP_HOST_KEY: 'aa:bb:cc' }))
    expect(error.message).toContain('source.port (${CAF_SFTP_PORT:-22}) is not a port number')
    expect(error.message).toContain('CAF_SFTP_HOST_KEY (source.host_key_env) must be one or more SHA256:... fingerprints')
  })

  it('leaves the host key unchecked only when the flow declares no host_key_env', () => {
    const { host_key_env: _, ...withoutHostKey } = source
    expect(resolveSftpSource(withoutHostKey as typeof source, 'f', env).hostKeyFingerprints).toBeUndefined()
  })
})

describe('host key fingerprints', () => {
  it('computes the OpenSSH SHA256 notation of a key', () => {
    const blob = Buffer.from(keys.public.split(' ')[1]!, 'base64')
    expect(fingerprintOfKeyBlob(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
    expect(fingerprintOfKeyBlob(blob)).toBe(fingerprint)
  })

  it('accepts several fingerprints for a key rotation', () => {
    const other = fingerprintOfPublicKeyLine(ssh2.utils.generateKeyPairSync('ed25519').public)
    expect(parseFingerprints(`${fingerprint}, ${other}=`)).toEqual({ fingerprints: [fingerprint, other] })
  })
})

describe('backoffDelay', () => {
  it('doubles with each attempt, between half and all of the step, capped at a minute', () => {
    expect(backoffDelay(0, 1000, () => 0)).toBe(500)
    expect(backoffDelay(0, 1000, () => 1)).toBe(1000)
    expect(backoffDelay(3, 1000, () => 0)).toBe(4000)
    expect(backoffDelay(3, 1000, () => 1)).toBe(8000)
    expect(backoffDelay(20, 1000, () => 1)).toBe(60_000)
  })
})
