import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FranceTravailApiFlowSchema } from '../../src/exchange/france-travail-api/api-flow.ts'
import { checkApiFlows } from '../../src/exchange/france-travail-api/check-api-flows.ts'
import { classifyLookup, safeCode, validateOrientationAnswer } from '../../src/exchange/france-travail-api/operations.ts'
import { QuotaLimiter } from '../../src/exchange/france-travail-api/quota-limiter.ts'
import { outboundOrientation } from '../../src/outbox/outbound-payload.ts'
import { testPurposes } from '../helpers/api-seed.ts'

const flowDoc = (over: Record<string, unknown> = {}) => ({
  title: 't',
  producer: 'France Travail',
  source: {
    type: 'francetravail-api',
    token_url: 'https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire',
    client_id: 'PAR_x',
    client_secret_env: 'FT_API_CLIENT_SECRET',
    scopes: ['api_rechercher-usagerv2'],
    base_url: 'https://api.francetravail.io',
    quota_per_second: 10,
  },
  schedule: '0 5 * * *',
  retention: 'france-travail-api',
  outbound: { purpose: 'instruction', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { 'france-travail': 'PED' } },
  ...over,
})

describe('France Travail API flow declaration', () => {
  it('takes the NAME of the secret variable, never a secret', () => {
    expect(FranceTravailApiFlowSchema.safeParse(flowDoc()).success).toBe(true)
    const bad = flowDoc({ source: { ...flowDoc().source, client_secret_env: 's3cr3t-value!' } })
    const parsed = FranceTravailApiFlowSchema.safeParse(bad)
    expect(parsed.success).toBe(false)
    expect(JSON.stringify(parsed.error?.issues)).not.toContain('s3cr3t-value!')
  })
  it('rejects unknown keys, a missing quota and a bad schedule', () => {
    expect(FranceTravailApiFlowSchema.safeParse(flowDoc({ extra: 1 })).success).toBe(false)
    expect(FranceTravailApiFlowSchema.safeParse(flowDoc({ schedule: 'often' })).success).toBe(false)
    const { quota_per_second: _q, ...source } = flowDoc().source
    expect(FranceTravailApiFlowSchema.safeParse(flowDoc({ source })).success).toBe(false)
  })
  it('is cross-checked: the outbound purpose declares the NIR and birth date sent, known structure types, a known policy', () => {
    const flow = { id: 'ft', ...FranceTravailApiFlowSchema.parse(flowDoc({ outbound: { purpose: 'test-accompagnement', fields: ['parcours'], parcours_by_organisation_type: { mairie: 'PED' } } })) }
    const problems = checkApiFlows(new Map([['ft', flow]]), testPurposes(), new Set(['rsa-beneficiaires']))
    expect(problems.join('\n')).toMatch(/does not declare personne\.nir/)
    expect(problems.join('\n')).toMatch(/unknown organisation type "mairie"/)
    expect(problems.join('\n')).toMatch(/unknown retention policy "france-travail-api"/)
  })
})

describe('reading France Travail answers', () => {
  it('classifies rechercher-usager answers: found, several (S003), not recognised (ID_NON_RECONNU), failed', () => {
    expect(classifyLookup(200, { codeRetour: 'S001', jetonUsager: 'j', identifiant: 'FT1' })).toEqual({ outcome: 'found', userToken: 'j', identifier: 'FT1', code: 'S001' })
    expect(classifyLookup(400, { codeRetour: 'S003', message: 'plusieurs' })).toEqual({ outcome: 'several', code: 'S003' })
    expect(classifyLookup(400, { codeHttp: 400, codeErreur: 'ID_NON_RECONNU' })).toEqual({ outcome: 'not_recognised', code: 'ID_NON_RECONNU' })
    expect(classifyLookup(400, { codeRetour: 'E001' })).toEqual({ outcome: 'failed', code: 'E001' })
  })
  it('never turns a value of the answer into a code (a code is [A-Z0-9_] only)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 200, max: 599 }), (text, status) => {
        const r = classifyLookup(status, { codeRetour: text, message: text })
        expect(r.code === text && !/^[A-Z0-9_]{1,40}$/.test(text)).toBe(false)
      }),
    )
  })
  it('validates an orientation like a file record: issues name fields and rules, never values', () => {
    expect(validateOrientationAnswer(204, undefined)).toEqual({ outcome: 'none' })
    const ok = validateOrientationAnswer(200, [{ parcours: 'PSO', organisme: 'CD', date_creation: '2026-02-01T10:00:00', extra: 'dropped' }])
    expect(ok).toMatchObject({ outcome: 'read', orientation: { parcours: 'PSO', dateEntreeParcours: '2026-02-01' } })
    const bad = validateOrientationAnswer(200, [{ parcours: 'DUPONT Jean', date_modification: '1980-13-45 1 80 01 75 123 456' }])
    expect(bad.outcome).toBe('rejected')
    expect(JSON.stringify(bad)).not.toMatch(/DUPONT|123 456/)
  })
  it('rejects a date that is not on the calendar (2024-02-30), naming the field: it never reaches the database to fail the batch', () => {
    for (const field of ['date_modification', 'date_entree_parcours', 'date_creation']) {
      expect(validateOrientationAnswer(200, [{ parcours: 'PSO', [field]: '2024-02-30' }])).toEqual({ outcome: 'rejected', issues: [{ field, rule: 'format' }] })
    }
    expect(validateOrientationAnswer(200, [{ parcours: 'PSO', date_modification: '2024-02-29T08:00:00' }])).toMatchObject({ outcome: 'read', orientation: { dateModification: '2024-02-29' } })
  })
  it('keeps no code echoing what the request sent: a NIR, a birth date (compact or not), any run of five digits', () => {
    for (const echoed of ['1810175100001', '181017510000142', '19810115', 'E19810115', 'NIR_1810175100001', '2A10175100001', '1981-01-15']) {
      expect(classifyLookup(400, { codeRetour: echoed })).toEqual({ outcome: 'failed', code: 'http_400' })
      expect(classifyLookup(400, { codeErreur: echoed })).toEqual({ outcome: 'failed', code: 'http_400' })
    }
    fc.assert(
      fc.property(fc.stringMatching(/^\d{5,15}$/), fc.stringMatching(/^[A-Z_]{0,5}$/), (digits, prefix) => {
        expect(classifyLookup(422, { codeRetour: `${prefix}${digits}` }).code).toBe('http_422')
      }),
    )
    expect(safeCode('S001')).toBe('S001')
    expect(safeCode('ID_NON_RECONNU')).toBe('ID_NON_RECONNU')
  })
})

