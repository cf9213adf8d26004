import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CmsDecryptionError, decryptCms, type CmsRecipient } from '../../src/ingestion/decrypt/cms-decrypt.ts'

/**
 * Files encrypted on the fly with the openssl binary, as a sender would (`openssl cms -encrypt`, `openssl smime
 * -encrypt`), decrypted by the streaming reader. The clear text holds a planted NIR and name: no error may quote them.
 */
const SENTINEL_NIR = '2940375123456'
const SENTINEL_NAME = 'SENTINELLE-DUPONTEL'
const work = mkdtempSync(path.join(tmpdir(), 'passerelle-cms-'))
const file = (name: string) => path.join(work, name)
let recipient: CmsRecipient
let other: CmsRecipient

function keyPair(name: string): CmsRecipient {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-subj', `/CN=${name}`, '-days', '2'], { stdio: 'ignore' })
  return { certificatePem: readFileSync(file(`${name}.crt`), 'utf8'), privateKeyPem: readFileSync(file(`${name}.key`), 'utf8') }
}

function encrypt(clear: Buffer, args: string[], cert = 'dept', command = 'cms'): Buffer {
  writeFileSync(file('clear'), clear)
  // Key-transport options (-keyopt) apply to the recipient named before them with -recip.
  const to = args.includes('-keyopt') ? ['-recip', file(`${cert}.crt`), ...args] : [...args, file(`${cert}.crt`)]
  execFileSync('openssl', [command, '-encrypt', '-binary', '-in', file('clear'), '-out', file('enc'), ...to], { stdio: 'ignore' })
  return readFileSync(file('enc'))
}

async function decrypt(bytes: Buffer, who = recipient, chunk = 65536): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk))
  const out: Buffer[] = []
  for await (const d of decryptCms(Readable.from(parts), who)) out.push(d as Buffer)
  return Buffer.concat(out)
}

async function failure(bytes: Buffer, who = recipient): Promise<Error> {
  try {
    await decrypt(bytes, who)
  } catch (error) {
    return error as Error
  }
  throw new Error('decrypted')
}

const clearText = Buffer.from(
  Array.from({ length: 4000 }, (_, i) => `${i};${SENTINEL_NAME};${SENTINEL_NIR};2020-02-13 00:00:00.0;O;GUIDE\n`).join(''),
  'utf8',
)

