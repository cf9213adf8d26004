import type { CnafAdresse, CnafFoyer, CnafPersonne } from './foyer.ts'
import type { ParsedRecord, RecordIssue } from '../records/parsed-record.ts'
import { FONORG } from './code-lists.ts'
import { InfosFoyerRSASchema, type InfosFoyerRSA } from './foyer-schema.ts'
import type { XmlTree, XmlValue } from './parse-record-xml.ts'
import { fieldPath, issueRule } from './xsd-values.ts'

export interface FoyerContext {
  recordIndex: number
  line: number
  /** FONORG values the flow may carry. */
  organismes: readonly string[]
}

type Personne = InfosFoyerRSA['Personne'][number]
type Adresse = InfosFoyerRSA['DonneesAdministratives']['Adresse'][number]

function child(value: XmlValue, name: string): XmlValue {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value[name] : undefined
}

/** NUMDEMRSA when it can be read, even from a record that fails validation (so a stock keeps the dossier). */
export function readNumdemrsa(tree: XmlValue): string | undefined {
  const value = child(child(child(tree, 'IdentificationRSA'), 'DemandeRSA'), 'NUMDEMRSA')
  return typeof value === 'string' && value.length <= 11 ? value : undefined
}

/** The latest of dated items, by their YYYY-MM-DD date (the first one on ties). */
function latest<T>(items: readonly T[] | undefined, dateOf: (item: T) => string): T | undefined {
  let best: T | undefined
  for (const item of items ?? []) if (best === undefined || dateOf(item) > dateOf(best)) best = item
  return best
}

/** ACT of the current activity: the one with no DFACT (the latest such), else the latest by DDACT. */
function currentActivity(personne: Personne): string | undefined {
  const activities = personne.Activite ?? []
  const open = activities.filter((a) => a.DFACT === undefined)
  return latest(open.length > 0 ? open : activities, (a) => a.DDACT)?.ACT
}

function toPersonne(p: Personne): CnafPersonne {
  const id = p.Identification
  const rsa = p.Prestations.find((prestation) => prestation.NATPREST === 'RSA')
  if (!rsa) throw new Error('unreachable: Prestations validated to hold one RSA prestation')
  const droit = p.MontantCalculDroitRSAPersonne
  return {
    qual: id.QUAL,
    nom: id.NOM,
    nomnai: id.NOMNAI,
    prenom: id.PRENOM,
    prenom2: id.PRENOM2,
    prenom3: id.PRENOM3,
    nomcomnai: id.NOMCOMNAI,
    dtnai: id.DTNAI,
    rgnai: id.RGNAI,
    typedtnai: id.TYPEDTNAI,
    nir13: id.NIR,
    sexe: id.SEXE,
    toprespdos: p.DossierCAF.TOPRESPDOS,
    rolepers: rsa.ROLEPERS,
    topchapers: rsa.TOPCHAPERS,
    toppersdrodevorsa: droit?.TOPPERSDRODEVORSA,
    toppersentdrodevorsa: droit?.TOPPERSENTDRODEVORSA,
    idassedic: p.DossierPoleEmploi?.IDASSEDIC,
    mtpersressmenrsa: droit?.MTPERSRESSMENRSA,
    act: currentActivity(p),
  }
}

/** The current address: RGADR 01, else the lowest rank. */
function toAdresse(adresses: readonly Adresse[]): CnafAdresse | undefined {
  let current: Adresse | undefined
  for (const a of adresses) {
    if (current === undefined || a.TroncCommunAdresse.RGADR < current.TroncCommunAdresse.RGADR) current = a
  }
  if (!current) return undefined
  const france = current.AdresseDetailleeFrance
  const abroad = current.AdresseHorsFrance
  const lines = abroad
    ? [abroad.LIBLIG2ADR, abroad.LIBLIG3ADR, abroad.LIBLIG4ADR, abroad.LIBLIG5ADR, abroad.LIBLIG6ADR, abroad.LIBLIG7ADR].filter(
        (line): line is string => line !== undefined,
      )
    : []
  return {
    pays: current.TroncCommunAdresse.PAYS,
    numvoie: france?.NUMVOIE,
    libtypevoie: france?.LIBTYPEVOIE,
    nomvoie: france?.NOMVOIE,
    complideadr: france?.COMPLIDEADR,
    compladr: france?.COMPLADR,
    lieudist: france?.LIEUDIST,
    codepos: france?.CODEPOS,
    numcom: france?.NUMCOM,
    nomcom: france?.NOMCOM,
    horsFrance: lines.length > 0 ? lines.join(' / ') : undefined,
  }
}

