import { createDecipheriv, createPrivateKey, constants as cryptoConstants, privateDecrypt, randomBytes, X509Certificate, type Decipher, type KeyObject } from 'node:crypto'
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream'

/**
 * Streaming decryption of a CMS EnvelopedData file (S/MIME `application/pkcs7-mime; smime-type=enveloped-data`, as
 * `openssl cms -encrypt` or `openssl smime -encrypt` write it), in DER/BER, PEM or as an S/MIME message with a base64
 * body.
 *
 * Why not `openssl cms -decrypt` on the whole file: it reads the whole message into memory (313 MB of resident
 * memory for a 135 MB file, measured here), and the clear text would have to go through a pipe we do not control the
 * end of. Why not pkijs: it decrypts through WebCrypto, which has no RSAES-PKCS1-v1_5, the key transport most S/MIME
 * senders use; Node refuses it too since CVE-2023-46809. So the content-encryption key (a few hundred bytes) is
 * recovered with Node's raw RSA operation (PKCS#1 v1.5 unpadded here, with implicit rejection) or its RSAES-OAEP;
 * and the content itself is deciphered by Node as it streams (AES-CBC, 3DES-CBC), so memory stays
 * bounded whatever the size and the clear text exists only in the pipeline that parses it.
 */
export interface CmsRecipient {
  /** The département's certificate (PEM): selects its RecipientInfo by issuer serial number. */
  certificatePem: string
  /** Its private key (PEM, unencrypted). */
  privateKeyPem: string
}

/** Why a file does not decrypt: structural, never a value of the content. */
export class CmsDecryptionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CmsDecryptionError'
  }
}

const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3'
const OID_AUTH_ENVELOPED_DATA = '1.2.840.113549.1.9.16.1.23'
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1'
const OID_RSAES_OAEP = '1.2.840.113549.1.1.7'
const CONTENT_CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
}
const OAEP_HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
}
/** The part before the encrypted content (content type, recipients, algorithm) is small; more is not a CMS file. */
const MAX_HEADER_BYTES = 1 << 20

interface Header {
  tag: number
  constructed: boolean
  /** Content length, or undefined for the indefinite form (BER). */
  length: number | undefined
  headerLength: number
}

/** Reads one BER identifier and length at `offset`, or undefined when more bytes are needed. */
function readHeader(buf: Buffer, offset: number): Header | undefined {
  if (offset + 2 > buf.length) return undefined
  const tag = buf[offset]!
  if ((tag & 0x1f) === 0x1f) throw new CmsDecryptionError('not a CMS message (high tag number)')
  const first = buf[offset + 1]!
  if (first < 0x80) return { tag, constructed: (tag & 0x20) !== 0, length: first, headerLength: 2 }
  if (first === 0x80) {
    if ((tag & 0x20) === 0) throw new CmsDecryptionError('not a CMS message (indefinite length on a primitive element)')
    return { tag, constructed: true, length: undefined, headerLength: 2 }
  }
  const n = first & 0x7f
  if (n > 6) throw new CmsDecryptionError('not a CMS message (length too long)')
  if (offset + 2 + n > buf.length) return undefined
  let length = 0
  for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!
  return { tag, constructed: (tag & 0x20) !== 0, length, headerLength: 2 + n }
}

/** The end offset of the whole element at `offset` (nested indefinite forms included), or undefined if incomplete. */
function elementEnd(buf: Buffer, offset: number, depth = 0): number | undefined {
  if (depth > 32) throw new CmsDecryptionError('not a CMS message (nested too deep)')
  const h = readHeader(buf, offset)
  if (!h) return undefined
  const start = offset + h.headerLength
  if (h.length !== undefined) return start + h.length <= buf.length ? start + h.length : undefined
  let at = start
  for (;;) {
    if (at + 2 > buf.length) return undefined
    if (buf[at] === 0 && buf[at + 1] === 0) return at + 2
    const end = elementEnd(buf, at, depth + 1)
    if (end === undefined) return undefined
    at = end
  }
}

