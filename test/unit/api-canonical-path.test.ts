import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { classifyApiPath, targetPath } from '../../src/http/canonical-path.ts'

/** Which request targets the API answers, and which it refuses (and audits) as non-canonical spellings of /v1. */
const segment = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,11}$/)
const canonical = fc.array(segment, { maxLength: 4 }).map((segments) => ['/v1', ...segments].join('/'))

/** Ways of writing the same path that some component along the way reads as it. */
const MUTATIONS: ((path: string, at: number) => string)[] = [
  (p) => `/${p}`,
  (p, at) => {
    const slashes = [...p.matchAll(/\//g)].map((m) => m.index)
    const i = slashes[at % slashes.length]!
    return `${p.slice(0, i)}/${p.slice(i)}`
  },
  (p) => `/V1${p.slice(3)}`,
  (p) => `${p}/`,
  (p) => `${p}/.`,
  (p) => p.replace('/v1', '/v1/.'),
  (p) => p.replace('/v1', '/v1/x/..'),
  (p) => p.replace('/v1', '/%76%31'),
  (p) => p.replace('/v1', '/v1%2F').replace('%2F/', '%2F'),
  (p) => p.replace('/v1', '/x/%2e%2e/v1'),
  (p) => p.replace('/v1', '/v1%252F').replace('%252F/', '%252F'),
  (p) => p.replaceAll('/', '\\'),
]

describe('canonical API paths', () => {
  it('accepts /v1 paths with single slashes, lower-case prefix, no encoding and no trailing slash, with or without a query', () => {
    fc.assert(
      fc.property(canonical, fc.option(fc.stringMatching(/^[a-z=&0-9%/]{0,20}$/)), (path, query) => {
        expect(classifyApiPath(query === null ? path : `${path}?${query}`)).toBe('canonical')
        expect(classifyApiPath(`http://localhost:8080${path}`)).toBe('canonical')
      }),
    )
  })

  it('classifies every other spelling of a /v1 path as non-canonical', () => {
    fc.assert(
      fc.property(canonical, fc.nat(), fc.nat({ max: MUTATIONS.length - 1 }), (path, at, m) => {
        const mutated = MUTATIONS[m]!(path, at)
        fc.pre(mutated !== path)
        expect({ mutated, kind: classifyApiPath(mutated) }).toEqual({ mutated, kind: 'non_canonical' })
      }),
      { numRuns: 2000 },
    )
  })

  it('leaves the paths outside the API alone', () => {
    for (const path of ['/', '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/favicon.ico', '/api/v1', '/x/v1/me']) {
      expect({ path, kind: classifyApiPath(path) }).toEqual({ path, kind: 'other' })
    }
  })

  it('reads the path of origin-form and absolute-form targets', () => {
    expect(targetPath('/v1/me?x=1#y')).toBe('/v1/me')
    expect(targetPath('http://host:1/v1/me?x')).toBe('/v1/me')
    expect(targetPath('http://host')).toBe('/')
  })
})
