import {
  BOOLEAN,
  ETATDOSRSA,
  FONORG,
  MOTICLORSA,
  MOTISUSVERSRSA,
  NATPREST,
  ORIDEMRSA,
  QUAL,
  ROLEPERS,
  SEXE,
  SITFAM,
  TYPEDTNAI,
  NATFLUX,
  TYPEFLUX,
} from '../ingestion/cnaf/code-lists.ts'
import type { FieldId } from '../model/fields.ts'

/**
 * The French label of every code a person reads: the CNAF VRSB0801 code lists (../shared/reference/flows.md §1.4)
 * and the France Travail states and categories. One catalogue for the access answer, the register, the extract
 * codebook (and the console and the docs): a code is shown as `2 — Droit ouvert et versable`, never bare.
 *
 * Wording: flows.md §1.4 where it gives one; otherwise the labels WebRSA shows for the same CNAF codes
 * (Option.php, *.po). Codes the public sources list without a wording say so (`libellé non publié`) rather than
 * guess. France Travail categories: the DARES definitions of the categories of job seekers.
 */
export const CODE_LISTS = {
  ETATDOSRSA: {
    '0': 'Nouvelle demande en attente de décision du Conseil départemental',
    '1': 'Droit refusé',
    '2': 'Droit ouvert et versable',
    '3': 'Droit ouvert et suspendu',
    '4': 'Droit ouvert mais versement suspendu',
    '5': 'Droit clos',
    '6': 'Droit clos sur mois antérieur ayant eu des créances transférées ou une régularisation dans le mois de référence',
  },
  ROLEPERS: {
    DEM: 'Demandeur',
    CJT: 'Conjoint',
    ENF: 'Enfant',
    AUT: 'Autre personne',
    RDO: 'Responsable du dossier',
  },
  NATPREST: {
    RSA: 'Revenu de solidarité active',
    PFA: 'Prestations familiales',
  },
  SEXE: {
    '1': 'Homme',
    '2': 'Femme',
  },
  QUAL: {
    MR: 'Monsieur',
    MME: 'Madame',
    MLE: 'Mademoiselle',
  },
  TYPEDTNAI: {
    J: 'Jour de naissance inconnu',
    N: 'Jour et mois de naissance connus',
    O: 'Jour et mois de naissance inconnus',
  },
  SITFAM: {
    CEL: 'Célibataire',
    MAR: 'Mariage',
    PAC: 'PACS',
    VIM: 'Vie maritale',
    DIV: 'Divorcé(e)',
    SEF: 'Séparation de fait',
    SEL: 'Séparation légale',
    VEU: 'Veuvage',
    ISO: 'Isolement après vie maritale ou PACS',
    RVC: 'Reprise de la vie commune',
    RVM: 'Reprise de la vie maritale',
    RPA: 'Reprise du PACS',
    ABA: 'Disparu (absence)',
  },
  FONORG: {
    CAF: "Caisse d'allocations familiales (CAF)",
    MSA: 'Mutualité sociale agricole (MSA)',
  },
  NATFLUX: {
    D: 'Flux des bénéficiaires',
    I: "Flux d'instruction",
    R: 'Nouveau recueil',
  },
  TYPEFLUX: {
    M: 'Mensuel',
    I: 'Quotidien (infra-mensuel)',
    R: 'Reprise',
  },
  ORIDEMRSA: {
    DEM: 'Demande de RSA',
    RMI: 'Bascule depuis le RMI',
    API: "Bascule depuis l'API (allocation de parent isolé)",
  },
  MOTICLORSA: {
    PCG: 'Clôture sur décision du président du Conseil départemental',
    ECH: 'Clôture à échéance (quatre mois sans droit)',
    EFF: 'Clôture suite à l’annulation de la bascule RMI ou API',
    MUT: 'Clôture suite à la mutation du dossier dans un autre organisme',
    RGD: 'Clôture pour regroupement de dossiers',
    RFD: 'Radié fin de droit',
    RAU: 'Radié autre motif',
    RST: 'Radié option RSTA (outre-mer)',
    RSO: 'Radié option RSO (outre-mer)',
  },
  MOTISUSVERSRSA: {
    '01': 'Ressources trop élevées',
    '02': 'Moins de 25 ans sans enfant ni autre personne à charge',
    '03': 'Activité non conforme',
    '04': 'Titre de séjour non valide',
    '05': 'RSA inférieur au seuil de versement',
    '06': 'Déclaration trimestrielle de ressources non fournie',
    '09': 'Résidence non conforme',
    '19': "Pas d'allocataire",
    '31': 'Prestation exclue (affiliation partielle)',
    '34': 'Régime non conforme',
    '35': "Demande d'avantage vieillesse absente ou tardive",
    '36': 'Titre de séjour absent ou non valide',
    '44': 'Hospitalisation',
    '70': 'Action non engagée',
    '78': 'Surface pondérée supérieure au plafond ou inconnue',
    '84': 'Droit éteint',
    '85': "Pas d'allocataire",
    '97': "Bénéficiaire de l'AAH réduite",
    AB: 'Allocataire absent du foyer',
    CV: 'Attente de décision du président du Conseil départemental',
    CG: 'Application d’une sanction',
    CZ: 'Activité non conforme',
    DA: 'Étudiant, rémunération insuffisante',
    DB: 'Étudiant hors conditions',
    DC: 'Activité non conforme (étudiant)',
  },
  /** Refusal reasons: F + the code of the matching payment-suspension reason, and the decision codes. */
  MOTIREFURSA: {
    F02: 'Refus : moins de 25 ans sans enfant ni autre personne à charge',
    F04: 'Refus : titre de séjour non valide',
    F09: 'Refus : résidence non conforme',
    F85: "Refus : pas d'allocataire",
    F97: "Refus : bénéficiaire de l'AAH réduite",
    FDD: 'Refus (libellé CNAF non publié, code FDD)',
    DSD: 'Refus (libellé CNAF non publié, code DSD)',
    FDB: 'Refus (libellé CNAF non publié, code FDB)',
    PCG: 'Refus sur décision du président du Conseil départemental',
  },
  /** Only `DL` has a published wording; the D* and G* codes are read as they come (length checked by the XSD). */
  MOTISUSDRORSA: {
    DL: 'Pli non distribuable',
  },
  /** TOPPERSDRODEVORSA (person) and TOPFOYDRODEVORSA (foyer). */
  TOPPERSDRODEVORSA: {
    '0': 'Non soumis aux droits et devoirs',
    '1': 'Soumis aux droits et devoirs',
  },
  BOOLEAN: {
    '0': 'Non',
    '1': 'Oui',
    false: 'Non',
    true: 'Oui',
  },
  /** The state of a France Travail registration (the kind of file that carried it). */
  FT_ETAT: {
    inscription: 'Inscrit à France Travail',
    cessation: "Cessation d'inscription",
    radiation: 'Radiation',
  },
  /** Categories of job seekers: the current A–E and the former 1–8 (DARES definitions). */
  FT_CATEGORIE: {
    A: "Sans emploi, tenu de rechercher un emploi (catégorie A)",
    B: 'Activité réduite courte (78 heures ou moins dans le mois), tenu de rechercher un emploi (catégorie B)',
    C: 'Activité réduite longue (plus de 78 heures dans le mois), tenu de rechercher un emploi (catégorie C)',
    D: 'Sans emploi, non tenu de rechercher un emploi : formation, maladie, contrat de sécurisation professionnelle (catégorie D)',
    E: 'En emploi, non tenu de rechercher un emploi : contrat aidé, création d’entreprise (catégorie E)',
    '1': 'Sans emploi, immédiatement disponible, recherchant un emploi à durée indéterminée à temps plein (catégorie 1)',
    '2': 'Sans emploi, immédiatement disponible, recherchant un emploi à durée indéterminée à temps partiel (catégorie 2)',
    '3': 'Sans emploi, immédiatement disponible, recherchant un emploi à durée déterminée, temporaire ou saisonnier (catégorie 3)',
    '4': 'Sans emploi, non immédiatement disponible, à la recherche d’un emploi (catégorie 4)',
    '5': 'En emploi, à la recherche d’un autre emploi (catégorie 5)',
    '6': 'Non immédiatement disponible, activité réduite de plus de 78 heures, recherchant un emploi à durée indéterminée à temps plein (catégorie 6)',
    '7': 'Non immédiatement disponible, activité réduite de plus de 78 heures, recherchant un emploi à durée indéterminée à temps partiel (catégorie 7)',
    '8': 'Non immédiatement disponible, activité réduite de plus de 78 heures, recherchant un emploi à durée déterminée, temporaire ou saisonnier (catégorie 8)',
  },
  /**
   * France Travail support modes (modalité d'accompagnement): SUIVI, GUIDE and RENFORCE as the SPIE extracts send
   * them (flows.md §2.3); GLOBAL, the accompagnement global with the département's social services, is inferred.
   */
  FT_MODALITE_ACCOMPAGNEMENT: {
    SUIVI: 'Accompagnement suivi (autonomie dans la recherche d’emploi)',
    GUIDE: 'Accompagnement guidé (appui régulier du conseiller)',
    RENFORCE: 'Accompagnement renforcé (suivi intensif par un conseiller dédié)',
    GLOBAL: 'Accompagnement global (emploi et freins sociaux, avec le Département)',
  },
  // Instruction flow VIRS0901 (WebRSA modecontact.po, suiviappuiorientation.po, dsp.po).
  AUTORUTI: {
    A: "Accord d'utilisation",
    R: "Refus d'utilisation",
    I: 'Inconnu',
  },
  SITPERSSOCPRO: {
    AF: 'Recueil des données socio-professionnelles à faire',
    EF: 'Recueil des données socio-professionnelles effectué',
    RE: 'Recueil des données socio-professionnelles refusé',
  },
  NIVETU: {
    '1201': 'Niveau I/II : diplôme supérieur à bac + 2',
    '1202': 'Niveau III : bac + 2',
    '1203': 'Niveau IV : niveau baccalauréat',
    '1204': 'Niveau V : CAP, BEP ou équivalent',
    '1205': 'Niveau Vbis : fin de scolarité obligatoire',
    '1206': 'Niveau VI : sortie du premier cycle du secondaire',
    '1207': 'Niveau VII : jamais scolarisé',
  },
  INSCDEMEMPLOI: {
    '4301': 'Pas encore inscrit ou démarche en cours',
    '4302': "Inscrit depuis moins d'un an",
    '4303': 'Inscrit depuis un à cinq ans',
    '4304': 'Inscrit depuis plus de cinq ans',
  },
} as const satisfies Record<string, Record<string, string>>

