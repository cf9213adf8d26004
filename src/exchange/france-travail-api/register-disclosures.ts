import { FIELDS_BY_ID } from '../../model/fields.ts'
import type { Purpose } from '../../purposes/purpose.ts'
import { CATEGORY_LABELS, GDPR_ARTICLE6_LABELS } from '../../register/labels.ts'
import type { FranceTravailApiFlow } from './api-flow.ts'
import { LOOKUP_SENDS } from './check-api-flows.ts'

/**
 * What the gateway sends to a recipient outside (GDPR Art. 30(1)(d)), from the API flows' declarations: France
 * Travail receives the NIR and birth date (rechercher-usager) and the département's orientation decisions, for the
 * flow's outbound purpose and under its legal basis.
 */
export interface RegisterDisclosure {
  recipient: string
  flow: string
  flowTitle: string
  purpose: string
  purposeTitle: string
  legalBasis: string
  categories: { label: string; detail: string }[]
}

export function registerDisclosures(flows: Iterable<FranceTravailApiFlow>, purposes: ReadonlyMap<string, Purpose>): RegisterDisclosure[] {
  return [...flows].map((flow) => {
    const purpose = purposes.get(flow.outbound.purpose)
    const gdpr = purpose?.legal_basis.gdpr
    const identity = LOOKUP_SENDS.map((id) => FIELDS_BY_ID.get(id)!).map((f) => ({
      label: CATEGORY_LABELS[f.category] ?? f.category,
      detail: `${f.label} — recherche de l'usager (rechercher-usager), à chaque lecture d'orientation et avant chaque envoi`,
    }))
    return {
      recipient: 'France Travail',
      flow: flow.id,
      flowTitle: flow.title,
      purpose: flow.outbound.purpose,
      purposeTitle: purpose?.title ?? '(finalité inconnue : voir passerelle check)',
      legalBasis: purpose ? `RGPD art. ${gdpr}${gdpr && GDPR_ARTICLE6_LABELS[gdpr] ? ` (${GDPR_ARTICLE6_LABELS[gdpr]})` : ''} ; ${purpose.legal_basis.national}` : '—',
      categories: [
        ...identity,
        {
          label: CATEGORY_LABELS['droits-devoirs'] ?? 'droits-devoirs',
          detail: `Décision d'orientation du Département (${flow.outbound.fields.join(', ')}) — orientationusager, par la file d'envoi`,
        },
      ],
    }
  })
}
