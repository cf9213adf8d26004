import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** AES-256-GCM: 12-byte IV, 16-byte tag, ciphertext; version byte first so keys can rotate later. */
const VERSION = 1
const IV_BYTES = 12

/**
 * Random IVs drawn from the CSPRNG 4,096 at a time: one call per NIR costs more than the encryption itself on a
 * large stock. Each IV is still 96 random bits used once, as GCM with random IVs requires.
 */
let ivPool = Buffer.alloc(0)
let ivOffset = 0
function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * 4096)
    ivOffset = 0
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES)
  ivOffset += IV_BYTES
  return iv
}

export function encryptNir(key: Buffer, nir: string): Buffer {
  const iv = nextIv()
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([cipher.update(nir, 'utf8'), cipher.final()])
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body])
}

export function decryptNir(key: Buffer, sealed: Buffer): string {
  if (sealed[0] !== VERSION) throw new Error(`unknown NIR cipher version ${sealed[0]}`)
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13))
  decipher.setAuthTag(sealed.subarray(13, 29))
  return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8')
}
