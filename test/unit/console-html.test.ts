import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { h, layout, table } from '../../src/console/html.ts'

describe('console HTML', () => {
  it('escapes every interpolated value: no markup from data reaches the page', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const out = h`<p>${text}</p><a title="${text}">x</a>`.value
        const inner = out.slice(3, out.indexOf('</p>'))
        expect(inner).not.toMatch(/[<>"']/)
      }),
    )
    expect(table('c', ['a'], [['<script>alert(1)</script>']]).value).toContain('&lt;script&gt;')
  })

  it('lays out a French page with one <main>, skip links and the DSFR files served locally', () => {
    const page = layout({ title: 'T', body: h`<h1>T</h1>` })
    expect(page).toContain('<html lang="fr"')
    expect(page.match(/<main /g)).toHaveLength(1)
    expect(page).toContain('href="#contenu"')
    expect(page).not.toMatch(/https?:\/\/(?!www\.)/)
    expect(page).toContain('/console/dsfr/dsfr.min.css')
  })
})
