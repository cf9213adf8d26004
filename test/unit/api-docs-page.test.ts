import { Window } from 'happy-dom'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import { testPurposes } from '../helpers/api-seed.ts'

/** The /docs page, run in a DOM: its inline script renders every operation of the OpenAPI document, offline. */
describe('documentation page', () => {
  // The page and the document are built without touching the database.
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('no database in this test')) }) as unknown as Db
  const app = createApp({ db: unused, keys: testKeys(), purposes: testPurposes(), audit: { append: async () => {} } })

  it('renders every operation and schema, with a try-it form, from the embedded document', async () => {
    const spec = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } }
    const html = await (await app.request('/docs')).text()
    const window = new Window({ url: 'http://127.0.0.1/docs', settings: { enableJavaScriptEvaluation: true, disableJavaScriptFileLoading: true, disableCSSFileLoading: true } })
    const errors: unknown[] = []
    window.addEventListener('error', (e) => errors.push(e))
    window.document.write(html)
    await window.happyDOM.waitUntilComplete()
    const summaries = [...window.document.querySelectorAll('#ops details.op > summary')].map((s) => s.textContent?.replace(/\s+/g, ' ').trim())
    const operations = Object.entries(spec.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()}${path}`))
    expect(summaries.length).toBe(operations.length)
    for (const op of operations) expect(summaries.some((s) => s?.replace(/\s/g, '').startsWith(op))).toBe(true)
    expect(window.document.querySelectorAll('#ops button').length).toBe(operations.length)
    expect(window.document.querySelectorAll('#schemas details').length).toBe(Object.keys(spec.components.schemas).length)
    expect(errors).toEqual([])
    await window.happyDOM.close()
  })
})
