/**
 * The element names the VRSB0801 schema declares (../shared/reference/vrsb0801.xsd, every `xsd:element name`;
 * a unit test checks this list against the schema). They are the only names a rejection message may quote: a
 * name read from a file that is not in this list may be a value run into a tag (a lost `>` makes
 * `<NOMNAI>FOFANA` read as `<NOMNAIFOFANA`), so messages say "an unknown element" instead.
 */
export const VRSB0801_ELEMENT_NAMES: ReadonlySet<string> = new Set([
  'ABANEU', 'ACT', 'APPLIEME', 'AVISCONDADMRSA', 'AVISDERO', 'AVISDESTPAIRSA', 'AVISEVARESSNONSAL', 'Activite',
  'Adresse', 'AdresseDetailleeFrance', 'AdresseHorsFrance', 'Anomalie', 'Asf', 'AvisCGSSDOMPersonne',
  'AvisPCGDroitRSA', 'AvisPCGPersonne', 'CIBCONTRO', 'CIBCONTROMSA', 'CODEPOS', 'COMM1CONDADMRSA', 'COMM2CONDADMRSA',
  'COMMACONTRO', 'COMMCREALIM', 'COMPLADR', 'COMPLIDEADR', 'ConditionAdministrative', 'ConditionETI', 'Controle',
  'ControleAdministratif', 'CreanceAlimentaire', 'DDACT', 'DDARRMUT', 'DDASF', 'DDAVISDERO', 'DDCREALIM',
  'DDDEPAMUT', 'DDELECAL', 'DDEXCL', 'DDGRO', 'DDNATDRO', 'DDRATDOS', 'DDREDRSA', 'DDRESS', 'DDSITFAM',
  'DDSURFAGRIDOM', 'DDSUSDRORSA', 'DDSUSVERSRSA', 'DFACT', 'DFASF', 'DFAVISDERO', 'DFCREALIM', 'DFELECAL', 'DFEXCL',
  'DFGRO', 'DFNATDRO', 'DFRATDOS', 'DFREDRSA', 'DFRESS', 'DTABSDECLLIBER', 'DTAVISDESTPAIRSA', 'DTBENAGRI',
  'DTCLOCONTRO', 'DTCLORSA', 'DTCREAFLUX', 'DTDECLGRO', 'DTDEMRMI', 'DTDEMRSA', 'DTDERRSAVERS', 'DTDETECCONTRO',
  'DTEFFAVISCONDADMRSA', 'DTEFFCIBCONTRO', 'DTEMM', 'DTEVARESSNONSAL', 'DTLIQ', 'DTNAI', 'DTORIDEMRSA', 'DTREF',
  'DTREFURSA', 'DTSOURESSNONSAL', 'DateDemandeRMI', 'DemandeRMI', 'DemandeRSA', 'Derogation', 'DetailCalculDroitRSA',
  'DetailDroitRSA', 'DetailRessourcesMensuelles', 'DonneesAdministratives', 'DossierCAF', 'DossierPoleEmploi',
  'ETATADR', 'ETATCREALIM', 'ETATDOSRSA', 'EXCL', 'EtatDossierRSA', 'Evenement', 'ExclueRSA', 'FAMCIBCONTRO', 'FG',
  'FONORG', 'FONORGCEDMUT', 'FONORGPRENMUT', 'FinDroit', 'FinDroitMoisAnterieur', 'GeneraliteRessourcesMensuelles',
  'GeneraliteRessourcesTrimestre', 'Grossesse', 'HEUCREAFLUX', 'HEULIQ', 'IDASSEDIC', 'IDEPARTE', 'Identification',
  'IdentificationCibleControleAdministratif', 'IdentificationControleAdministratif', 'IdentificationFlux',
  'IdentificationRSA', 'InformationsAgricoles', 'InfosFoyerRSA', 'JUSACTDOM', 'LIBANO', 'LIBCIBCONTRO', 'LIBLIG2ADR',
  'LIBLIG3ADR', 'LIBLIG4ADR', 'LIBLIG5ADR', 'LIBLIG6ADR', 'LIBLIG7ADR', 'LIBTYPEVOIE', 'LIEUDIST', 'Liberalite',
  'MATRICULE', 'MATRICULEORGCEDMUT', 'MOISRESS', 'MOTICLORSA', 'MOTICONDADMRSA', 'MOTIDISCREALIM', 'MOTIREFURSA',
  'MOTISUSDRORSA', 'MOTISUSVERSRSA', 'MTABANEURSA', 'MTALRSA', 'MTBENAGRI', 'MTCUMINTEGRSA', 'MTEVARESSNONSAL',
  'MTINDURSACGCONTRO', 'MTLIBERNONDECL', 'MTLOCALRSA', 'MTNATRESSMEN', 'MTPENTRSA', 'MTPERSABANEURSA',
  'MTPERSRESSMENRSA', 'MTPFRSA', 'MTRAPRSACGCONTRO', 'MTREDCGRSA', 'MTREDHOSRSA', 'MTREDRSA', 'MTRESSMENRSA',
  'MTREVGARARSA', 'MTREVMINIGARARSA', 'MTRSAVERS', 'MTSANCREALIM', 'MTSANOBLALIMRSA', 'MTTOTDRORSA',
  'ModaliteControleAdministratif', 'MontantCalculDroitRSAPersonne', 'MontantsCalculDroitRSA', 'NATCIBCONTRO',
  'NATCONTRTRA', 'NATFINGRO', 'NATFLUX', 'NATGROUPFSUS', 'NATPF', 'NATPREST', 'NATRESS', 'NBENFAUTCHA',
  'NBHEUMENTRA', 'NBTOTAIDEFAMSURFDOM', 'NBTOTDOSRSATRANSM', 'NBTOTDOSRSATRANSMANO', 'NBTOTPERSMAJOSURFDOM', 'NIR',
  'NOM', 'NOMCOM', 'NOMCOMNAI', 'NOMNAI', 'NOMTIE', 'NOMVOIE', 'NUMAGRINSRMI', 'NUMCLI', 'NUMCOM', 'NUMCOMINSRMI',
  'NUMDEMRSA', 'NUMDEMRSAPRECE', 'NUMDEPINSRMI', 'NUMDOSINSRMI', 'NUMORG', 'NUMORGCEDMUT', 'NUMORGPRENMUT',
  'NUMVERSIONAPPLIEME', 'NUMVOIE', 'NumeroInstructionRMI', 'ORIDEMRSA', 'ORIOBLALIM', 'Organisme', 'OrganismeCedant',
  'OrganismePrenant', 'PARASSOASF', 'PAYS', 'PRENOM', 'PRENOM2', 'PRENOM3', 'PaiementTiers', 'Partenaire',
  'PensionAlimentaire', 'Personne', 'PrestationRSA', 'Prestations', 'QUAL', 'REG', 'REGAGRIFAM', 'REGFISAGRI',
  'RESUJUSACTDOM', 'RGADR', 'RGNAI', 'ROLEPERS', 'Racine', 'Rattachement', 'ReductionRSA', 'Refus', 'Ressources',
  'RessourcesMensuelles', 'ResultatControleAdministratif', 'SEXE', 'SITASF', 'SITFAM', 'SOUSNATPF', 'SURFAGRIDOM',
  'SURFAGRIDOMPLA', 'SituationDossierRSA', 'SituationFamille', 'SpecificiteDOM', 'SuspensionDroit',
  'SuspensionVersement', 'TOPCHAPERS', 'TOPCONDADMETI', 'TOPFOYDRODEVORSA', 'TOPPERSDRODEVORSA',
  'TOPPERSENTDRODEVORSA', 'TOPRESPDOS', 'TOPRESSNUL', 'TOPSANSDOMFIXE', 'TOPVALIEC', 'TYPEADR', 'TYPECONTRO',
  'TYPEDERO', 'TYPEDTNAI', 'TYPEFLUX', 'TYPEIMPACCONTRO', 'TYPEINSRMI', 'TYPEPAR', 'TYPEPARTE', 'TYPEPERSTIE',
  'TransmissionFlux', 'TroncCommunAdresse', 'TroncCommunDroitRSA',
])

/** How a message names an element: `<NAME>` when the schema declares it, else "an unknown element". */
export function elementLabel(name: string, known: ReadonlySet<string> = VRSB0801_ELEMENT_NAMES): string {
  return known.has(name) ? `<${name}>` : 'an unknown element'
}
