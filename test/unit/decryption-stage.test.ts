import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../../src/config/config.ts'
import { FlowSchema } from '../../src/flows/flow.ts'
import { CmsDecryptionError } from '../../src/ingestion/decrypt/cms-decrypt.ts'
import { asDecryptionRejection, resolveDecryption } from '../../src/ingestion/decrypt/decryption-stage.ts'
import { FileRejection } from '../../src/ingestion/file-rejection.ts'
import { asReaderRejection } from '../../src/ingestion/guard-reader.ts'

/** The `decrypt:` block of a flow: its schema, the key variables read like the SFTP keys, the rejection it makes. */
const dir = mkdtempSync(path.join(tmpdir(), 'passerelle-decryption-stage-'))
const at = (name: string) => path.join(dir, name)
for (const name of ['dept', 'other']) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at(`${name}.key`), '-out', at(`${name}.crt`), '-subj', `/CN=${name}`, '-days', '2'], { stdio: 'ignore' })
}
const DECRYPT = { type: 'cms' as const, certificate_env: 'FT_SMIME_CERTIFICATE', private_key_env: 'FT_SMIME_PRIVATE_KEY' }
const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    resolveDecryption(DECRYPT, 'france-travail-spie', env)
    return []
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
}

describe('decryption stage', () => {
  it('reads the certificate and key as PEM text (\\n escapes accepted) or as file paths', () => {
    const pem = readFileSync(at('dept.crt'), 'utf8')
    const key = readFileSync(at('dept.key'), 'utf8')
    expect(resolveDecryption(DECRYPT, 'f', { FT_SMIME_CERTIFICATE: at('dept.crt'), FT_SMIME_PRIVATE_KEY: at('dept.key') })).toEqual({ certificatePem: pem, privateKeyPem: key })
    expect(resolveDecryption(DECRYPT, 'f', { FT_SMIME_CERTIFICATE: pem.replace(/\n/g, '\\n'), FT_SMIME_PRIVATE_KEY: key }).certificatePem).toBe(pem)
  })

  it('names every missing or wrong variable, never a value', () => {
    expect(problemsOf({})).toEqual([
      'flow "france-travail-spie": environment variable FT_SMIME_CERTIFICATE (decrypt.certificate_env) is not set',
      'flow "france-travail-spie": environment variable FT_SMIME_PRIVATE_KEY (decrypt.private_key_env) is not set',
    ])
    expect(problemsOf({ FT_SMIME_CERTIFICATE: at('dept.crt'), FT_SMIME_PRIVATE_KEY: at('other.key') })).toEqual([
      'flow "france-travail-spie": FT_SMIME_PRIVATE_KEY (decrypt.private_key_env) is not the private key of the certificate in FT_SMIME_CERTIFICATE',
    ])
    expect(problemsOf({ FT_SMIME_CERTIFICATE: at('missing.crt'), FT_SMIME_PRIVATE_KEY: at('dept.crt') })).toEqual([
      'flow "france-travail-spie": FT_SMIME_CERTIFICATE (decrypt.certificate_env) names a file that cannot be read (ENOENT)',
      'flow "france-travail-spie": FT_SMIME_PRIVATE_KEY (decrypt.private_key_env) does not hold an unencrypted PEM private key',
    ])
    const secret = '-----BEGIN CERTIFICATE-----\nSENTINELSECRET\n-----END CERTIFICATE-----\n'
    expect(problemsOf({ FT_SMIME_CERTIFICATE: secret, FT_SMIME_PRIVATE_KEY: at('dept.key') }).join('\n')).not.toContain('SENTINELSECRET')
  })

  it('a CmsDecryptionError read from a file becomes a not_decryptable rejection, other errors pass', () => {
    const rejection = asDecryptionRejection(new CmsDecryptionError('the encrypted content is cut short'), 'spie.csv.p7m')
    expect(rejection).toBeInstanceOf(FileRejection)
    expect(rejection).toMatchObject({ code: 'not_decryptable', message: 'file "spie.csv.p7m": does not decrypt: the encrypted content is cut short (rule not_decryptable)' })
    expect(asReaderRejection(new CmsDecryptionError('not a CMS or S/MIME message'), 'x')).toMatchObject({ code: 'not_decryptable' })
    const other = new Error('x')
    expect(asDecryptionRejection(other, 'x')).toBe(other)
  })

  it('the flow schema takes a decrypt block on the declared formats only, and env variable names only', () => {
    const shipped = parseYaml(readFileSync(path.resolve(import.meta.dirname, '../../flows/france-travail.yaml'), 'utf8')) as Record<string, unknown>
    const flow = { ...shipped, decrypt: DECRYPT }
    expect(FlowSchema.safeParse(flow).success).toBe(true)
    expect(FlowSchema.parse(flow).decrypt).toEqual(DECRYPT)
    const value = FlowSchema.safeParse({ ...flow, decrypt: { ...DECRYPT, private_key_env: '-----BEGIN PRIVATE KEY-----' } })
    expect(value.success).toBe(false)
    const caf = parseYaml(readFileSync(path.resolve(import.meta.dirname, '../../flows/caf-beneficiaires.yaml'), 'utf8')) as Record<string, unknown>
    expect(FlowSchema.safeParse(caf).success).toBe(true)
    const cnaf = FlowSchema.safeParse({ ...caf, decrypt: DECRYPT })
    expect(cnaf.success).toBe(false)
    expect(JSON.stringify(cnaf.error?.issues)).toContain('decryption is available to the declared formats')
  })
})