function toFoyer(f: InfosFoyerRSA, context: FoyerContext): CnafFoyer {
  const situation = f.PrestationRSA.SituationDossierRSA
  const tronc = f.PrestationRSA.DetailDroitRSA.TroncCommunDroitRSA
  const suspensionDroit = latest(situation.SuspensionDroit, (s) => s.DDSUSDRORSA)
  const suspensionVersement = latest(situation.SuspensionVersement, (s) => s.DDSUSVERSRSA)
  const finDroit = situation.FinDroit ?? situation.FinDroitMoisAnterieur
  return {
    recordIndex: context.recordIndex,
    line: context.line,
    fonorg: f.IdentificationRSA.Organisme.FONORG,
    numorg: f.IdentificationRSA.Organisme.NUMORG,
    matricule: f.IdentificationRSA.Organisme.MATRICULE,
    numdemrsa: f.IdentificationRSA.DemandeRSA.NUMDEMRSA,
    dtdemrsa: f.IdentificationRSA.DemandeRSA.DTDEMRSA,
    personnes: f.Personne.map(toPersonne),
    sitfam: f.DonneesAdministratives.SituationFamille.SITFAM,
    ddsitfam: f.DonneesAdministratives.SituationFamille.DDSITFAM,
    adresse: toAdresse(f.DonneesAdministratives.Adresse),
    etatdosrsa: situation.EtatDossierRSA.ETATDOSRSA,
    refus: situation.Refus ? { motif: situation.Refus.MOTIREFURSA, date: situation.Refus.DTREFURSA } : undefined,
    suspensionDroit: suspensionDroit ? { motif: suspensionDroit.MOTISUSDRORSA, date: suspensionDroit.DDSUSDRORSA } : undefined,
    suspensionVersement: suspensionVersement
      ? { motif: suspensionVersement.MOTISUSVERSRSA, date: suspensionVersement.DDSUSVERSRSA }
      : undefined,
    finDroit: finDroit ? { motif: finDroit.MOTICLORSA, date: finDroit.DTCLORSA } : undefined,
    topsansdomfixe: tronc.TOPSANSDOMFIXE,
    nbenfautcha: tronc.NBENFAUTCHA,
    oridemrsa: tronc.ORIDEMRSA,
    topfoydrodevorsa: tronc.TOPFOYDRODEVORSA,
    mttotdrorsa: f.PrestationRSA.DetailDroitRSA.MontantsCalculDroitRSA?.MTTOTDRORSA,
  }
}

/**
 * Validates the parsed tree of one InfosFoyerRSA and maps it to a CnafFoyer, or lists every rule it breaks
 * (field and rule, never the value).
 */
export function validateFoyer(tree: XmlTree | string | undefined, context: FoyerContext): ParsedRecord<CnafFoyer> {
  const parsed = InfosFoyerRSASchema.safeParse(tree)
  const issues: RecordIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({ field: fieldPath(issue.path) || 'InfosFoyerRSA', rule: issueRule(issue) }))
  const fonorg = child(child(child(tree, 'IdentificationRSA'), 'Organisme'), 'FONORG')
  if (typeof fonorg === 'string' && (FONORG as readonly string[]).includes(fonorg) && !context.organismes.includes(fonorg)) {
    issues.push({ field: 'IdentificationRSA.Organisme.FONORG', rule: 'organisme_not_in_flow' })
  }
  if (!parsed.success || issues.length > 0) {
    return { ok: false, recordIndex: context.recordIndex, line: context.line, key: readNumdemrsa(tree), issues }
  }
  return { ok: true, value: toFoyer(parsed.data, context) }
}