/** The children of a complete constructed element (definite or indefinite). */
function children(buf: Buffer, offset: number): { offset: number; header: Header; end: number }[] {
  const h = readHeader(buf, offset)!
  const out: { offset: number; header: Header; end: number }[] = []
  const stop = h.length === undefined ? Infinity : offset + h.headerLength + h.length
  let at = offset + h.headerLength
  while (at < stop) {
    if (h.length === undefined && buf[at] === 0 && buf[at + 1] === 0) break
    const header = readHeader(buf, at)
    const end = elementEnd(buf, at)
    if (!header || end === undefined) throw new CmsDecryptionError('not a CMS message (truncated header)')
    out.push({ offset: at, header, end })
    at = end
  }
  return out
}

function primitiveValue(buf: Buffer, el: { offset: number; header: Header; end: number }): Buffer {
  if (el.header.constructed) {
    // A constructed OCTET STRING in the header (BER): its chunks joined.
    return Buffer.concat(children(buf, el.offset).map((c) => primitiveValue(buf, c)))
  }
  return buf.subarray(el.offset + el.header.headerLength, el.end)
}

function oid(bytes: Buffer): string {
  const parts: number[] = []
  let value = 0
  for (let i = 0; i < bytes.length; i++) {
    value = value * 128 + (bytes[i]! & 0x7f)
    if ((bytes[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80)
      else parts.push(value)
      value = 0
    }
  }
  return parts.join('.')
}

function expectTag(el: { header: Header } | undefined, tag: number, what: string): asserts el is { offset: number; header: Header; end: number } {
  if (!el || el.header.tag !== tag) throw new CmsDecryptionError(`not a CMS enveloped-data message (${what} expected)`)
}

interface KeyTransport {
  serialHex: string | undefined
  algorithm: string
  oaepHash: string
  encryptedKey: Buffer
}

function keyTransports(buf: Buffer, set: { offset: number }): KeyTransport[] {
  const out: KeyTransport[] = []
  for (const ri of children(buf, set.offset)) {
    // KeyTransRecipientInfo is a bare SEQUENCE; the other kinds are tagged [1]..[4] (key agreement, KEK, password).
    if (ri.header.tag !== 0x30) continue
    const [, rid, alg, key] = children(buf, ri.offset)
    if (!rid || !alg || !key) throw new CmsDecryptionError('not a CMS message (incomplete recipient)')
    let serialHex: string | undefined
    if (rid.header.tag === 0x30) {
      const serial = children(buf, rid.offset)[1]
      if (serial) serialHex = stripLeadingZeros(primitiveValue(buf, serial).toString('hex'))
    }
    const algParts = children(buf, alg.offset)
    const algorithm = oid(primitiveValue(buf, algParts[0]!))
    let oaepHash = 'sha1'
    if (algorithm === OID_RSAES_OAEP && algParts[1]?.header.tag === 0x30) {
      for (const p of children(buf, algParts[1].offset)) {
        if (p.header.tag !== 0xa0) continue
        const hashAlg = children(buf, p.offset)[0]
        const hashOid = hashAlg ? oid(primitiveValue(buf, children(buf, hashAlg.offset)[0]!)) : undefined
        if (hashOid && OAEP_HASHES[hashOid]) oaepHash = OAEP_HASHES[hashOid]!
      }
    }
    out.push({ serialHex, algorithm, oaepHash, encryptedKey: primitiveValue(buf, key) })
  }
  return out
}

function stripLeadingZeros(hex: string): string {
  return hex.replace(/^(00)+(?=.)/, '').toUpperCase()
}

/**
 * RSAES-PKCS1-v1_5 by hand over the raw RSA operation (Node refuses the padded one since CVE-2023-46809). The padding
 * is checked without early exit, and a bad one yields a random key of the expected length rather than an error
 * (implicit rejection, as OpenSSL does): the content then fails to decrypt like any wrong key, so the file tells an
 * attacker nothing about the padding.
 */
function decryptPkcs1(encryptedKey: Buffer, key: KeyObject, keyLength: number): Buffer {
  const block = privateDecrypt({ key, padding: cryptoConstants.RSA_NO_PADDING }, encryptedKey)
  let bad = (block[0]! ^ 0x00) | (block[1]! ^ 0x02)
  let separator = 0
  let found = 0
  for (let i = 2; i < block.length; i++) {
    const isZero = block[i] === 0 ? 1 : 0
    const first = isZero & (found ^ 1)
    separator = first ? i : separator
    found |= isZero
  }
  bad |= found ^ 1
  bad |= separator < 10 ? 1 : 0 // at least 8 bytes of padding
  bad |= block.length - separator - 1 !== keyLength ? 1 : 0
  const random = randomBytes(keyLength)
  const message = block.subarray(block.length - keyLength)
  return bad === 0 ? Buffer.from(message) : random
}

function contentKey(transports: KeyTransport[], recipient: CmsRecipient, key: KeyObject, keyLength: number): Buffer {
  if (transports.length === 0) throw new CmsDecryptionError('no key-transport recipient (only RSA recipients are supported)')
  const serial = stripLeadingZeros(new X509Certificate(recipient.certificatePem).serialNumber)
  const mine = transports.filter((t) => t.serialHex === serial)
  if (mine.length === 0) throw new CmsDecryptionError('not encrypted for the département\'s certificate (no recipient with its serial number)')
  let lastError: unknown
  for (const t of mine) {
    try {
      if (t.algorithm === OID_RSAES_OAEP) {
        return privateDecrypt({ key, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: t.oaepHash }, t.encryptedKey)
      }
      if (t.algorithm === OID_RSA_ENCRYPTION) return decryptPkcs1(t.encryptedKey, key, keyLength)
      lastError = new CmsDecryptionError(`unsupported key transport algorithm ${t.algorithm}`)
    } catch (error) {
      lastError = error
    }
  }
  if (lastError instanceof CmsDecryptionError) throw lastError
  throw new CmsDecryptionError('the content key does not decrypt with the département\'s private key')
}

type Phase =
  | { kind: 'header' }
  | { kind: 'primitive'; remaining: number }
  | { kind: 'chunks'; remaining: number | undefined; chunk: number }
  | { kind: 'trailer' }

/** DER/BER CMS EnvelopedData in, clear text out. */
class CmsDecryptStream extends Transform {
  private buf: Buffer = Buffer.alloc(0)
  private phase: Phase = { kind: 'header' }
  private decipher: Decipher | undefined
  private readonly key: KeyObject

  constructor(private readonly recipient: CmsRecipient) {
    super()
    try {
      this.key = createPrivateKey(recipient.privateKeyPem)
    } catch {
      throw new CmsDecryptionError('the département\'s private key cannot be read')
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    try {
      this.pump()
      done()
    } catch (error) {
      done(asDecryptionError(error))
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.phase.kind === 'header') throw new CmsDecryptionError('not a CMS enveloped-data message (cut short before its content)')
      if (this.phase.kind !== 'trailer') throw new CmsDecryptionError('the encrypted content is cut short')
      done()
    } catch (error) {
      done(asDecryptionError(error))
    }
  }

  private pump(): void {
    if (this.phase.kind === 'header') {
      const start = this.parseHeader()
      if (start === undefined) {
        if (this.buf.length > MAX_HEADER_BYTES) throw new CmsDecryptionError('not a CMS enveloped-data message (no content within the first MiB)')
        return
      }
      this.buf = this.buf.subarray(start)
    }
    this.pumpContent()
  }

  /** Parses up to the encrypted content; returns the offset of its first content byte, or undefined if incomplete. */
  private parseHeader(): number | undefined {
    const b = this.buf
    const outer = readHeader(b, 0)
    if (!outer) return undefined
    if (outer.tag !== 0x30) throw new CmsDecryptionError('not a CMS message (no ContentInfo)')
    let at = outer.headerLength
    const typeEnd = elementEnd(b, at)
    if (typeEnd === undefined) return undefined
    const type = oid(b.subarray(at + readHeader(b, at)!.headerLength, typeEnd))
    if (type === OID_AUTH_ENVELOPED_DATA) throw new CmsDecryptionError('authenticated enveloped data (AES-GCM) is not supported; AES-CBC enveloped data is')
    if (type !== OID_ENVELOPED_DATA) throw new CmsDecryptionError('not a CMS enveloped-data message (another content type)')
    at = typeEnd
    const explicit = readHeader(b, at)
    if (!explicit) return undefined
    if (explicit.tag !== 0xa0) throw new CmsDecryptionError('not a CMS enveloped-data message (no content)')
    at += explicit.headerLength
    const env = readHeader(b, at)
    if (!env) return undefined
    if (env.tag !== 0x30) throw new CmsDecryptionError('not a CMS enveloped-data message (no EnvelopedData)')
    at += env.headerLength
    const versionEnd = elementEnd(b, at)
    if (versionEnd === undefined) return undefined
    at = versionEnd
    let next = readHeader(b, at)
    if (!next) return undefined
    if (next.tag === 0xa0) {
      const end = elementEnd(b, at) // originatorInfo: certificates, not needed
      if (end === undefined) return undefined
      at = end
      next = readHeader(b, at)
      if (!next) return undefined
    }
    if (next.tag !== 0x31) throw new CmsDecryptionError('not a CMS enveloped-data message (no recipients)')
    const recipientsEnd = elementEnd(b, at)
    if (recipientsEnd === undefined) return undefined
    const recipientsAt = at
    at = recipientsEnd
    const eci = readHeader(b, at)
    if (!eci) return undefined
    if (eci.tag !== 0x30) throw new CmsDecryptionError('not a CMS enveloped-data message (no encrypted content info)')
    at += eci.headerLength
    const contentTypeEnd = elementEnd(b, at)
    if (contentTypeEnd === undefined) return undefined
    at = contentTypeEnd
    const algEnd = elementEnd(b, at)
    if (algEnd === undefined) return undefined
    const algAt = at
    at = algEnd
    const content = readHeader(b, at)
    if (!content) return undefined
    if (content.tag !== 0x80 && content.tag !== 0xa0) throw new CmsDecryptionError('the encrypted content is detached or missing')

    const [algOid, params] = children(b, algAt)
    expectTag(algOid, 0x06, 'content encryption algorithm')
    const cipher = CONTENT_CIPHERS[oid(primitiveValue(b, algOid))]
    if (!cipher) throw new CmsDecryptionError('unsupported content encryption algorithm (AES-CBC or 3DES-CBC expected)')
    expectTag(params, 0x04, 'initialisation vector')
    const iv = primitiveValue(b, params)
    const cek = contentKey(keyTransports(b, { offset: recipientsAt }), this.recipient, this.key, cipher.keyLength)
    if (cek.length !== cipher.keyLength) throw new CmsDecryptionError('the content key does not decrypt with the département\'s private key')
    try {
      this.decipher = createDecipheriv(cipher.name, cek, iv)
    } catch {
      throw new CmsDecryptionError('the content key or initialisation vector does not fit the declared algorithm')
    }
    this.phase = content.tag === 0x80 ? { kind: 'primitive', remaining: content.length! } : { kind: 'chunks', remaining: content.length, chunk: 0 }
    return at + content.headerLength
  }

  private pumpContent(): void {
    for (;;) {
      const phase = this.phase
      if (phase.kind === 'trailer' || phase.kind === 'header') {
        this.buf = Buffer.alloc(0) // unprotected attributes and end-of-contents: not needed
        return
      }
      if (phase.kind === 'primitive' || (phase.kind === 'chunks' && phase.chunk > 0)) {
        const wanted = phase.kind === 'primitive' ? phase.remaining : phase.chunk
        const take = Math.min(wanted, this.buf.length)
        if (take > 0) this.push(this.decipher!.update(this.buf.subarray(0, take)))
        this.buf = this.buf.subarray(take)
        if (phase.kind === 'primitive') {
          phase.remaining -= take
          if (phase.remaining > 0) return
          this.finish()
          continue
        }
        phase.chunk -= take
        if (phase.remaining !== undefined) phase.remaining -= take
        if (phase.chunk > 0) return
        if (phase.remaining === 0) this.finish()
        continue
      }
      // Between the chunks of a constructed OCTET STRING: the next chunk's header, or the end.
      if (phase.remaining === undefined && this.buf.length >= 2 && this.buf[0] === 0 && this.buf[1] === 0) {
        this.buf = this.buf.subarray(2)
        this.finish()
        continue
      }
      const h = readHeader(this.buf, 0)
      if (!h) return
      if (h.tag !== 0x04 || h.length === undefined) throw new CmsDecryptionError('the encrypted content is not an octet string')
      this.buf = this.buf.subarray(h.headerLength)
      phase.chunk = h.length
      if (phase.remaining !== undefined) phase.remaining -= h.headerLength
      if (h.length === 0 && phase.remaining === 0) this.finish()
    }
  }

  private finish(): void {
    try {
      this.push(this.decipher!.final())
    } catch {
      throw new CmsDecryptionError('the encrypted content does not decrypt (wrong key or damaged content)')
    }
    this.phase = { kind: 'trailer' }
  }
}

function asDecryptionError(error: unknown): Error {
  return error instanceof CmsDecryptionError ? error : new CmsDecryptionError('not a CMS enveloped-data message')
}

/**
 * S/MIME message or PEM in, DER out: finds the base64 body (after the MIME headers, or between the PEM armour lines)
 * and decodes it as it streams. A DER file (first byte 0x30) goes through unchanged.
 */
class Base64Unwrap extends Transform {
  private mode: 'sniff' | 'der' | 'headers' | 'body' | 'done' = 'sniff'
  private text = ''
  private carry = ''

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.accept(chunk)
      done()
    } catch (error) {
      done(asDecryptionError(error))
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.mode === 'body' && this.carry.length > 0) this.push(Buffer.from(this.carry, 'base64'))
    if (this.mode === 'sniff' || this.mode === 'headers') return done(new CmsDecryptionError('not a CMS or S/MIME message'))
    done()
  }

  private accept(chunk: Buffer): void {
    if (this.mode === 'der') return void this.push(chunk)
    if (this.mode === 'done') return
    if (this.mode === 'sniff') {
      const first = chunk.findIndex((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09)
      if (first === -1) return
      if (chunk[first] === 0x30) {
        this.mode = 'der'
        return void this.push(chunk.subarray(first))
      }
      this.mode = 'headers'
    }
    if (this.mode === 'headers') {
      this.text += chunk.toString('latin1')
      const pem = this.text.match(/-----BEGIN (?:CMS|PKCS7)-----\r?\n/)
      const mime = this.text.match(/\r?\n\r?\n/)
      let rest: string
      if (pem && (!mime || pem.index! < mime.index!)) {
        rest = this.text.slice(pem.index! + pem[0].length)
      } else if (mime) {
        const headers = this.text.slice(0, mime.index)
        if (!/content-type:\s*application\/(x-)?pkcs7-mime/i.test(headers)) throw new CmsDecryptionError('an S/MIME message of another type (application/pkcs7-mime expected)')
        if (!/content-transfer-encoding:\s*base64/i.test(headers)) throw new CmsDecryptionError('an S/MIME message not in base64')
        rest = this.text.slice(mime.index! + mime[0].length)
      } else {
        if (this.text.length > 64 * 1024) throw new CmsDecryptionError('not a CMS or S/MIME message')
        return
      }
      this.text = ''
      this.mode = 'body'
      return this.body(rest)
    }
    this.body(chunk.toString('latin1'))
  }

  private body(text: string): void {
    const end = text.indexOf('-')
    let data = (end === -1 ? text : text.slice(0, end)).replace(/[\s]/g, '')
    if (/[^A-Za-z0-9+/=]/.test(data)) throw new CmsDecryptionError('the S/MIME body is not base64')
    data = this.carry + data
    const whole = data.length - (data.length % 4)
    if (whole > 0) this.push(Buffer.from(data.slice(0, whole), 'base64'))
    this.carry = data.slice(whole)
    if (end !== -1) this.mode = 'done'
  }
}

/**
 * The clear text of an encrypted file (DER, PEM or S/MIME), as it arrives. Fails with a `CmsDecryptionError` naming
 * what is wrong with the envelope, never anything of the content; an error of `input` ends it too.
 */
export function decryptCms(input: Readable, recipient: CmsRecipient): Readable {
  return pipeline(input, new Base64Unwrap(), new CmsDecryptStream(recipient), () => {})
}
