/**
 * The catalogue of canonical fields: every piece of data Passerelle knows how to take from a flow, where it is
 * stored, and what it is. It is the contract between ingestion (what may be stored), the purposes (what may be
 * declared), projection (what may leave), retention and the processing register.
 *
 * A field marked `key` is stored whatever the purposes declare: it is needed for matching, provenance or
 * retention. Every other field is stored only when at least one purpose declares it (minimisation).
 */
export type FieldType = 'text' | 'code' | 'date' | 'boolean' | 'integer' | 'decimal' | 'nir'

/** Data categories, as the processing register names them. */
export type FieldCategory =
  | 'identifiant'
  | 'etat-civil'
  | 'adresse'
  | 'situation-familiale'
  | 'droit-rsa'
  | 'droits-devoirs'
  | 'financier'
  | 'emploi'
  | 'contact'
  | 'sante'

/**
 * The flows a field can come from (the register's data map; a purpose's source_flows must include one of them). The
 * France Travail follow-up fields (support mode, adviser, interviews, ROME...) list every flow that carries them.
 */
export type SourceFlow = 'caf-beneficiaires' | 'msa-beneficiaires' | 'caf-instruction' | 'msa-instruction' | 'france-travail' | 'france-travail-mensuel' | 'france-travail-spie' | 'france-travail-api'

/** One catalogue entry; `Id` is the literal id, so the catalogue's ids form the FieldId type. */
export interface FieldDefinition<Id extends string = string> {
  id: Id
  table: 'dossiers' | 'persons' | 'dossier_members' | 'france_travail_registrations' | 'france_travail_orientations'
  column: string
  type: FieldType
  category: FieldCategory
  key: boolean
  /** The flow elements or columns it comes from (for the register's data map). */
  source: string
  sources: readonly SourceFlow[]
  label: string
  description: string
}

const CNAF: readonly SourceFlow[] = ['caf-beneficiaires', 'msa-beneficiaires']
/** The CNAF instruction flow VIRS0901 (flows/caf-instruction.yaml, flows/msa-instruction.yaml). */
const INSTRUCTION: readonly SourceFlow[] = ['caf-instruction', 'msa-instruction']
/** Both: the keys and identity the instruction flow shares with the beneficiary flow (same keys, same persons). */
const CNAF_AND_INSTRUCTION: readonly SourceFlow[] = [...CNAF, ...INSTRUCTION]
/** The beneficiary flows' fields: what a VRSB0801 record (a whole foyer snapshot) writes, and a merge of one overwrites. */
export const BENEFICIARY_FLOWS: readonly SourceFlow[] = CNAF
const FT: readonly SourceFlow[] = ['france-travail']
/** Fields both the CSV movements/stock and the monthly fichier-PE-CG stock carry. */
const FT_ALL: readonly SourceFlow[] = ['france-travail', 'france-travail-mensuel']
/** Registration, follow-up and PPAE details: the monthly fichier-PE-CG stock (and the SPIE extracts, which add themselves here). */
const FT_FOLLOW_UP: readonly SourceFlow[] = ['france-travail-mensuel']
/** Fields the SPIE principal extract feeds too (flows/france-travail-spie.yaml): only those it carries. */
const FT_ALL_SPIE: readonly SourceFlow[] = [...FT_ALL, 'france-travail-spie']
const FT_FOLLOW_UP_SPIE: readonly SourceFlow[] = [...FT_FOLLOW_UP, 'france-travail-spie']
const FT_API: readonly SourceFlow[] = ['france-travail-api']

type Def<Id extends string> = Omit<FieldDefinition<Id>, 'key' | 'sources'> & { key?: boolean; sources?: readonly SourceFlow[] }

function d<const Id extends string>(table: FieldDefinition['table'], defs: readonly Def<Id>[]): FieldDefinition<Id>[] {
  const sources = table === 'france_travail_registrations' ? FT : table === 'france_travail_orientations' ? FT_API : CNAF
  return defs.map((def) => ({ key: false, sources, ...def, table }))
}

