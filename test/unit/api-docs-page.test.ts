import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Window } from 'happy-dom'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../src/http/app.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import type { Db } from '../../src/db/db.ts'
import { testPurposes } from '../helpers/api-seed.ts'

/**
 * The /docs page: Swagger UI served from node_modules (offline), in French, with a server-rendered list of every
 * operation for readers without JavaScript.
 */
describe('documentation page', () => {
  // The page and the document are built without touching the database.
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('no database in this test')) }) as unknown as Db
  const app = createApp({ db: unused, keys: testKeys(), purposes: testPurposes(), audit: { append: async () => {} } })
  const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))

  const spec = async () =>
    (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, { operationId: string; summary: string }>> }
  const operationsOf = (doc: Awaited<ReturnType<typeof spec>>) =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, ...op })))

  it('reads without JavaScript: French, one <main>, headings in order, every operation listed, no inline or remote script', async () => {
    const response = await app.request('/docs')
    const html = await response.text()
    const window = new Window({ url: 'http://127.0.0.1/docs', settings: { disableJavaScriptEvaluation: true, disableJavaScriptFileLoading: true, disableCSSFileLoading: true } })
    window.document.write(html)
    const doc = window.document
    expect(doc.documentElement.getAttribute('lang')).toBe('fr')
    expect(doc.querySelectorAll('main').length).toBe(1)
    const levels = [...doc.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName[1]))
    expect(levels[0]).toBe(1)
    for (let i = 1; i < levels.length; i++) expect(levels[i]! - levels[i - 1]!).toBeLessThanOrEqual(1)
    const rows = [...doc.querySelectorAll('.sommaire tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim()))
    const operations = operationsOf(await spec())
    expect(rows.length).toBe(operations.length)
    for (const op of operations) expect(rows).toContainEqual([op.method, op.path, op.operationId, op.summary])
    expect(doc.querySelector('noscript')?.innerHTML).toContain('href="/openapi.json"')
    // Every script is a file of this origin; every stylesheet too.
    const scripts = [...doc.querySelectorAll('script')]
    expect(scripts.length).toBeGreaterThan(0)
    for (const s of scripts) {
      expect(s.getAttribute('src')).toMatch(/^\/docs\/assets\/[a-z-]+\.js$/)
      expect(s.textContent?.trim()).toBe('')
    }
    for (const l of doc.querySelectorAll('link[rel="stylesheet"]')) expect(l.getAttribute('href')).toMatch(/^\/docs\/assets\/[a-z-]+\.css$/)
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/)
    for (const field of doc.querySelectorAll('input, select, textarea')) expect(field.getAttribute('aria-label') ?? doc.querySelector(`label[for="${field.id}"]`)).toBeTruthy()
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/script-src 'self'(;|$)/)
    expect(csp).not.toMatch(/script-src[^;]*unsafe/)
    await window.happyDOM.close()
  })

  it('serves Swagger UI from node_modules, and nothing else under /docs/assets', async () => {
    for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const res = await app.request(`/docs/assets/${name}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(name.endsWith('.js') ? /^text\/javascript/ : /^text\/css/)
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(swaggerDir, name)))).toBe(true)
    }
    for (const name of ['package.json', '..%2Fpackage.json', 'index.html', 'swagger-initializer.js']) expect((await app.request(`/docs/assets/${name}`)).status).toBe(404)
  })

  it('renders every operation with Swagger UI from /openapi.json, offline, enum parameters as lists', async () => {
    const html = await (await app.request('/docs')).text()
    const window = new Window({ url: 'http://127.0.0.1/docs', settings: { enableJavaScriptEvaluation: true, suppressInsecureJavaScriptEnvironmentWarning: true, disableJavaScriptFileLoading: true, disableCSSFileLoading: true } })
    const errors: unknown[] = []
    window.addEventListener('error', (e) => errors.push(e))
    const fetched: string[] = []
    // The page's requests go to the app; anything else would be a request leaving the machine.
    ;(window as any).fetch = async (url: string, init?: RequestInit) => {
      const target = new URL(String(url), 'http://127.0.0.1/docs')
      fetched.push(target.origin === 'http://127.0.0.1' ? target.pathname : target.href)
      const res = await app.request(target.pathname + target.search, init)
      return new (window as any).Response(await res.text(), { status: res.status, headers: Object.fromEntries(res.headers) })
    }
    window.document.write(html.replace(/<script src="[^"]+"><\/script>/g, ''))
    // The page's scripts, as the browser would run them (happy-dom does not load script files).
    const sources = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1]!)
    for (const src of sources) (window as any).eval(await (await app.request(src)).text())
    window.dispatchEvent(new (window as any).Event('load'))
    const operations = operationsOf(await spec())
    for (let i = 0; i < 100 && window.document.querySelectorAll('.opblock').length < operations.length; i++) await new Promise((r) => setTimeout(r, 100))
    const blocks = [...window.document.querySelectorAll('.opblock-summary')].map((b) => b.textContent ?? '')
    expect(blocks.length).toBe(operations.length)
    for (const op of operations) expect(blocks.some((b) => b.includes(op.path) && b.includes(op.operationId))).toBe(true)
    expect([...new Set(fetched)]).toEqual(['/openapi.json'])
    // Open the portfolio operation: ETATDOSRSA is offered as a list, not free text.
    const d = window.document
    const list = [...d.querySelectorAll('.opblock')].find((b) => b.querySelector('.opblock-summary')?.textContent?.includes('listBeneficiaires'))!
    ;(list.querySelector('.opblock-summary-control') as any).click()
    for (let i = 0; i < 50 && !list.querySelector('tr[data-param-name="etatDroit"]'); i++) await new Promise((r) => setTimeout(r, 100))
    ;(list.querySelector('.try-out__btn') as any)?.click()
    for (let i = 0; i < 50 && !list.querySelector('tr[data-param-name="etatDroit"] select'); i++) await new Promise((r) => setTimeout(r, 100))
    const options = [...list.querySelectorAll('tr[data-param-name="etatDroit"] select option')].map((o) => o.getAttribute('value'))
    expect(options).toEqual(expect.arrayContaining(['0', '1', '2', '3', '4', '5', '6']))
    // Every field Swagger UI drew gets an accessible name (axe `label`). Under happy-dom the opened block is not
    // the node the page's MutationObserver watches, so the page's own labelling function is called on it here.
    const fields = [...list.querySelectorAll('input, select, textarea')]
    expect(fields.length).toBeGreaterThanOrEqual(5)
    ;(window as any).labelFields(list)
    const unnamed = fields.filter(
      (f) => !f.getAttribute('aria-label') && !f.getAttribute('aria-labelledby') && !(f.id && d.querySelector(`label[for="${f.id}"]`)) && !f.closest('label'),
    )
    expect(unnamed.map((f) => f.outerHTML.slice(0, 120))).toEqual([])
    expect(list.querySelector('tr[data-param-name="etatDroit"] select')?.getAttribute('aria-label')).toBe('Paramètre etatDroit (query)')
    expect(list.querySelector('select.examples-select-element')?.getAttribute('aria-label')).toBe('Exemple')
    // The page keeps one h1 (Swagger UI's title block is left out).
    expect(d.querySelectorAll('h1').length).toBe(1)
    expect(errors).toEqual([])
    await window.happyDOM.close()
  }, 60_000)
})
