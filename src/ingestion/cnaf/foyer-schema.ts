import { z } from 'zod'
import { checkNir } from '../validation/nir.ts'
import {
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
} from './code-lists.ts'
import { amount, bool, code, date, digits, integer, shapeRule, text } from './xsd-values.ts'

/**
 * One zod schema per block of an InfosFoyerRSA, covering the elements a CnafFoyer is made of (others are left
 * alone: a foyer is not rejected over a field nothing uses). Lengths, types and cardinalities follow
 * vrsb0801.xsd; optional elements are optional; a few elements the XSD requires but nothing needs
 * (NOMCOMNAI, PAYS, IDASSEDIC...) are accepted when absent or empty.
 *
 * Birth dates: DTNAI is an xsd:date, so even when TYPEDTNAI says the day (J) or day and month (O) are unknown,
 * the file carries a real calendar date (WebRSA stores it in a `date` column; a `00` day or month would not
 * validate against the XSD). The date is therefore checked as any other, and TYPEDTNAI is passed on so that
 * consumers know how much of it is real. A `00` day or month is rejected with rule `date`.
 */

const block = <T extends z.ZodRawShape>(shape: T) => z.object(shape, { error: shapeRule('type') })
const list = <T extends z.ZodType>(item: T) => z.array(item, { error: shapeRule('type') })

/** A NIR of 13 or 15 characters (key checked when present) → its first 13 characters. */
function nir() {
  return z.string({ error: shapeRule('type') }).transform((value, ctx) => {
    const result = checkNir(value)
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.rule })
      return z.NEVER
    }
    return result.nir13
  })
}

export const OrganismeSchema = block({
  FONORG: code('FONORG', FONORG),
  NUMORG: text(3),
  MATRICULE: digits(15),
})

export const IdentificationRSASchema = block({
  Organisme: OrganismeSchema,
  DemandeRSA: block({ DTDEMRSA: date(), NUMDEMRSA: text(11) }),
})

export const IdentificationSchema = block({
  QUAL: code('QUAL', QUAL).optional(),
  NOM: text(28),
  NOMNAI: text(28),
  PRENOM: text(32),
  PRENOM2: text(15).optional(),
  PRENOM3: text(15).optional(),
  NOMCOMNAI: text(26).optional(),
  DTNAI: date(),
  RGNAI: digits(1).optional(),
  TYPEDTNAI: code('TYPEDTNAI', TYPEDTNAI).optional(),
  NIR: nir().optional(),
  SEXE: code('SEXE', SEXE),
})

export const PrestationSchema = block({
  NATPREST: code('NATPREST', NATPREST),
  ROLEPERS: code('ROLEPERS', ROLEPERS),
  TOPCHAPERS: bool(),
})

export const ActiviteSchema = block({ ACT: text(3), DDACT: date(), DFACT: date().optional() })

export const PersonneSchema = block({
  Identification: IdentificationSchema,
  DossierCAF: block({ TOPRESPDOS: bool() }),
  /** Exactly two: one for the RSA, one for the PFA. */
  Prestations: list(PrestationSchema).superRefine((prestations, ctx) => {
    const rsa = prestations.filter((p) => p.NATPREST === 'RSA').length
    const pfa = prestations.filter((p) => p.NATPREST === 'PFA').length
    if (prestations.length !== 2 || rsa !== 1 || pfa !== 1) ctx.addIssue({ code: 'custom', message: 'prestations_rsa_pfa' })
  }),
  DossierPoleEmploi: block({ IDASSEDIC: text(8).optional() }).optional(),
  MontantCalculDroitRSAPersonne: block({
    TOPPERSDRODEVORSA: bool(),
    TOPPERSENTDRODEVORSA: bool().optional(),
    MTPERSRESSMENRSA: amount().optional(),
  }).optional(),
  Activite: list(ActiviteSchema).optional(),
})

