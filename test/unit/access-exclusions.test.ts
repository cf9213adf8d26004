import { describe, expect, it } from 'vitest'
import { excludedSql, processableSql, processingExclusion, type ExclusionFacts } from '../../src/access/exclusions.ts'

const at = (iso: string) => new Date(iso)
const facts = (f: Partial<ExclusionFacts>): ExclusionFacts => ({ place: 'active', limitations: [], oppositions: [], ...f })

describe('processing exclusions', () => {
  it('a limitation holds from its start (inclusive) until it is lifted (exclusive), for every purpose', () => {
    const f = facts({ limitations: [{ since: at('2026-04-11T09:00:00Z'), liftedAt: at('2026-04-20T10:00:00Z') }] })
    expect(processingExclusion(f, 'a', at('2026-04-11T08:59:59Z'))).toBeUndefined()
    expect(processingExclusion(f, 'a', at('2026-04-11T09:00:00Z'))).toBe('limited')
    expect(processingExclusion(f, 'b', at('2026-04-20T09:59:59Z'))).toBe('limited')
    expect(processingExclusion(f, 'a', at('2026-04-20T10:00:00Z'))).toBeUndefined()
  })

  it('an opposition holds from its start on, for the purpose objected to only, and is never lifted', () => {
    const f = facts({ oppositions: [{ purpose: 'a', since: at('2026-06-16T10:00:00Z') }] })
    expect(processingExclusion(f, 'a', at('2026-06-16T09:59:59Z'))).toBeUndefined()
    expect(processingExclusion(f, 'a', at('2026-06-16T10:00:00Z'))).toBe('opposed')
    expect(processingExclusion(f, 'a', at('2040-01-01T00:00:00Z'))).toBe('opposed')
    expect(processingExclusion(f, 'b', at('2040-01-01T00:00:00Z'))).toBeUndefined()
  })

  it('the archive excludes first, then a limitation, then an opposition', () => {
    const now = at('2026-06-20T00:00:00Z')
    const both = { limitations: [{ since: at('2026-01-01T00:00:00Z'), liftedAt: null }], oppositions: [{ purpose: 'a', since: at('2026-01-01T00:00:00Z') }] }
    expect(processingExclusion(facts({ ...both, place: 'archive' }), 'a', now)).toBe('archived')
    expect(processingExclusion(facts(both), 'a', now)).toBe('limited')
    expect(processingExclusion(facts({ place: 'archive' }), 'a', now)).toBe('archived')
  })

  it('builds its SQL from an alias and placeholders only', () => {
    expect(() => excludedSql('p; drop table persons', { now: '$1', purpose: '$2' })).toThrow(/invalid/)
    expect(() => processableSql('p', { now: "'2026-01-01'", purpose: '$2' })).toThrow(/invalid/)
    expect(processableSql('p', { now: '$1', purpose: '$2' })).toMatch(/not exists[\s\S]*and not exists/)
  })
})
