import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { CmsRecipient } from '../src/ingestion/decrypt/cms-decrypt.ts'

/**
 * Bench files of issue 15: the département's key pair and encrypted copies (openssl cms -encrypt, DER, AES-256-CBC).
 * The bench département's key pair is generated once in `dir`.
 */
export function benchRecipient(dir: string): CmsRecipient & { certificateFile: string } {
  const crt = path.join(dir, 'bench-dept.crt')
  const key = path.join(dir, 'bench-dept.key')
  if (!existsSync(crt) || !existsSync(key)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=bench-departement', '-days', '30'], { stdio: 'ignore' })
  }
  return { certificatePem: readFileSync(crt, 'utf8'), privateKeyPem: readFileSync(key, 'utf8'), certificateFile: crt }
}

/** `clear` encrypted for the bench département, as France Travail sends the SPIE extracts. */
export function encryptFor(clear: string, encrypted: string, certificateFile: string): void {
  if (existsSync(encrypted)) return
  execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-outform', 'DER', '-in', clear, '-out', encrypted, certificateFile], { stdio: 'ignore' })
}
