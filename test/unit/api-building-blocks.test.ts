import { describe, expect, it } from 'vitest'
import { testKeys } from '../../src/crypto/keys.ts'
import { decryptNir, encryptNir } from '../../src/crypto/nir-cipher.ts'
import { ApiError } from '../../src/http/api-error.ts'
import { loadConfig } from '../../src/config/config.ts'
import { decodeCursor, encodeCursor } from '../../src/http/cursor.ts'
import { purposeDataSchema } from '../../src/http/openapi-document.ts'
import { RateLimiter } from '../../src/http/rate-limiter.ts'
import { canonicalRecordFromRow, purposeFields, selectFields, stateChangeField } from '../../src/model/canonical-records.ts'
import { project } from '../../src/purposes/project.ts'
import { parsePurpose, type Purpose } from '../../src/purposes/purpose.ts'

const purpose = (fields: unknown[]): Purpose =>
  parsePurpose(
    {
    title: 'T',
    title_en: 'T',
    description: 'D',
    description_en: 'D',
    controller: { name: 'C', contact: 'c@example.org' },
    legal_basis: { gdpr: '6(1)(e)', national: 'CASF' },
    data_subjects: ['x'],
    recipients: [{ role: 'referent', organisation_types: ['ccas'] }],
    source_flows: ['caf-beneficiaires'],
    fields,
    retention: 'r',
    },
    'p',
  )

describe('token bucket', () => {
  it('allows a burst, then the refill rate, per key', () => {
    const limiter = new RateLimiter(2, 3)
    const t0 = 1_000_000
    expect([1, 2, 3, 4].map(() => limiter.take('a', t0).ok)).toEqual([true, true, true, false])
    expect(limiter.take('b', t0).ok).toBe(true)
    expect(limiter.take('a', t0 + 499).ok).toBe(false)
    // 1 s at 2 per second refills two requests.
    expect(limiter.take('a', t0 + 1000).ok).toBe(true)
    expect(limiter.take('a', t0 + 1000).ok).toBe(true)
    const refused = limiter.take('a', t0 + 1000)
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 1 })
  })

  it('does not drain when the clock steps back', () => {
    const limiter = new RateLimiter(1, 2)
    limiter.take('a', 10_000)
    expect(limiter.take('a', 0).ok).toBe(true)
  })
})

describe('page cursors', () => {
  const key = Buffer.alloc(32, 7)
  it('round-trip, and refuse forgeries and other lists’ cursors', () => {
    const c = encodeCursor(key, 'beneficiaires', 123456)
    expect(decodeCursor(key, 'beneficiaires', c)).toBe(123456)
    expect(decodeCursor(key, 'beneficiaires', undefined)).toBe(0)
    expect(() => decodeCursor(key, 'historique', c)).toThrow(ApiError)
    expect(() => decodeCursor(key, 'beneficiaires', c.replace(/^[0-9a-z]+/, 'zz'))).toThrow(ApiError)
    expect(() => decodeCursor(Buffer.alloc(32, 8), 'beneficiaires', c)).toThrow(ApiError)
    expect(() => decodeCursor(key, 'beneficiaires', "1.' or 1=1 --")).toThrow(ApiError)
  })
})

describe('canonical records', () => {
  const keys = testKeys()
  it('read only the declared fields, typed, with the NIR decrypted', () => {
    const p = purpose([
      { field: 'personne.nir', as: 'nir' },
      { field: 'dossier.etatDroit' },
      { field: 'dossier.montantDroitTotal', as: 'montant' },
      { field: 'dossier.nombrePersonnes', as: 'n' },
      { field: 'personne.dateNaissance', as: 'annee', transform: 'year' },
      { field: 'personne.nom', transform: 'omit' },
    ])
    const fields = purposeFields(p)
    expect(fields.map((f) => f.id)).toEqual(['personne.nir', 'dossier.etatDroit', 'dossier.montantDroitTotal', 'dossier.nombrePersonnes', 'personne.dateNaissance'])
    expect(selectFields(fields, ['persons'])).toEqual(['p.nir_cipher as "personne.nir"', 'p.date_naissance as "personne.dateNaissance"'])
    const row = {
      'personne.nir': encryptNir(keys.nir, '1800175123456'),
      'dossier.etatDroit': '2',
      'dossier.montantDroitTotal': 612.5,
      'dossier.nombrePersonnes': '3',
      'personne.dateNaissance': new Date('1980-01-15T00:00:00Z'),
      'personne.nom': 'must not be read',
    }
    const record = canonicalRecordFromRow(row, fields, keys)
    expect(record).toEqual({
      'personne.nir': '1800175123456',
      'dossier.etatDroit': '2',
      'dossier.montantDroitTotal': '612.50',
      'dossier.nombrePersonnes': 3,
      'personne.dateNaissance': '1980-01-15',
    })
    expect(project(record, p)).toEqual({ nir: '1800175123456', etatDroit: '2', montant: '612.50', n: 3, annee: 1980 })
    expect(decryptNir(keys.nir, row['personne.nir'])).toBe('1800175123456')
  })

  it('maps state changes to catalogue fields', () => {
    expect(stateChangeField('etat_droit', true)?.id).toBe('dossier.etatDroit')
    expect(stateChangeField('france_travail.etat', false)?.id).toBe('franceTravail.etat')
    expect(stateChangeField('transmission_state', true)).toBeUndefined()
    expect(stateChangeField('dossier.etatDroit', true)?.id).toBe('dossier.etatDroit')
  })
})

describe('OpenAPI data schemas', () => {
  it('describe exactly the purpose’s fields, typed after their transform', () => {
    const schema = purposeDataSchema(
      purpose([{ field: 'personne.dateNaissance', as: 'annee', transform: 'year' }, { field: 'dossier.soumisDroitsDevoirs' }, { field: 'personne.nom', transform: 'omit' }]),
    ) as any
    expect(Object.keys(schema.properties)).toEqual(['annee', 'soumisDroitsDevoirs'])
    expect(schema.properties.annee.type).toEqual(['integer', 'null'])
    expect(schema.properties.soumisDroitsDevoirs.type).toEqual(['boolean', 'null'])
    expect(schema.additionalProperties).toBe(false)
  })
})

describe('API options', () => {
  it('parse the environment and list every bad variable', () => {
    expect(loadConfig({}).api.graceDays).toBe(30)
    expect(loadConfig({ PASSERELLE_API_GRACE_DAYS: '10', PASSERELLE_API_RATE_PER_SECOND: '5' }).api).toMatchObject({ graceDays: 10, rateLimit: { perSecond: 5, burst: 100 } })
    expect(() => loadConfig({ PASSERELLE_API_GRACE_DAYS: '-1', PASSERELLE_API_TRUST_PROXY: 'yes' })).toThrow(/PASSERELLE_API_GRACE_DAYS[\s\S]*PASSERELLE_API_TRUST_PROXY/)
  })
})