export type CodeListName = keyof typeof CODE_LISTS

/** The code lists the ingestion enforces (src/ingestion/cnaf/code-lists.ts), by the name the catalogue gives them. */
export const ENFORCED_CODE_LISTS: Readonly<Partial<Record<CodeListName, readonly string[]>>> = {
  ETATDOSRSA,
  ROLEPERS,
  NATPREST,
  SEXE,
  QUAL,
  TYPEDTNAI,
  SITFAM,
  FONORG,
  NATFLUX,
  TYPEFLUX,
  ORIDEMRSA,
  MOTICLORSA,
  MOTISUSVERSRSA,
  BOOLEAN,
}

/** The code list of each coded canonical field (src/model/fields.ts). */
export const FIELD_CODE_LISTS: Readonly<Record<string, CodeListName>> = {
  'dossier.organisme': 'FONORG',
  'dossier.etatDroit': 'ETATDOSRSA',
  'dossier.motifRefus': 'MOTIREFURSA',
  'dossier.motifSuspensionDroit': 'MOTISUSDRORSA',
  'dossier.motifSuspensionVersement': 'MOTISUSVERSRSA',
  'dossier.motifCloture': 'MOTICLORSA',
  'dossier.situationFamiliale': 'SITFAM',
  'dossier.origineDemande': 'ORIDEMRSA',
  'personne.qualite': 'QUAL',
  'personne.sexe': 'SEXE',
  'personne.role': 'ROLEPERS',
  'franceTravail.etat': 'FT_ETAT',
  'franceTravail.categorieInscription': 'FT_CATEGORIE',
  'franceTravail.modaliteAccompagnement': 'FT_MODALITE_ACCOMPAGNEMENT',
  'dossier.accordTelephone': 'AUTORUTI',
  'dossier.accordEmail': 'AUTORUTI',
  'personne.dspStatut': 'SITPERSSOCPRO',
  'personne.niveauEtude': 'NIVETU',
  'personne.inscriptionDemandeurEmploi': 'INSCDEMEMPLOI',
} satisfies Partial<Record<FieldId, CodeListName>>

/** The French label of a code, or undefined when the list does not know it. */
export function codeLabel(list: CodeListName, code: string): string | undefined {
  const labels: Readonly<Record<string, string>> = CODE_LISTS[list]
  return Object.hasOwn(labels, code) ? labels[code] : undefined
}

/** The code list of a canonical field, if it is coded. */
export function codeListOf(fieldId: string): CodeListName | undefined {
  return FIELD_CODE_LISTS[fieldId]
}

/** Every code of a field's list with its label, in the catalogue's order (for codebooks and the docs). */
export function fieldCodes(fieldId: string): { code: string; label: string }[] {
  const list = codeListOf(fieldId)
  if (!list) return []
  return Object.entries(CODE_LISTS[list] as Record<string, string>).map(([code, label]) => ({ code, label }))
}
