import { X509Certificate, createPrivateKey } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { z } from 'zod'
import { ConfigError } from '../../config/config.ts'
import { FileRejection } from '../file-rejection.ts'
import { CmsDecryptionError, decryptCms, type CmsRecipient } from './cms-decrypt.ts'

const EnvVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable, not its value')

/**
 * A flow's `decrypt:` block: its files arrive as CMS enveloped data (S/MIME, as France Travail sends the SPIE
 * extracts) and are deciphered as they stream into the format's reader, so the clear text never touches disk.
 * The variables hold the département's certificate and private key, each PEM text (`\n` escapes accepted) or
 * the path of a PEM file, as the SFTP key variables do.
 */
export const DecryptionSchema = z
  .object({
    type: z.literal('cms'),
    certificate_env: EnvVarName,
    private_key_env: EnvVarName,
  })
  .strict()

export type Decryption = z.infer<typeof DecryptionSchema>

/**
 * The recipient a flow's `decrypt:` block names, read from `env`: every problem at once, naming the flow and the
 * variable, never a value (ConfigError: exit 78 at the entry points; a scheduled pull leaves the file for later).
 */
export function resolveDecryption(
  decryption: Decryption,
  flowId: string,
  env: NodeJS.ProcessEnv,
  readPemFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): CmsRecipient {
  const problems: string[] = []
  const pem = (name: string, field: string): string | undefined => {
    const value = env[name]
    if (value === undefined || value.trim() === '') {
      problems.push(`environment variable ${name} (decrypt.${field}) is not set`)
      return undefined
    }
    if (value.includes('-----BEGIN')) return value.includes('\n') ? value : value.replace(/\\n/g, '\n')
    const path = value.trim()
    if (/[\r\n]/.test(path) || path.length > 4096) {
      problems.push(`${name} (decrypt.${field}) holds neither PEM text nor a file path`)
      return undefined
    }
    try {
      return readPemFile(path)
    } catch (error) {
      problems.push(`${name} (decrypt.${field}) names a file that cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`)
      return undefined
    }
  }
  const certificatePem = pem(decryption.certificate_env, 'certificate_env')
  const privateKeyPem = pem(decryption.private_key_env, 'private_key_env')
  let certificate: X509Certificate | undefined
  if (certificatePem !== undefined) {
    try {
      certificate = new X509Certificate(certificatePem)
    } catch {
      problems.push(`${decryption.certificate_env} (decrypt.certificate_env) does not hold a PEM X.509 certificate`)
    }
  }
  if (privateKeyPem !== undefined) {
    try {
      const key = createPrivateKey(privateKeyPem)
      if (key.asymmetricKeyType !== 'rsa') problems.push(`${decryption.private_key_env} (decrypt.private_key_env) is not an RSA private key`)
      else if (certificate && !certificate.checkPrivateKey(key)) {
        problems.push(`${decryption.private_key_env} (decrypt.private_key_env) is not the private key of the certificate in ${decryption.certificate_env}`)
      }
    } catch {
      problems.push(`${decryption.private_key_env} (decrypt.private_key_env) does not hold an unencrypted PEM private key`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `flow "${flowId}": ${p}`))
  return { certificatePem: certificatePem!, privateKeyPem: privateKeyPem! }
}

/** A file's bytes as a format reads them, and how many bytes of the file (as stored, encrypted) were read. */
export interface OpenedFile {
  stream: Readable
  bytesRead(): number
}

export type OpenFile = () => OpenedFile

/** Opens a file for reading: as it is, or deciphered as it streams when the flow declares a `decrypt:` block. */
export function fileOpener(path: string, recipient: CmsRecipient | undefined, readBytes = 256 * 1024): OpenFile {
  return () => {
    const raw = createReadStream(path, { highWaterMark: readBytes })
    if (!recipient) return { stream: raw, bytesRead: () => raw.bytesRead }
    return { stream: decryptCms(raw, recipient), bytesRead: () => raw.bytesRead }
  }
}

/** A file that does not decrypt is rejected whole (`not_decryptable`), with the envelope's fault, never content. */
export function asDecryptionRejection(error: unknown, fileLabel: string): unknown {
  if (!(error instanceof CmsDecryptionError)) return error
  return new FileRejection('not_decryptable', `file "${fileLabel}": does not decrypt: ${error.message} (rule not_decryptable)`)
}
