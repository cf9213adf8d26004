import type { Outcome, RequestType } from './rights-request.ts'

/** French labels of data-subject requests (documents the person and the source bodies read). */
export const REQUEST_TYPE_LABELS: Record<RequestType, string> = {
  access: "Droit d'accès (art. 15 RGPD)",
  rectification: 'Droit de rectification (art. 16 RGPD)',
  limitation: 'Droit à la limitation du traitement (art. 18 RGPD)',
  opposition: "Droit d'opposition (art. 21 RGPD)",
  erasure: "Droit à l'effacement (art. 17 RGPD)",
}

export const OUTCOME_LABELS: Record<Outcome, string> = {
  granted: 'Demande satisfaite',
  partially_granted: 'Demande satisfaite en partie',
  refused: 'Demande refusée (motivée)',
  no_data: 'Aucune donnée détenue',
  withdrawn: 'Demande retirée',
}

/** Flows as the person knows their producer. */
export const FLOW_LABELS: Record<string, string> = {
  'caf-beneficiaires': "CAF (Caisse d'allocations familiales)",
  'msa-beneficiaires': 'MSA (Mutualité sociale agricole)',
  'france-travail': 'France Travail',
  orientations: 'Département (orientations)',
}

export function flowLabel(flowId: string | null): string {
  if (!flowId) return '—'
  return FLOW_LABELS[flowId] ?? flowId
}

/** What an audited action was, in the words of the access history. */
export const ACCESS_ACTION_LABELS: Record<string, string> = {
  'api.beneficiaire.read': 'Consultation de votre dossier',
  'api.beneficiaire.history': "Consultation de l'historique de votre dossier",
  'api.beneficiaires.list': 'Consultation d’une liste de suivi comprenant votre dossier',
  'rights.open': 'Enregistrement de votre demande (délégué à la protection des données)',
  'rights.extend': 'Prolongation du délai de réponse à votre demande',
  'rights.close': 'Clôture de votre demande',
  'rights.export': 'Préparation de la réponse à votre demande d’accès',
  'rights.limit': 'Limitation du traitement de vos données',
  'rights.lift': 'Levée de la limitation du traitement',
  'rights.rectification.flag': 'Signalement de données contestées',
  'rights.rectification.notice': 'Avis de rectification adressé à l’organisme source',
  'rights.rectification.corrected': 'Correction reçue de l’organisme source',
  'rights.erase': 'Effacement de données',
}

export const OUTCOME_EVENT_LABELS: Record<string, string> = {
  granted: 'Accès accordé',
  denied: 'Accès refusé',
  done: 'Effectué',
  failed: 'Non abouti',
}