describe('outbound allow-list', () => {
  const outbound = FranceTravailApiFlowSchema.parse(flowDoc()).outbound
  it('sends only parcours, origine and organisme CD', () => {
    expect(outboundOrientation({ organisationType: 'france-travail', startsOn: '2026-01-01' }, outbound, null)).toEqual({ payload: { parcours: 'PED', origine: 'INSCRIPTION_AUTO_CAF', organisme: 'CD' } })
    expect(outboundOrientation({ organisationType: 'ccas', startsOn: '2026-01-01' }, outbound, null)).toEqual({ rule: 'no_parcours_for_structure_type' })
    expect(outboundOrientation({ organisationType: 'france-travail', startsOn: '2026-01-01' }, { ...outbound, fields: ['parcours'] }, null)).toEqual({ rule: 'required_field_not_allowed' })
  })
})

describe('quota limiter', () => {
  it('never starts more than the quota in any sliding second, whatever the callers do (simulated clock)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 10, maxLength: 120 }), async (quota, gaps) => {
        let clock = 0
        const limiter = new QuotaLimiter(quota, { now: () => clock, guardMs: 0 })
        const starts: number[] = []
        // Each sleep of the limiter advances the simulated clock (timers resolve at once under the fake clock).
        for (const gap of gaps) {
          clock += gap
          const wait = limiter.acquire()
          // Drive the clock until the turn is granted.
          let granted = false
          void wait.then(() => (granted = true))
          for (let i = 0; i < 10_000 && !granted; i++) {
            await new Promise((r) => setImmediate(r))
            if (!granted) clock += 1
          }
          starts.push(clock)
        }
        for (let i = quota; i < starts.length; i++) expect(starts[i]! - starts[i - quota]!).toBeGreaterThanOrEqual(1000)
      }),
      { numRuns: 20 },
    )
  })
})

describe('quota limiter dated by answers', () => {
  it('never lets more than the quota arrive in any sliding second, however late requests reach the receiver, since they do before their answer comes back (simulated clock)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        // Per call: the gap before it, its transit to the receiver (up to half a second: a starved process), then until
        // its answer is back.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 40 })), { minLength: 10, maxLength: 120 }),
        async (quota, calls) => {
          let clock = 0
          const releases: { at: number; release: () => void }[] = []
          // Time passes event by event: each answer is released exactly when it comes back.
          const advance = (ms: number) => {
            const until = clock + ms
            for (;;) {
              releases.sort((a, b) => a.at - b.at)
              if (!releases[0] || releases[0].at > until) break
              const r = releases.shift()!
              clock = Math.max(clock, r.at)
              r.release()
            }
            clock = until
          }
          const limiter = new QuotaLimiter(quota, { now: () => clock, sleep: async (ms) => advance(ms) })
          const arrivals: number[] = []
          for (const [gap, transit, back] of calls) {
            advance(gap)
            const release = await limiter.acquire()
            arrivals.push(clock + transit)
            releases.push({ at: clock + transit + back, release })
          }
          arrivals.sort((a, b) => a - b)
          for (let i = quota; i < arrivals.length; i++) expect(arrivals[i]! - arrivals[i - quota]!).toBeGreaterThanOrEqual(1000)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('dates a call by its answer, so a full second costs the quota only the latency (simulated clock)', async () => {
    let clock = 0
    const limiter = new QuotaLimiter(10, { now: () => clock, sleep: async (ms) => void (clock += ms) })
    const starts: number[] = []
    for (let i = 0; i < 30; i++) {
      const release = await limiter.acquire()
      starts.push(clock)
      clock += 5
      release() // answered 5 ms after it started
    }
    // 10 per window of 1000 + 5 ms, not 1000 + 100.
    expect(starts[20]! - starts[10]!).toBeLessThan(1100)
    expect(starts[20]! - starts[10]!).toBeGreaterThanOrEqual(1000)
  })
})

describe('register', () => {
  it('lists France Travail as recipient of the NIR, birth date and orientation decisions, with the purpose and its legal basis', async () => {
    const { registerDisclosures } = await import('../../src/exchange/france-travail-api/register-disclosures.ts')
    const flow = { id: 'france-travail-api', ...FranceTravailApiFlowSchema.parse(flowDoc({ outbound: { purpose: 'test-nir', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { ccas: 'PSP' } } })) }
    const [d] = registerDisclosures([flow], testPurposes())
    expect(d!.recipient).toBe('France Travail')
    expect(d!.purpose).toBe('test-nir')
    expect(d!.legalBasis).toMatch(/6\(1\)\(e\)/)
    expect(d!.categories.map((c) => c.detail).join('\n')).toMatch(/NIR[\s\S]*Date de naissance[\s\S]*parcours, origine, organisme/)
  })
})
