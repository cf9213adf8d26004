import { describe, expect, it } from 'vitest'
import { CODE_LISTS } from '../../src/labels/code-labels.ts'
import { CLOSED_STATES, dossierAnchorSql, REFUSED_STATES } from '../../src/retention/anchors.ts'

describe('retention anchors', () => {
  it('end a right on the ETATDOSRSA states the catalogue labels closed or refused, and on no other', () => {
    const labels = CODE_LISTS.ETATDOSRSA as Record<string, string>
    const closed = Object.keys(labels).filter((code) => labels[code]!.startsWith('Droit clos'))
    const refused = Object.keys(labels).filter((code) => labels[code]!.startsWith('Droit refusé'))
    expect([...CLOSED_STATES].sort()).toEqual(closed.sort())
    expect([...REFUSED_STATES].sort()).toEqual(refused.sort())
  })

  it('writes the end-of-right SQL from those constants', () => {
    const sql = dossierAnchorSql('end_of_right')
    expect(sql).toContain(`in (${CLOSED_STATES.map((c) => `'${c}'`).join(', ')})`)
    expect(sql).toContain(`in (${REFUSED_STATES.map((c) => `'${c}'`).join(', ')})`)
  })
})
