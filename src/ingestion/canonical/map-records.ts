import { identityIndex, personMatchKey, personWithoutNirMatchKey, nirIndex } from '../../crypto/blind-index.ts'
import { allocataireNumber } from '../cnaf/allocataire-number.ts'
import type { CnafFoyer, CnafPersonne } from '../cnaf/foyer.ts'
import type { FieldId } from '../../model/fields.ts'
import { nirKey } from '../validation/nir.ts'

/**
 * Pure mapping of parsed flow records to canonical records: canonical field id (src/model/fields.ts) → value.
 * Minimisation happens after this step (`maskRow` in staging.ts keeps only the stored fields), before anything
 * reaches the database. Matching keys are derived here, with the index key; the NIR itself is passed through
 * only as `personne.nir` and encrypted by the staging step if a purpose stores it.
 */
export type CanonicalValues = Partial<Record<FieldId, unknown>>

export interface MappedFoyer {
  dossier: CanonicalValues
  /** The MATRICULE was a NIR, so the dossier has none (src/ingestion/cnaf/allocataire-number.ts): counted, never logged. */
  nirAsMatricule?: boolean
  /**
   * `identityIndex`: the keyed index of the normalised birth name, first name and birth date, which France Travail
   * records without a NIR are matched on (src/matching/); null when the identity is incomplete.
   */
  persons: { matchKey: string; nirIndex: string | null; identityIndex: string | null; values: CanonicalValues; member: CanonicalValues }[]
}

export function mapCnafFoyer(foyer: CnafFoyer, indexKey: Buffer): MappedFoyer {
  const a = foyer.adresse
  // Per organisme: the CAF's 7-digit number, the MSA's matricule as sent; never a NIR (allocataire-number.ts).
  const numero = allocataireNumber(
    foyer.fonorg,
    foyer.matricule,
    foyer.personnes.map((p) => p.nir13),
  )
  const dossier: CanonicalValues = {
    'dossier.numdemrsa': foyer.numdemrsa,
    'dossier.organisme': foyer.fonorg,
    'dossier.matricule': numero.matricule,
    'dossier.numeroOrganisme': foyer.numorg,
    'dossier.dateDemande': foyer.dtdemrsa,
    'dossier.etatDroit': foyer.etatdosrsa,
    'dossier.motifRefus': foyer.refus?.motif,
    'dossier.dateRefus': foyer.refus?.date,
    'dossier.motifSuspensionDroit': foyer.suspensionDroit?.motif,
    'dossier.dateSuspensionDroit': foyer.suspensionDroit?.date,
    'dossier.motifSuspensionVersement': foyer.suspensionVersement?.motif,
    'dossier.dateSuspensionVersement': foyer.suspensionVersement?.date,
    'dossier.motifCloture': foyer.finDroit?.motif,
    'dossier.dateCloture': foyer.finDroit?.date,
    'dossier.dernierEvenementDate': foyer.dernierEvenement?.date,
    'dossier.dernierEvenementFaitsGenerateurs': foyer.dernierEvenement?.faitsGenerateurs,
    'dossier.situationFamiliale': foyer.sitfam,
    'dossier.dateSituationFamiliale': foyer.ddsitfam,
    'dossier.nombrePersonnes': foyer.personnes.length,
    'dossier.nombreEnfants': foyer.personnes.filter((p) => p.rolepers === 'ENF').length,
    'dossier.nombreEnfantsACharge': foyer.nbenfautcha,
    'dossier.sansDomicileFixe': foyer.topsansdomfixe,
    'dossier.soumisDroitsDevoirs': foyer.topfoydrodevorsa,
    'dossier.origineDemande': foyer.oridemrsa,
    'dossier.montantDroitTotal': foyer.mttotdrorsa,
    'adresse.numeroVoie': a?.numvoie,
    'adresse.typeVoie': a?.libtypevoie,
    'adresse.nomVoie': a?.nomvoie,
    'adresse.complementDestinataire': a?.complideadr,
    'adresse.complement': a?.compladr,
    'adresse.lieuDit': a?.lieudist,
    'adresse.codePostal': a?.codepos,
    'adresse.codeInsee': a?.numcom,
    'adresse.commune': a?.nomcom,
    'adresse.pays': a?.pays,
    'adresse.horsFrance': a?.horsFrance,
  }
  return {
    dossier,
    nirAsMatricule: numero.nirAsMatricule,
    persons: foyer.personnes.map((p) => mapPersonne(foyer, p, indexKey)),
  }
}

function mapPersonne(foyer: CnafFoyer, p: CnafPersonne, indexKey: Buffer): MappedFoyer['persons'][number] {
  const matchKey = p.nir13
    ? personMatchKey(indexKey, p.nir13, p.dtnai)
    : personWithoutNirMatchKey(
        indexKey,
        { organisme: foyer.fonorg, numdemrsa: foyer.numdemrsa },
        { nomNaissance: p.nomnai, prenom: p.prenom, dateNaissance: p.dtnai, rang: p.rgnai },
      )
  return {
    matchKey,
    nirIndex: p.nir13 ? nirIndex(indexKey, p.nir13) : null,
    identityIndex: identityIndex(indexKey, { nomNaissance: p.nomnai, prenom: p.prenom, dateNaissance: p.dtnai }) ?? null,
    values: {
      'personne.nir': p.nir13 ? p.nir13 + nirKey(p.nir13) : undefined,
      'personne.qualite': p.qual,
      'personne.nom': p.nom,
      'personne.nomNaissance': p.nomnai,
      'personne.prenom': p.prenom,
      'personne.prenom2': p.prenom2,
      'personne.prenom3': p.prenom3,
      'personne.dateNaissance': p.dtnai,
      'personne.sexe': p.sexe,
      'personne.communeNaissance': p.nomcomnai,
    },
    member: {
      'personne.role': p.rolepers,
      'personne.responsableDossier': p.toprespdos,
      'personne.aCharge': p.topchapers,
      'personne.soumisDroitsDevoirs': p.toppersdrodevorsa,
      'personne.entrantDroitsDevoirs': p.toppersentdrodevorsa,
      'personne.identifiantPoleEmploi': p.idassedic,
      'personne.ressourcesMensuelles': p.mtpersressmenrsa,
      'personne.activite': p.act,
    },
  }
}

export interface MappedRegistration {
  personKey: string
  values: CanonicalValues
}