const CATALOGUE = [
  ...d('dossiers', [
    { id: 'dossier.numdemrsa', table: 'dossiers', column: 'numdemrsa', type: 'text', category: 'identifiant', key: true, source: 'DemandeRSA/NUMDEMRSA', label: 'Numéro de demande RSA', description: 'RSA application number (dossier key)', sources: CNAF_AND_INSTRUCTION },
    { id: 'dossier.organisme', table: 'dossiers', column: 'organisme', type: 'code', category: 'identifiant', key: true, source: 'Organisme/FONORG', label: 'Organisme payeur', description: 'Paying body: CAF or MSA', sources: CNAF_AND_INSTRUCTION },
    { id: 'dossier.matricule', table: 'dossiers', column: 'matricule', type: 'text', category: 'identifiant', source: 'Organisme/MATRICULE', label: 'Matricule allocataire', description: 'Allocataire number at the CAF/MSA, per organisme: CAF 7 digits (the 15-digit MATRICULE without its 8 padding zeros), MSA as sent; absent when the MATRICULE is a NIR', sources: CNAF_AND_INSTRUCTION },
    { id: 'dossier.numeroOrganisme', table: 'dossiers', column: 'numorg', type: 'code', category: 'identifiant', source: 'Organisme/NUMORG', label: "Numéro d'organisme", description: 'Number of the CAF/MSA office', sources: CNAF_AND_INSTRUCTION },
    { id: 'dossier.dateDemande', table: 'dossiers', column: 'date_demande', type: 'date', category: 'droit-rsa', source: 'DemandeRSA/DTDEMRSA', label: 'Date de demande', description: 'Date of the RSA application', sources: CNAF_AND_INSTRUCTION },
    { id: 'dossier.etatDroit', table: 'dossiers', column: 'etat_droit', type: 'code', category: 'droit-rsa', key: true, source: 'EtatDossierRSA/ETATDOSRSA', label: 'État du droit', description: 'State of the RSA right (ETATDOSRSA 0-6); retention anchor' },
    { id: 'dossier.motifRefus', table: 'dossiers', column: 'motif_refus', type: 'code', category: 'droit-rsa', source: 'Refus/MOTIREFURSA', label: 'Motif de refus', description: 'Reason for refusal' },
    { id: 'dossier.dateRefus', table: 'dossiers', column: 'date_refus', type: 'date', category: 'droit-rsa', source: 'Refus/DTREFURSA', label: 'Date de refus', description: 'Date of refusal' },
    { id: 'dossier.motifSuspensionDroit', table: 'dossiers', column: 'motif_suspension_droit', type: 'code', category: 'droit-rsa', source: 'SuspensionDroit/MOTISUSDRORSA', label: 'Motif de suspension du droit', description: 'Reason the right is suspended (latest)' },
    { id: 'dossier.dateSuspensionDroit', table: 'dossiers', column: 'date_suspension_droit', type: 'date', category: 'droit-rsa', source: 'SuspensionDroit/DDSUSDRORSA', label: 'Date de suspension du droit', description: 'Start of the suspension of the right' },
    { id: 'dossier.motifSuspensionVersement', table: 'dossiers', column: 'motif_suspension_versement', type: 'code', category: 'sante', source: 'SuspensionVersement/MOTISUSVERSRSA', label: 'Motif de suspension du versement', description: 'Reason payment is suspended (code 44 reveals a hospitalisation: health data)' },
    { id: 'dossier.dateSuspensionVersement', table: 'dossiers', column: 'date_suspension_versement', type: 'date', category: 'droit-rsa', source: 'SuspensionVersement/DDSUSVERSRSA', label: 'Date de suspension du versement', description: 'Start of the payment suspension' },
    { id: 'dossier.motifCloture', table: 'dossiers', column: 'motif_cloture', type: 'code', category: 'droit-rsa', source: 'FinDroit/MOTICLORSA', label: 'Motif de clôture', description: 'Reason the right was closed' },
    { id: 'dossier.dateCloture', table: 'dossiers', column: 'date_cloture', type: 'date', category: 'droit-rsa', key: true, source: 'FinDroit/DTCLORSA', label: 'Date de clôture', description: 'Closure date of the right; retention anchor (end of right)' },
    { id: 'dossier.dernierEvenementDate', table: 'dossiers', column: 'dernier_evenement_date', type: 'date', category: 'droit-rsa', source: 'Evenement/DTLIQ', label: 'Date du dernier évènement', description: 'Latest DTLIQ among the Evenement blocks of the last record applied (daily files carry them; a stock record carries none)' },
    { id: 'dossier.dernierEvenementFaitsGenerateurs', table: 'dossiers', column: 'dernier_evenement_faits_generateurs', type: 'text', category: 'droit-rsa', source: 'Evenement/FG', label: 'Faits générateurs du dernier évènement', description: 'FG codes (faits générateurs) of the Evenement blocks dated that DTLIQ, space-separated: what triggered the movement' },
    { id: 'dossier.situationFamiliale', table: 'dossiers', column: 'situation_familiale', type: 'code', category: 'situation-familiale', source: 'SituationFamille/SITFAM', label: 'Situation familiale', description: 'Family situation (SITFAM)' },
    { id: 'dossier.dateSituationFamiliale', table: 'dossiers', column: 'date_situation_familiale', type: 'date', category: 'situation-familiale', source: 'SituationFamille/DDSITFAM', label: 'Date de situation familiale', description: 'Since when the family situation holds' },
    { id: 'dossier.nombrePersonnes', table: 'dossiers', column: 'nombre_personnes', type: 'integer', category: 'situation-familiale', source: 'count(Personne)', label: 'Nombre de personnes du foyer', description: 'Number of persons in the foyer' },
    { id: 'dossier.nombreEnfants', table: 'dossiers', column: 'nombre_enfants', type: 'integer', category: 'situation-familiale', source: 'count(Personne[ROLEPERS=ENF])', label: "Nombre d'enfants", description: 'Number of children (ROLEPERS ENF) in the foyer' },
    { id: 'dossier.nombreEnfantsACharge', table: 'dossiers', column: 'nombre_enfants_a_charge', type: 'integer', category: 'situation-familiale', source: 'TroncCommunDroitRSA/NBENFAUTCHA', label: 'Autres enfants à charge', description: 'Other dependent children (NBENFAUTCHA)' },
    { id: 'dossier.sansDomicileFixe', table: 'dossiers', column: 'sans_domicile_fixe', type: 'boolean', category: 'adresse', source: 'TroncCommunDroitRSA/TOPSANSDOMFIXE', label: 'Sans domicile fixe', description: 'No fixed abode' },
    { id: 'dossier.soumisDroitsDevoirs', table: 'dossiers', column: 'foyer_soumis_droits_devoirs', type: 'boolean', category: 'droits-devoirs', source: 'TroncCommunDroitRSA/TOPFOYDRODEVORSA', label: 'Foyer soumis aux droits et devoirs', description: 'Foyer subject to rights and duties' },
    { id: 'dossier.origineDemande', table: 'dossiers', column: 'origine_demande', type: 'code', category: 'droit-rsa', source: 'TroncCommunDroitRSA/ORIDEMRSA', label: 'Origine de la demande', description: 'Origin of the application (DEM, RMI, API)' },
    { id: 'dossier.montantDroitTotal', table: 'dossiers', column: 'montant_droit_total', type: 'decimal', category: 'financier', source: 'MontantsCalculDroitRSA/MTTOTDRORSA', label: 'Montant total du droit', description: 'Total monthly RSA amount' },
    { id: 'adresse.numeroVoie', table: 'dossiers', column: 'adresse_numero_voie', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/NUMVOIE', label: 'Numéro de voie', description: 'Street number (current address, RGADR 01)' },
    { id: 'adresse.typeVoie', table: 'dossiers', column: 'adresse_type_voie', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/LIBTYPEVOIE', label: 'Type de voie', description: 'Street type' },
    { id: 'adresse.nomVoie', table: 'dossiers', column: 'adresse_nom_voie', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/NOMVOIE', label: 'Nom de voie', description: 'Street name' },
    { id: 'adresse.complementDestinataire', table: 'dossiers', column: 'adresse_complement_destinataire', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/COMPLIDEADR', label: 'Complément destinataire', description: 'Addressee complement' },
    { id: 'adresse.complement', table: 'dossiers', column: 'adresse_complement', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/COMPLADR', label: "Complément d'adresse", description: 'Address complement' },
    { id: 'adresse.lieuDit', table: 'dossiers', column: 'adresse_lieu_dit', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/LIEUDIST', label: 'Lieu-dit', description: 'Locality' },
    { id: 'adresse.codePostal', table: 'dossiers', column: 'adresse_code_postal', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/CODEPOS', label: 'Code postal', description: 'Postcode' },
    { id: 'adresse.codeInsee', table: 'dossiers', column: 'adresse_code_insee', type: 'code', category: 'adresse', source: 'AdresseDetailleeFrance/NUMCOM', label: 'Code commune INSEE', description: 'INSEE code of the commune' },
    { id: 'adresse.commune', table: 'dossiers', column: 'adresse_commune', type: 'text', category: 'adresse', source: 'AdresseDetailleeFrance/NOMCOM', label: 'Commune', description: 'Commune name' },
    { id: 'adresse.pays', table: 'dossiers', column: 'adresse_pays', type: 'code', category: 'adresse', source: 'TroncCommunAdresse/PAYS', label: 'Pays', description: 'Country code' },
    // ModesContacts (VIRS0901 DonneesAdministratives: one block per foyer). The phone and e-mail leave only under the
    // foyer's consent (a purpose field's `consent:`, src/purposes/project.ts); never logged, never in rejection rows.
    { id: 'dossier.telephone', table: 'dossiers', column: 'telephone', type: 'text', category: 'contact', sources: INSTRUCTION, source: 'ModesContacts/NUMTEL', label: 'Téléphone', description: 'Phone number given in the RSA application; shown only where the foyer agreed to its use (AUTORUTITEL = A)' },
    { id: 'dossier.accordTelephone', table: 'dossiers', column: 'accord_telephone', type: 'code', category: 'contact', sources: INSTRUCTION, source: 'ModesContacts/AUTORUTITEL', label: "Accord d'utilisation du téléphone", description: 'Consent to the use of the phone number: A accord, R refus, I inconnu' },
    { id: 'dossier.email', table: 'dossiers', column: 'email', type: 'text', category: 'contact', sources: INSTRUCTION, source: 'ModesContacts/ADRELEC', label: 'Adresse électronique', description: 'E-mail address given in the RSA application; shown only where the foyer agreed to its use (AUTORUTIADRELEC = A)' },
    { id: 'dossier.accordEmail', table: 'dossiers', column: 'accord_email', type: 'code', category: 'contact', sources: INSTRUCTION, source: 'ModesContacts/AUTORUTIADRELEC', label: "Accord d'utilisation de l'adresse électronique", description: 'Consent to the use of the e-mail address: A accord, R refus, I inconnu' },
    { id: 'adresse.horsFrance', table: 'dossiers', column: 'adresse_hors_france', type: 'text', category: 'adresse', source: 'AdresseHorsFrance/LIBLIG2ADR..LIBLIG7ADR', label: 'Adresse hors France', description: 'Address lines outside France, joined' },
  ]),
  ...d('persons', [
    { id: 'personne.nir', table: 'persons', column: 'nir_cipher', type: 'nir', category: 'identifiant', source: 'Identification/NIR', label: 'NIR', description: 'Social security number, stored AES-256-GCM encrypted (13 digits + computed key)', sources: CNAF_AND_INSTRUCTION },
    { id: 'personne.qualite', table: 'persons', column: 'qualite', type: 'code', category: 'etat-civil', source: 'Identification/QUAL', label: 'Civilité', description: 'Title (MR, MME, MLE)', sources: CNAF_AND_INSTRUCTION },
    { id: 'personne.nom', table: 'persons', column: 'nom', type: 'text', category: 'etat-civil', source: 'Identification/NOM', label: "Nom d'usage", description: 'Surname in use', sources: CNAF_AND_INSTRUCTION },
    { id: 'personne.nomNaissance', table: 'persons', column: 'nom_naissance', type: 'text', category: 'etat-civil', source: 'Identification/NOMNAI', label: 'Nom de naissance', description: 'Birth surname', sources: CNAF_AND_INSTRUCTION },
    { id: 'personne.prenom', table: 'persons', column: 'prenom', type: 'text', category: 'etat-civil', source: 'Identification/PRENOM', label: 'Prénom', description: 'First name', sources: CNAF_AND_INSTRUCTION },
    { id: 'personne.prenom2', table: 'persons', column: 'prenom2', type: 'text', category: 'etat-civil', source: 'Identification/PRENOM2', label: 'Deuxième prénom', description: 'Second first name' },
    { id: 'personne.prenom3', table: 'persons', column: 'prenom3', type: 'text', category: 'etat-civil', source: 'Identification/PRENOM3', label: 'Troisième prénom', description: 'Third first name' },
    { id: 'personne.dateNaissance', table: 'persons', column: 'date_naissance', type: 'date', category: 'etat-civil', source: 'Identification/DTNAI', label: 'Date de naissance', description: 'Birth date', sources: CNAF_AND_INSTRUCTION },
    { id: 'personne.sexe', table: 'persons', column: 'sexe', type: 'code', category: 'etat-civil', source: 'Identification/SEXE', label: 'Sexe', description: 'Sex (1 man, 2 woman)', sources: CNAF_AND_INSTRUCTION },
    // SuiviAppuiOrientation and the socio-professional data (DSP) of the instruction flow. DIFSOC and DIFDISP (social
    // and availability difficulties: health, disability, hospitalisation codes) are Art. 9 data and have no field.
    { id: 'personne.dspStatut', table: 'persons', column: 'dsp_statut', type: 'code', category: 'emploi', sources: INSTRUCTION, source: 'SuiviAppuiOrientation/SITPERSSOCPRO', label: 'Recueil des données socio-professionnelles', description: 'State of the socio-professional data collection: AF to do, EF done, RE refused' },
    { id: 'personne.dspDate', table: 'persons', column: 'dsp_date', type: 'date', category: 'emploi', sources: INSTRUCTION, source: 'SuiviAppuiOrientation/DTENRSOCPRO', label: 'Date du recueil socio-professionnel', description: 'When the socio-professional data were recorded' },
    { id: 'personne.niveauEtude', table: 'persons', column: 'niveau_etude', type: 'code', category: 'emploi', sources: INSTRUCTION, source: 'DonneesSocioProfessionnelles/NiveauEtude/NIVETU', label: "Niveau d'étude", description: 'Education level (NIVETU 1201-1207)' },
    { id: 'personne.inscriptionDemandeurEmploi', table: 'persons', column: 'inscription_demandeur_emploi', type: 'code', category: 'emploi', sources: INSTRUCTION, source: 'DonneesSocioProfessionnelles/SituationProfessionnelle/INSCDEMEMPLOI', label: "Ancienneté d'inscription comme demandeur d'emploi", description: 'How long registered as a job seeker (INSCDEMEMPLOI 4301-4304)' },
    { id: 'personne.permisB', table: 'persons', column: 'permis_b', type: 'boolean', category: 'emploi', sources: INSTRUCTION, source: 'DonneesSocioProfessionnelles/Mobilite/CommunMobilite/TOPPERMICONDUB', label: 'Permis B', description: 'Holds a car driving licence' },
    { id: 'personne.moyenTransport', table: 'persons', column: 'moyen_transport', type: 'boolean', category: 'emploi', sources: INSTRUCTION, source: 'DonneesSocioProfessionnelles/Mobilite/CommunMobilite/TOPMOYLOCO', label: 'Moyen de locomotion', description: 'Has a means of transport' },
    { id: 'personne.communeNaissance', table: 'persons', column: 'commune_naissance', type: 'text', category: 'etat-civil', source: 'Identification/NOMCOMNAI', label: 'Commune de naissance', description: 'Birth commune' },
  ]),
  ...d('dossier_members', [
    { id: 'personne.role', table: 'dossier_members', column: 'role', type: 'code', category: 'situation-familiale', key: true, source: 'Prestations[NATPREST=RSA]/ROLEPERS', label: 'Rôle dans le dossier', description: 'Role in the RSA dossier (DEM, CJT, ENF, AUT, RDO); matching key for orientations', sources: CNAF_AND_INSTRUCTION },
    { id: 'personne.responsableDossier', table: 'dossier_members', column: 'responsable_dossier', type: 'boolean', category: 'situation-familiale', source: 'DossierCAF/TOPRESPDOS', label: 'Responsable du dossier', description: 'Holder of the dossier' },
    { id: 'personne.aCharge', table: 'dossier_members', column: 'a_charge', type: 'boolean', category: 'situation-familiale', source: 'Prestations[NATPREST=RSA]/TOPCHAPERS', label: 'Personne à charge', description: 'Dependant for the RSA' },
    { id: 'personne.soumisDroitsDevoirs', table: 'dossier_members', column: 'soumis_droits_devoirs', type: 'boolean', category: 'droits-devoirs', source: 'MontantCalculDroitRSAPersonne/TOPPERSDRODEVORSA', label: 'Soumis aux droits et devoirs', description: 'Person subject to rights and duties' },
    { id: 'personne.entrantDroitsDevoirs', table: 'dossier_members', column: 'entrant_droits_devoirs', type: 'boolean', category: 'droits-devoirs', source: 'MontantCalculDroitRSAPersonne/TOPPERSENTDRODEVORSA', label: 'Entrant droits et devoirs', description: 'Newly subject to rights and duties' },
    { id: 'personne.identifiantPoleEmploi', table: 'dossier_members', column: 'identifiant_pole_emploi', type: 'text', category: 'emploi', source: 'DossierPoleEmploi/IDASSEDIC', label: 'Identifiant France Travail (côté CAF)', description: 'France Travail id held by the CAF/MSA' },
    { id: 'personne.ressourcesMensuelles', table: 'dossier_members', column: 'ressources_mensuelles', type: 'decimal', category: 'financier', source: 'MontantCalculDroitRSAPersonne/MTPERSRESSMENRSA', label: 'Ressources mensuelles', description: 'Monthly resources taken into account' },
    { id: 'personne.activite', table: 'dossier_members', column: 'activite', type: 'code', category: 'emploi', source: 'Activite[last]/ACT', label: 'Activité', description: 'Current activity code (ACT)' },
  ]),
  ...d('france_travail_registrations', [
    { id: 'franceTravail.identifiant', table: 'france_travail_registrations', column: 'identifiant_pe', type: 'text', category: 'emploi', sources: FT_ALL_SPIE, source: 'identifiantpe', label: 'Identifiant France Travail', description: 'France Travail registrant id' },
    { id: 'franceTravail.etat', table: 'france_travail_registrations', column: 'etat', type: 'code', category: 'emploi', sources: FT_ALL_SPIE, key: true, source: 'type de fichier (inscription, cessation, radiation, stock)', label: "État d'inscription", description: 'Registration state; retention and history key' },
    { id: 'franceTravail.dateEtat', table: 'france_travail_registrations', column: 'date_etat', type: 'date', category: 'emploi', sources: FT_ALL_SPIE, key: true, source: 'date', label: "Date de l'état", description: 'Date of the registration, cessation or radiation; orders movements' },
    { id: 'franceTravail.code', table: 'france_travail_registrations', column: 'code', type: 'code', category: 'emploi', sources: FT_ALL, source: 'code', label: 'Catégorie ou motif', description: 'Registration category, or reason code on cessation/radiation' },
    { id: 'franceTravail.motif', table: 'france_travail_registrations', column: 'motif', type: 'text', category: 'emploi', source: 'motif', label: 'Libellé du motif', description: 'Reason label (cessation, radiation)' },
    { id: 'franceTravail.codeInsee', table: 'france_travail_registrations', column: 'code_insee', type: 'code', category: 'adresse', sources: FT_ALL, source: 'codeinsee', label: 'Commune (INSEE)', description: 'INSEE code of the commune known to France Travail' },
    { id: 'franceTravail.localite', table: 'france_travail_registrations', column: 'localite', type: 'text', category: 'adresse', source: 'localite', label: 'Localité', description: 'Locality known to France Travail' },
    { id: 'franceTravail.adresse', table: 'france_travail_registrations', column: 'adresse', type: 'text', category: 'adresse', source: 'adresse', label: 'Adresse France Travail', description: 'Address known to France Travail' },
    { id: 'franceTravail.agence', table: 'france_travail_registrations', column: 'ale', type: 'code', category: 'emploi', sources: FT_ALL_SPIE, source: 'ale', label: 'Agence locale', description: 'France Travail local agency (ALE)' },
    // Registration details (fichier-PE-CG `inscription`; SPIE `inscription`, `categorie_inscription`, `motif_inscription`).
    { id: 'franceTravail.dateInscription', table: 'france_travail_registrations', column: 'date_inscription', type: 'date', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/date-debut-ide', label: "Date d'inscription à France Travail", description: 'Start of the current registration as a job seeker (IDE)' },
    { id: 'franceTravail.categorieInscription', table: 'france_travail_registrations', column: 'categorie_inscription', type: 'code', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'inscription/code-categorie', label: "Catégorie d'inscription", description: 'Category of job seeker (A-E, formerly 1-8)' },
    { id: 'franceTravail.situationInscription', table: 'france_travail_registrations', column: 'situation_inscription', type: 'code', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/code-situation', label: "Code de situation de l'inscription", description: 'Situation code of the registration, as France Travail sends it (list not published)' },
    { id: 'franceTravail.libelleSituation', table: 'france_travail_registrations', column: 'libelle_situation', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/lib-situation', label: "Situation de l'inscription", description: 'Label of the situation code, as sent' },
    { id: 'franceTravail.dateCessation', table: 'france_travail_registrations', column: 'date_cessation', type: 'date', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/date-cessation-ide', label: "Date de cessation d'inscription", description: 'Date the registration ceased (the person stopped updating or asked to leave)' },
    { id: 'franceTravail.motifCessation', table: 'france_travail_registrations', column: 'motif_cessation', type: 'code', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/motif-cessation-ide', label: 'Motif de cessation', description: 'Reason code of the cessation, as sent' },
    { id: 'franceTravail.libelleMotifCessation', table: 'france_travail_registrations', column: 'libelle_motif_cessation', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/lib-cessation-ide', label: 'Libellé du motif de cessation', description: 'Label of the cessation reason, as sent' },
    { id: 'franceTravail.dateRadiation', table: 'france_travail_registrations', column: 'date_radiation', type: 'date', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/date-radiation-ide', label: 'Date de radiation', description: 'Date France Travail struck the person off the list' },
    { id: 'franceTravail.motifRadiation', table: 'france_travail_registrations', column: 'motif_radiation', type: 'code', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/motif-radiation-ide', label: 'Motif de radiation', description: 'Reason code of the radiation, as sent' },
    { id: 'franceTravail.libelleMotifRadiation', table: 'france_travail_registrations', column: 'libelle_motif_radiation', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP, source: 'inscription/lib-radiation-ide', label: 'Libellé du motif de radiation', description: 'Label of the radiation reason, as sent' },
    // Follow-up (fichier-PE-CG `suivi`; SPIE `struct_principale`, `struct_suivi`).
    { id: 'franceTravail.structurePrincipale', table: 'france_travail_registrations', column: 'structure_principale', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'suivi/structure-principale-nom', label: 'Structure principale de suivi', description: 'France Travail structure (agency) mainly following the person, by name' },
    { id: 'franceTravail.structureDeleguee', table: 'france_travail_registrations', column: 'structure_deleguee', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'suivi/structure-deleguee-nom', label: 'Structure déléguée de suivi', description: 'Partner structure France Travail delegated the follow-up to, by name' },
    // PPAE and support (fichier-PE-CG `ppae`; SPIE `referent_*`, `modalite_accompagnement`, `der_entretien*`).
    { id: 'franceTravail.modaliteAccompagnement', table: 'france_travail_registrations', column: 'modalite_accompagnement', type: 'code', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'ppae/modalite-code; SPIE modalite_accompagnement', label: "Modalité d'accompagnement France Travail", description: 'France Travail support mode (SUIVI, GUIDE, RENFORCE, GLOBAL)' },
    { id: 'franceTravail.conseiller', table: 'france_travail_registrations', column: 'conseiller_nom', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'ppae/conseiller-pe; SPIE referent_nom', label: 'Conseiller France Travail', description: "Name of the person's France Travail adviser (referent), as sent" },
    { id: 'franceTravail.conseillerPrenom', table: 'france_travail_registrations', column: 'conseiller_prenom', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'SPIE referent_prenom', label: 'Prénom du conseiller France Travail', description: "First name of the France Travail adviser, when sent apart" },
    { id: 'franceTravail.conseillerEmail', table: 'france_travail_registrations', column: 'conseiller_email', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'SPIE referent_mail', label: 'Courriel du conseiller France Travail', description: "Professional e-mail of the France Travail adviser" },
    { id: 'franceTravail.dateSignaturePpae', table: 'france_travail_registrations', column: 'date_signature_ppae', type: 'date', category: 'emploi', sources: FT_FOLLOW_UP, source: 'ppae/date-signature', label: 'Date de signature du PPAE', description: "Signature date of the personalised job-search plan (PPAE)" },
    { id: 'franceTravail.dateDernierEntretienPpae', table: 'france_travail_registrations', column: 'date_dernier_entretien_ppae', type: 'date', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'ppae/date-dernier-ent; SPIE der_entretien_ppae', label: 'Date du dernier entretien PPAE', description: 'Date of the last PPAE interview with France Travail (dirty dates are a warning, stored empty)' },
    { id: 'franceTravail.dateDernierEntretien', table: 'france_travail_registrations', column: 'date_dernier_entretien', type: 'date', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'SPIE der_entretien', label: 'Date du dernier entretien France Travail', description: 'Date of the last interview of any kind with France Travail' },
    // Jobs sought (fichier-PE-CG `romev3`; SPIE `rome_1`/`appelation_rome_1`, `rome_2`/`appelation_rome_2`).
    { id: 'franceTravail.codeRome', table: 'france_travail_registrations', column: 'code_rome', type: 'code', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'romev3/code-rome; SPIE rome_1', label: 'Code ROME du métier recherché', description: 'ROME v3 code of the (first) job sought' },
    { id: 'franceTravail.libelleRome', table: 'france_travail_registrations', column: 'libelle_rome', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'romev3/lib-rome; SPIE appelation_rome_1', label: 'Métier recherché', description: 'Label of the (first) job sought, as sent' },
    { id: 'franceTravail.codeRome2', table: 'france_travail_registrations', column: 'code_rome_2', type: 'code', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'SPIE rome_2', label: 'Code ROME du second métier recherché', description: 'ROME v3 code of the second job sought' },
    { id: 'franceTravail.libelleRome2', table: 'france_travail_registrations', column: 'libelle_rome_2', type: 'text', category: 'emploi', sources: FT_FOLLOW_UP_SPIE, source: 'SPIE appelation_rome_2', label: 'Second métier recherché', description: 'Label of the second job sought, as sent' },
  ]),
  // The SPIE extract's health flag: Art. 9 data (category sante), stored only if a purpose declares it with an
  // Art. 9(2) condition (check-declarations.ts). No shipped purpose does (see the comment in each mappings/*.yaml).
  ...d('france_travail_registrations', [
    { id: 'franceTravail.difficulteSante', table: 'france_travail_registrations', column: 'difficulte_sante', type: 'boolean', category: 'sante', sources: ['france-travail-spie'], source: 'SPIE principal/dif_sante', label: 'Difficulté de santé déclarée', description: 'France Travail SPIE flag: the job seeker declared a health difficulty (reveals health: GDPR Art. 9)' },
  ]),
  // France Travail's own orientation of a linked person, read through the partner API (orientationusager
  // lectureOrientation, flow france-travail-api): validated, kept with its provenance (call id, read time), replaced at
  // each read, deleted 5 months after the last read (flows/retention/france-travail-api.yaml).
  ...d('france_travail_orientations', [
    { id: 'franceTravail.orientationParcours', table: 'france_travail_orientations', column: 'parcours', type: 'code', category: 'droits-devoirs', source: 'lectureOrientation/parcours', label: 'Parcours France Travail', description: "France Travail's current parcours for the person: PED (emploi), PSP (social), PSO (socio-professionnel)" },
    { id: 'franceTravail.orientationOrganisme', table: 'france_travail_orientations', column: 'organisme', type: 'code', category: 'droits-devoirs', source: 'lectureOrientation/organisme', label: "Organisme de l'orientation", description: 'Code of the body that holds the orientation (FT, CD, ...)' },
    { id: 'franceTravail.orientationStatut', table: 'france_travail_orientations', column: 'statut', type: 'code', category: 'droits-devoirs', source: 'lectureOrientation/statut', label: "Statut de l'orientation", description: 'Status of the orientation at France Travail' },
    { id: 'franceTravail.orientationEtat', table: 'france_travail_orientations', column: 'etat', type: 'code', category: 'droits-devoirs', source: 'lectureOrientation/etat', label: "État de l'orientation", description: 'State of the orientation at France Travail' },
    { id: 'franceTravail.orientationOrigine', table: 'france_travail_orientations', column: 'origine', type: 'code', category: 'droits-devoirs', source: 'lectureOrientation/origine', label: "Origine de l'orientation", description: 'What started the orientation (INSCRIPTION_AUTO_CAF, ...)' },
    { id: 'franceTravail.orientationDateEntree', table: 'france_travail_orientations', column: 'date_entree_parcours', type: 'date', category: 'droits-devoirs', source: 'lectureOrientation/date_entree_parcours (date_creation)', label: 'Entrée dans le parcours', description: 'Date the person entered the parcours (date_creation when absent)' },
    { id: 'franceTravail.orientationDateModification', table: 'france_travail_orientations', column: 'date_modification', type: 'date', category: 'droits-devoirs', source: 'lectureOrientation/date_modification', label: "Modification de l'orientation", description: 'Last change of the orientation at France Travail' },
  ]),
]

/**
 * A canonical field id, derived from the catalogue: a typo in an id written in TypeScript fails to compile. Ids
 * read from declarations are strings until checked (`isFieldId`, or loadDeclarations, which rejects unknown ones).
 */
export type FieldId = (typeof CATALOGUE)[number]['id']

export type CanonicalField = FieldDefinition<FieldId>

export const CANONICAL_FIELDS: readonly CanonicalField[] = CATALOGUE

export const FIELDS_BY_ID: ReadonlyMap<string, CanonicalField> = new Map(CANONICAL_FIELDS.map((f) => [f.id, f]))

export function isFieldId(id: string): id is FieldId {
  return FIELDS_BY_ID.has(id)
}

export const KEY_FIELD_IDS: readonly FieldId[] = CANONICAL_FIELDS.filter((f) => f.key).map((f) => f.id)
