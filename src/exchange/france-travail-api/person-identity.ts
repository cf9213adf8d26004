import { decryptNir } from '../../crypto/nir-cipher.ts'
import type { Queryable } from '../../db/db.ts'

/** What a call to rechercher-usager needs of a person, decrypted in memory only for the call. */
export interface CallIdentity {
  personId: number
  matchKey: string
  nir: string
  birthDate: string
}

/** Persons' NIR and birth date; a person without both is left out (they cannot be looked up). */
export async function readCallIdentities(db: Queryable, nirKey: Buffer, personIds: readonly number[]): Promise<Map<number, CallIdentity>> {
  const out = new Map<number, CallIdentity>()
  if (personIds.length === 0) return out
  const { rows } = await db.query<{ id: number; match_key: string; nir_cipher: Buffer | Uint8Array | null; date_naissance: string | Date | null }>(
    `select id, match_key, nir_cipher, date_naissance
     from persons
     where id = any($1::bigint[])`,
    [personIds],
  )
  for (const r of rows) {
    if (!r.nir_cipher || !r.date_naissance) continue
    const birthDate = r.date_naissance instanceof Date ? r.date_naissance.toISOString().slice(0, 10) : String(r.date_naissance).slice(0, 10)
    out.set(Number(r.id), { personId: Number(r.id), matchKey: r.match_key, nir: decryptNir(nirKey, Buffer.from(r.nir_cipher)), birthDate })
  }
  return out
}

/** Runs `work` over `items` with at most `concurrency` at once; results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return results
}
