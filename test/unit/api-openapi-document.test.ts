import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import openapiTS, { astToString } from 'openapi-typescript'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { portfolioRelation } from '../../src/access/portfolio.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import { ERROR_CODES } from '../../src/http/api-error.ts'
import { createApp } from '../../src/http/app.ts'
import { OPERATIONS } from '../../src/http/operations.ts'
import { loadPurposes } from '../../src/purposes/load-purposes.ts'

/**
 * The OpenAPI document as `passerelle serve` publishes it (the real purpose declarations of mappings/, every
 * extension): what a partner developer downloads to generate a client.
 */
const purposes = loadPurposes('mappings')
// The document is built without touching the database.
const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('no database in this test')) }) as unknown as Db
const app = createApp({ db: unused, keys: testKeys(), purposes, audit: { append: async () => {} } })
const live = async () => (await (await app.request('/openapi.json')).json()) as Record<string, any>

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const operationsOf = (doc: Record<string, any>) =>
  Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
  )

const scratch = mkdtempSync(join(tmpdir(), 'passerelle-openapi-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe('OpenAPI document', () => {
  it('names every operation with a unique camelCase operationId from the catalogue, with a French summary', async () => {
    const doc = await live()
    expect(doc.openapi).toBe('3.1.0')
    const ops = operationsOf(doc)
    const ids = ops.map((o) => o.op.operationId)
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9]*$/)
    expect(new Set(ids).size).toBe(ids.length)
    // Every operation is in the catalogue (a derived id would be unstable), and the catalogue has no stale entry.
    expect(ops.map((o) => o.key).sort()).toEqual(Object.keys(OPERATIONS).sort())
    for (const o of ops) expect(o.op.summary).toBe(OPERATIONS[o.key]!.summary)
    expect(doc.paths['/v1/beneficiaires'].get.operationId).toBe('listBeneficiaires')
    expect(doc.paths['/v1/beneficiaires/{id}'].get.operationId).toBe('getBeneficiaire')
  })

  it('documents /healthz, /readyz and /metrics without a token', async () => {
    const doc = await live()
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(doc.paths[path]?.get?.security).toEqual([])
      expect(doc.paths[path].get.responses['200']).toBeDefined()
    }
    expect(doc.paths['/readyz'].get.responses['503']).toBeDefined()
  })

  it('points every 4xx and 5xx response at the Error schema, whose code is an enum, with Retry-After on 429', async () => {
    const doc = await live()
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual([...ERROR_CODES])
    for (const o of operationsOf(doc)) {
      const statuses = Object.keys(o.op.responses)
      if (o.path.startsWith('/v1/')) {
        expect(statuses.some((s) => s.startsWith('4')), o.key).toBe(true)
        expect(statuses, o.key).toContain('429')
      }
      for (const status of statuses) {
        if (Number(status) < 400 || o.path === '/readyz') continue
        const response = o.op.responses[status]
        expect(Object.keys(response.content), `${o.key} ${status}`).toEqual(['application/json'])
        expect(response.content['application/json'].schema, `${o.key} ${status}`).toEqual({ $ref: '#/components/schemas/Error' })
        if (status === '429') expect(response.headers?.['Retry-After']?.schema?.type, o.key).toBe('integer')
      }
    }
  })

  it('lists every error code the source can answer with', () => {
    // Any `badRequest('x'`, `new ApiError(n, 'x'`, `errorBody('x'` or HTTPException mapping under src/.
    const found = new Set<string>()
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name)
        if (statSync(path).isDirectory()) walk(path)
        else if (path.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8')
          for (const m of text.matchAll(/(?:badRequest\(|new ApiError\(\s*\d+,\s*|errorBody\()\s*'([a-z_]+)'/g)) found.add(m[1]!)
          // The mapping of Hono's HTTPException statuses: `const code = status === 415 ? 'a' : ... : 'z'`.
          for (const line of text.split('\n').filter((l) => /const code = status ===/.test(l))) for (const m of line.matchAll(/'([a-z_]+)'/g)) found.add(m[1]!)
        }
      }
    }
    walk('src')
    expect(found.size).toBeGreaterThan(10)
    expect(found).toContain('unsupported_media_type')
    const missing = [...found].filter((code) => !(ERROR_CODES as readonly string[]).includes(code))
    expect(missing).toEqual([])
  })

  it('documents every portfolio purpose’s data shape, the instructor’s included, with a synthetic example', async () => {
    const doc = await live()
    const served = [...purposes.values()].filter((p) => p.recipients.some((r) => portfolioRelation(r.role) !== undefined))
    expect(served.some((p) => p.recipients.some((r) => r.role === 'instructor'))).toBe(true)
    const refs = doc.components.schemas.BeneficiaireData.oneOf.map((s: { $ref: string }) => s.$ref)
    expect(refs.sort()).toEqual(served.map((p) => `#/components/schemas/Donnees_${p.id}`).sort())
    for (const p of served) {
      const schema = doc.components.schemas[`Donnees_${p.id}`]
      const names = p.fields.filter((f) => f.transform !== 'omit').map((f) => f.as ?? f.field.split('.').at(-1))
      expect(Object.keys(schema.properties).sort()).toEqual([...names].sort())
      expect(Object.keys(schema.examples[0]).sort()).toEqual([...names].sort())
      expect(doc.paths['/v1/beneficiaires/{id}'].get.responses['200'].content['application/json'].examples[p.id].value.data).toEqual(schema.examples[0])
    }
    const instruction = doc.components.schemas.Donnees_instruction
    expect(instruction.properties.nir.type).toEqual(['string', 'null'])
    // The example NIR is plainly fictitious: département 99, commune 999.
    expect(instruction.examples[0].nir).toBe('199999999999999')
  })

  it('declares limits as schema bounds and enumerated parameters as enums', async () => {
    const doc = await live()
    let limits = 0
    for (const o of operationsOf(doc)) {
      for (const p of o.op.parameters ?? []) {
        if (p.name === 'limit') {
          limits++
          expect(p.schema.type, o.key).toBe('integer')
          expect(p.schema.minimum, o.key).toBe(1)
          expect(typeof p.schema.maximum, o.key).toBe('number')
        }
      }
    }
    expect(limits).toBeGreaterThanOrEqual(8)
    const list = doc.paths['/v1/beneficiaires'].get.parameters
    const param = (name: string) => list.find((p: { name: string }) => p.name === name).schema
    expect(param('limit')).toMatchObject({ minimum: 1, maximum: 200, default: 50 })
    expect(param('etatDroit').enum).toEqual(['0', '1', '2', '3', '4', '5', '6'])
    expect(param('soumisDroitsDevoirs').enum).toEqual(['true', 'false'])
  })

  it('passes `redocly lint` (recommended rules) with no error and no warning', async () => {
    const file = join(scratch, 'openapi.json')
    writeFileSync(file, JSON.stringify(await live(), null, 2))
    const run = promisify(execFile)
    const result = await run(join('node_modules', '.bin', 'redocly'), ['lint', file, '--config', 'redocly.yaml', '--format', 'json'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      maxBuffer: 20 * 1024 * 1024,
    }).catch((error: { stdout?: string; stderr?: string; code?: number }) => error)
    const out = JSON.parse(String(result.stdout).slice(String(result.stdout).indexOf('{'))) as { totals: { errors: number; warnings: number; ignored: number }; problems: { ruleId: string; message: string }[] }
    expect(out.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([])
    expect(out.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 })
  }, 120_000)

  it('generates TypeScript types (openapi-typescript) against which a small client compiles', async () => {
    const types = astToString(await openapiTS((await live()) as never))
    writeFileSync(join(scratch, 'api.ts'), types)
    writeFileSync(
      join(scratch, 'client.ts'),
      `import type { components, operations } from './api'

type Page = operations['listBeneficiaires']['responses'][200]['content']['application/json']
type One = operations['getBeneficiaire']['responses'][200]['content']['application/json']
type ListQuery = NonNullable<operations['listBeneficiaires']['parameters']['query']>
type ErrorCode = components['schemas']['Error']['error']['code']

declare function get<T>(path: string): Promise<T>

/** An instructor's client: the first person of the portfolio, then their NIR (null when unknown). */
export async function firstNir(query: ListQuery): Promise<string | null> {
  const page = await get<Page>('/v1/beneficiaires?limit=' + String(query.limit ?? 50))
  const first = page.items[0]
  if (!first) return null
  const one = await get<One>('/v1/beneficiaires/' + first.id)
  const data = one.data
  if (!('nir' in data)) return null
  const nir: string | null = data.nir
  // @ts-expect-error the NIR is text, never a number
  const asNumber: number = data.nir
  void asNumber
  return nir
}

export const query: ListQuery = { limit: 10, etatDroit: '2' }
// @ts-expect-error etatDroit is an ETATDOSRSA code
export const badQuery: ListQuery = { etatDroit: '9' }
export const code: ErrorCode = 'rate_limited'
// @ts-expect-error not an error code of the API
export const badCode: ErrorCode = 'teapot'
export const instruction: components['schemas']['Donnees_instruction']['nir'] = null
`,
    )
    const program = ts.createProgram([join(scratch, 'client.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      types: [],
    })
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    expect(diagnostics).toEqual([])
  }, 60_000)
})
