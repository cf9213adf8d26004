import { Worker } from 'node:worker_threads'
import { PSEUDONYM_DIGEST_BYTES, pseudonymDigest } from './pseudonym.ts'

/**
 * HMACs of a million person keys take a few seconds of CPU: a worker thread computes them while the main thread
 * reads and projects the next rows. The worker only runs node:crypto's HMAC-SHA256 (the same call as
 * `pseudonymDigest`, checked against it in the unit tests) and hands back the first PSEUDONYM_DIGEST_BYTES bytes of
 * each digest; encoding stays in pseudonym.ts. Where a worker cannot start, digests are computed inline.
 */
export interface DigestWorker {
  /** The truncated digests of the keys, PSEUDONYM_DIGEST_BYTES bytes each, in order. */
  digests(personKeys: readonly string[]): Promise<Uint8Array>
  close(): Promise<void>
}

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHmac } = require('node:crypto')
const key = Buffer.from(workerData.key)
const width = workerData.width
parentPort.on('message', ({ id, keys }) => {
  const out = new Uint8Array(keys.length * width)
  for (let i = 0; i < keys.length; i++) {
    const digest = createHmac('sha256', key).update(keys[i], 'utf8').digest()
    out.set(digest.subarray(0, width), i * width)
  }
  parentPort.postMessage({ id, out }, [out.buffer])
})
`

function inline(derivedKey: Buffer): DigestWorker {
  return {
    async digests(personKeys) {
      const out = new Uint8Array(personKeys.length * PSEUDONYM_DIGEST_BYTES)
      personKeys.forEach((k, i) => out.set(pseudonymDigest(derivedKey, k).subarray(0, PSEUDONYM_DIGEST_BYTES), i * PSEUDONYM_DIGEST_BYTES))
      return out
    },
    async close() {},
  }
}

export function startDigestWorker(derivedKey: Buffer): DigestWorker {
  let worker: Worker
  try {
    worker = new Worker(SOURCE, { eval: true, workerData: { key: new Uint8Array(derivedKey), width: PSEUDONYM_DIGEST_BYTES } })
  } catch {
    return inline(derivedKey)
  }
  const waiting = new Map<number, { resolve: (out: Uint8Array) => void; reject: (error: unknown) => void }>()
  let next = 0
  let failure: unknown
  worker.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
    waiting.get(id)?.resolve(out)
    waiting.delete(id)
  })
  const fail = (error: unknown) => {
    failure = error
    for (const w of waiting.values()) w.reject(error)
    waiting.clear()
  }
  worker.on('error', fail)
  worker.on('exit', (code) => code !== 0 && fail(new Error(`pseudonym worker stopped (exit code ${code})`)))
  worker.unref()
  return {
    digests(personKeys) {
      if (failure) return Promise.reject(failure)
      const id = next++
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        worker.postMessage({ id, keys: personKeys })
      })
    },
    async close() {
      await worker.terminate()
    },
  }
}
