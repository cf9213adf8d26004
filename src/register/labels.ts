import type { FieldCategory } from '../model/fields.ts'
import type { Role } from '../purposes/purpose.ts'
import type { Anchor, PolicyScope } from '../retention/policy.ts'

/** French labels of the register (the document the DPO and the CNIL read). */

export const GDPR_ARTICLE6_LABELS: Record<string, string> = {
  '6(1)(a)': 'Consentement de la personne concernée (art. 6.1.a RGPD)',
  '6(1)(b)': "Exécution d'un contrat (art. 6.1.b RGPD)",
  '6(1)(c)': 'Respect d’une obligation légale (art. 6.1.c RGPD)',
  '6(1)(d)': 'Sauvegarde des intérêts vitaux (art. 6.1.d RGPD)',
  '6(1)(e)': "Exécution d'une mission d'intérêt public ou relevant de l'exercice de l'autorité publique (art. 6.1.e RGPD)",
  '6(1)(f)': 'Intérêts légitimes (art. 6.1.f RGPD)',
}

export const ROLE_LABELS: Record<Role, string> = {
  referent: 'Référent de parcours (référent unique)',
  'structure-manager': 'Responsable de structure',
  instructor: 'Instructeur du Département',
  statistician: 'Statisticien',
  dpo: 'Délégué à la protection des données',
  admin: 'Administrateur de Passerelle',
}

export const ORGANISATION_TYPE_LABELS: Record<string, string> = {
  departement: 'Département',
  'france-travail': 'France Travail',
  ccas: 'CCAS',
  cias: 'CIAS',
  association: 'Association conventionnée',
  caf: 'CAF',
  msa: 'MSA',
  statistique: 'Service statistique (DREES, observatoire)',
  autre: 'Autre organisme',
}

export const CATEGORY_LABELS: Record<FieldCategory, string> = {
  identifiant: 'Identifiants',
  'etat-civil': 'État civil',
  adresse: 'Adresse',
  'situation-familiale': 'Situation familiale et composition du foyer',
  'droit-rsa': 'Droit au RSA',
  'droits-devoirs': 'Droits et devoirs',
  financier: 'Données financières',
  emploi: 'Emploi et insertion professionnelle',
  contact: 'Coordonnées (téléphone, adresse électronique), selon l’accord de la personne',
  sante: 'Santé (catégorie particulière, art. 9 RGPD)',
}

/** Category order in the register. */
export const CATEGORY_ORDER: readonly FieldCategory[] = [
  'identifiant',
  'etat-civil',
  'adresse',
  'situation-familiale',
  'droit-rsa',
  'droits-devoirs',
  'emploi',
  'contact',
  'financier',
  'sante',
]

export const AUDIT_LABELS: Record<string, string> = {
  full: 'Chaque accès est journalisé avec la personne concernée (pseudonyme à clé), dans le journal chaîné',
  metadata: 'Chaque accès est journalisé sans personne concernée (extraits et agrégats)',
}

export const ANCHOR_LABELS: Record<Anchor, string> = {
  transmission: "la transmission de l'information (une nouvelle transmission relance le délai)",
  end_of_right: 'la fin du droit au RSA (clôture, refus ou fin de transmission du dossier)',
  last_activity: 'la dernière activité sur la donnée',
  decision: 'la dernière décision sur le droit',
  event: "l'événement enregistré",
}

export const SCOPE_LABELS: Record<PolicyScope, string> = {
  'flow-data': 'Données reçues des flux',
  purpose: "Données d'une finalité",
  'audit-log': "Journal d'audit",
  rejections: 'Enregistrements rejetés (sans valeur)',
  'staging-files': 'Fichiers en cours de traitement',
  'extract-files': 'Fichiers d’extraction statistique',
  'api-tokens': "Jetons d'accès à l'API",
  'matching-queue': 'Enregistrements France Travail en attente de rapprochement',
}

export const TRANSFERS_OUTSIDE_EU = "Aucun transfert hors de l'Union européenne : données hébergées et traitées en France"
