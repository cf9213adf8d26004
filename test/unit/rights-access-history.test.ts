import { describe, expect, it } from 'vitest'
import { accessHistory, type AuditEventForHistory } from '../../src/rights/access-history.ts'
import type { AccessExport } from '../../src/rights/access-export.ts'
import { renderAccessHtml } from '../../src/rights/render-access-html.ts'

const ME = 'p_me'
const OTHER = 'p_other'
const orgs = new Map([['21750000100019', { name: 'CCAS de Testville', type: 'ccas' }]])
const purposes = new Map([['accompagnement', { title: 'Accompagnement RSA' }]])

let seq = 0
const event = (e: Partial<AuditEventForHistory>): AuditEventForHistory => ({
  seq: ++seq,
  occurredAt: new Date(Date.UTC(2026, 4, 1) + seq * 3_600_000),
  actor: 'agent.nominatif@ccas.example',
  organisation: '21750000100019',
  purpose: 'accompagnement',
  action: 'api.beneficiaire.read',
  subject: ME,
  outcome: 'granted',
  details: { status: 200, tokenId: 7, access: 'current' },
  ...e,
})

describe('access history ("who accessed my file")', () => {
  it('names the organisation, the purpose, the kind of access and the outcome', () => {
    const h = accessHistory([event({})], ME, orgs, purposes)
    expect(h).toEqual([
      expect.objectContaining({
        organisation: 'CCAS de Testville',
        organisationType: 'CCAS',
        purposeTitle: 'Accompagnement RSA',
        nature: 'Consultation de votre dossier',
        outcome: 'granted',
        outcomeLabel: 'Accès accordé',
      }),
    ])
  })

  it('never tells the agent, the address, the request id or any detail', () => {
    const h = accessHistory([event({ details: { subjects: [ME, OTHER], count: 37, tokenId: 9 } , subject: null, action: 'api.beneficiaires.list' })], ME, orgs, purposes)
    const text = JSON.stringify(h)
    expect(h).toHaveLength(1)
    expect(h[0]!.nature).toMatch(/liste de suivi/)
    for (const needle of ['agent.nominatif', OTHER, '37', 'tokenId', 'subjects']) expect(text).not.toContain(needle)
  })

  it('leaves out events about others, the DPO’s audit searches and authentication', () => {
    const h = accessHistory(
      [
        event({ subject: OTHER }),
        event({ subject: null, details: { subjects: [OTHER] }, action: 'api.beneficiaires.list' }),
        event({ action: 'api.dpo.accesses.read' }),
        event({ action: 'api.dpo.audit.search' }),
        event({ action: 'api.authenticate', outcome: 'denied' }),
        event({ action: 'rights.open', organisation: null, purpose: null, outcome: 'done' }),
        event({ outcome: 'denied', details: { reason: 'limited' } }),
      ],
      ME,
      orgs,
      purposes,
    )
    expect(h.map((e) => [e.action, e.outcome])).toEqual([
      ['rights.open', 'done'],
      ['api.beneficiaire.read', 'denied'],
    ])
    expect(h[0]!.organisation).toMatch(/protection des données/)
  })

  it('escapes every value of the HTML page', () => {
    const x: AccessExport = {
      generatedAt: '2026-05-01T10:00:00.000Z',
      request: { id: 1, type: 'access', receivedOn: '2026-05-01', deadline: '2026-06-01' },
      controller: { name: 'Département <script>', contact: 'dpd@x' },
      found: true,
      sources: ['CAF'],
      data: [{ place: 'active', kind: 'personne', title: 'Identité', source: { flowId: 'caf-beneficiaires', flow: 'CAF', transmittedAt: null }, fields: [{ id: 'personne.nom', label: 'Nom', value: '<img src=x onerror=alert(1)>', display: '<img src=x onerror=alert(1)>', contested: true }] }],
      purposes: [],
      stateChanges: [],
      assignments: [{ organisation: '"><b>bold</b>', startsOn: '2026-01-01', endsOn: null }],
      limitations: [],
      queuedRecords: [],
      oppositions: [],
      requests: [],
      accessHistory: [],
    }
    const html = renderAccessHtml(x)
    expect(html).not.toMatch(/<img|<script>|<b>bold/)
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html).toContain('(contestée)')
    expect(html).not.toMatch(/<script|src="http/)
  })
})