export const AdresseSchema = block({
  TroncCommunAdresse: block({ RGADR: integer(2), PAYS: text(3).optional() }),
  AdresseDetailleeFrance: block({
    COMPLIDEADR: text(38).optional(),
    COMPLADR: text(38).optional(),
    NUMVOIE: text(6).optional(),
    LIBTYPEVOIE: text(30).optional(),
    NOMVOIE: text(32).optional(),
    LIEUDIST: text(38).optional(),
    NUMCOM: text(5).optional(),
    CODEPOS: digits(5).optional(),
    NOMCOM: text(32).optional(),
  }).optional(),
  AdresseHorsFrance: block({
    LIBLIG2ADR: text(38).optional(),
    LIBLIG3ADR: text(38).optional(),
    LIBLIG4ADR: text(38).optional(),
    LIBLIG5ADR: text(38).optional(),
    LIBLIG6ADR: text(38).optional(),
    LIBLIG7ADR: text(38).optional(),
  }).optional(),
})

export const DonneesAdministrativesSchema = block({
  SituationFamille: block({ SITFAM: code('SITFAM', SITFAM), DDSITFAM: date() }),
  Adresse: list(AdresseSchema).min(1, { error: 'required' }).max(3, { error: 'max_occurs:3' }),
})

const FinDroitSchema = block({ MOTICLORSA: code('MOTICLORSA', MOTICLORSA), DTCLORSA: date() })

export const SituationDossierRSASchema = block({
  EtatDossierRSA: block({ ETATDOSRSA: code('ETATDOSRSA', ETATDOSRSA) }),
  Refus: block({ DTREFURSA: date(), MOTIREFURSA: text(3) }).optional(),
  SuspensionDroit: list(block({ MOTISUSDRORSA: text(2), DDSUSDRORSA: date() })).optional(),
  SuspensionVersement: list(block({ MOTISUSVERSRSA: code('MOTISUSVERSRSA', MOTISUSVERSRSA), DDSUSVERSRSA: date() })).optional(),
  FinDroit: FinDroitSchema.optional(),
  FinDroitMoisAnterieur: FinDroitSchema.optional(),
})

export const DetailDroitRSASchema = block({
  TroncCommunDroitRSA: block({
    TOPSANSDOMFIXE: bool(),
    NBENFAUTCHA: integer(2).optional(),
    ORIDEMRSA: code('ORIDEMRSA', ORIDEMRSA),
    TOPFOYDRODEVORSA: bool().optional(),
  }),
  MontantsCalculDroitRSA: block({ MTTOTDRORSA: amount() }).optional(),
})

export const InfosFoyerRSASchema = block({
  IdentificationRSA: IdentificationRSASchema,
  Personne: list(PersonneSchema).min(1, { error: 'required' }),
  DonneesAdministratives: DonneesAdministrativesSchema,
  PrestationRSA: block({ SituationDossierRSA: SituationDossierRSASchema, DetailDroitRSA: DetailDroitRSASchema }),
  // Daily files: what triggered the movement (DTLIQ xsd:date, FG up to 9 characters; HEULIQ is not used).
  Evenement: list(block({ DTLIQ: date(), FG: text(9).optional() })).optional(),
})

export type InfosFoyerRSA = z.output<typeof InfosFoyerRSASchema>

/** Elements of an InfosFoyerRSA that may occur more than once (always arrays in the parsed tree). */
export const REPEATABLE_ELEMENTS: ReadonlySet<string> = new Set([
  'Personne',
  'Prestations',
  'Activite',
  'Adresse',
  'SuspensionDroit',
  'SuspensionVersement',
  'Evenement',
])

/**
 * Blocks nothing is taken from: checked for well-formedness, never parsed. (Resources by month, RSA calculation
 * detail, PCG opinions, controls, events and anomalies make up a large share of a real file.)
 */
export const SKIPPED_ELEMENTS: ReadonlySet<string> = new Set([
  'Partenaire',
  'DemandeRMI',
  'OrganismeCedant',
  'OrganismePrenant',
  'Rattachement',
  'Ressources',
  'PensionAlimentaire',
  'Grossesse',
  'InformationsAgricoles',
  'AvisPCGPersonne',
  'AvisCGSSDOMPersonne',
  'SpecificiteDOM',
  'DetailCalculDroitRSA',
  'AvisPCGDroitRSA',
  'Controle',
  'Anomalie',
])