beforeAll(() => {
  recipient = keyPair('dept')
  other = keyPair('other')
})
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('CMS enveloped data, decrypted as it streams', () => {
  it.each([
    ['DER, AES-256-CBC, RSA PKCS#1 v1.5', ['-outform', 'DER', '-aes-256-cbc'], 'cms'],
    ['DER streamed (BER, indefinite lengths, chunked content)', ['-outform', 'DER', '-stream', '-aes-128-cbc'], 'cms'],
    ['S/MIME message (base64 body)', ['-outform', 'SMIME', '-aes-256-cbc'], 'cms'],
    ['S/MIME written by openssl smime', ['-outform', 'SMIME', '-aes256'], 'smime'],
    ['PEM', ['-outform', 'PEM', '-aes-192-cbc'], 'cms'],
    ['RSA-OAEP key transport', ['-outform', 'DER', '-aes-256-cbc', '-keyopt', 'rsa_padding_mode:oaep'], 'cms'],
    ['3DES', ['-outform', 'DER', '-des3'], 'cms'],
  ])('reads %s', async (_label, args, command) => {
    const enc = encrypt(clearText, args, 'dept', command)
    expect((await decrypt(enc)).equals(clearText)).toBe(true)
  })

  it('reads a file encrypted for several recipients, picking the département by its certificate', async () => {
    writeFileSync(file('clear'), clearText)
    execFileSync('openssl', ['cms', '-encrypt', '-binary', '-in', file('clear'), '-out', file('enc'), '-outform', 'DER', '-aes-256-cbc', file('other.crt'), file('dept.crt')], { stdio: 'ignore' })
    expect((await decrypt(readFileSync(file('enc')))).equals(clearText)).toBe(true)
  })

  it('gives the same clear text whatever the size of the pieces it arrives in', async () => {
    const enc = encrypt(clearText.subarray(0, 20_000), ['-outform', 'DER', '-stream', '-aes-256-cbc'])
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5000 }), async (chunk) => {
        expect((await decrypt(enc, recipient, chunk)).equals(clearText.subarray(0, 20_000))).toBe(true)
      }),
      { numRuns: 25 },
    )
  })

  it('refuses a file for another recipient, naming the reason', async () => {
    const error = await failure(encrypt(clearText, ['-outform', 'DER', '-aes-256-cbc'], 'other'))
    expect(error).toBeInstanceOf(CmsDecryptionError)
    expect(error.message).toMatch(/not encrypted for the département's certificate/)
  })

  it('refuses a file cut short, a damaged content, a clear file and another CMS type, quoting nothing of the content', async () => {
    const enc = encrypt(clearText, ['-outform', 'DER', '-aes-256-cbc'])
    const cut = enc.subarray(0, enc.length - 100)
    const damaged = Buffer.from(enc)
    damaged[damaged.length - 20] = damaged[damaged.length - 20]! ^ 0xff
    writeFileSync(file('clear'), clearText)
    execFileSync('openssl', ['cms', '-sign', '-binary', '-in', file('clear'), '-out', file('signed'), '-outform', 'DER', '-signer', file('dept.crt'), '-inkey', file('dept.key'), '-nodetach'], { stdio: 'ignore' })
    const cases: [Buffer, RegExp][] = [
      [cut, /cut short/],
      [damaged, /does not decrypt/],
      [clearText, /not a CMS or S\/MIME message|not a CMS/],
      [readFileSync(file('signed')), /another content type/],
      [Buffer.alloc(0), /not a CMS or S\/MIME message/],
    ]
    for (const [bytes, reason] of cases) {
      const error = await failure(bytes)
      expect(error).toBeInstanceOf(CmsDecryptionError)
      expect(error.message).toMatch(reason)
      expect(error.message).not.toContain(SENTINEL_NIR)
      expect(error.message).not.toContain(SENTINEL_NAME)
    }
  })

  it('never succeeds on mutated bytes without the exact clear text, and never quotes it', async () => {
    const small = clearText.subarray(0, 3000)
    const enc = encrypt(small, ['-outform', 'DER', '-aes-256-cbc'])
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: enc.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const bytes = Buffer.from(enc)
        bytes[at] = bytes[at]! ^ flip
        try {
          const out = await decrypt(bytes)
          // CBC has no integrity: a flipped byte garbles one block and flips one byte of the next, and when that
          // reaches the last block the padding may still check with another length (1 to 16), so the text is any
          // length from one block short of the padded content to one byte short of it (3000 bytes pad to 3008: 2992
          // to 3007). What matters is that nothing else (a wrong key, a wrong structure) yields a clear text.
          const padded = (Math.floor(small.length / 16) + 1) * 16
          expect(out.length).toBeLessThan(padded)
          expect(out.length).toBeGreaterThanOrEqual(padded - 16)
        } catch (error) {
          expect(error).toBeInstanceOf(CmsDecryptionError)
          expect((error as Error).message).not.toContain(SENTINEL_NIR)
          expect((error as Error).message).not.toContain(SENTINEL_NAME)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('refuses an unreadable private key without echoing it', async () => {
    const enc = encrypt(clearText, ['-outform', 'DER', '-aes-256-cbc'])
    const error = await failure(enc, { certificatePem: recipient.certificatePem, privateKeyPem: 'not a key' })
    expect(error.message).toMatch(/private key cannot be read/)
    expect(other.privateKeyPem.length).toBeGreaterThan(0)
  })
})
