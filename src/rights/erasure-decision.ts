import { FIELDS_BY_ID } from '../model/fields.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { GDPR_ARTICLE6_LABELS } from '../register/labels.ts'

/**
 * What an opposition or erasure request may do, decided from the declarations alone (pure): a purpose whose
 * declaration says `erasable: true` (consent-based processing) stops processing the person and its data about
 * them goes; any other purpose (a public-interest mission, art. 6(1)(e), or a legal obligation, 6(1)(c)) refuses,
 * with the reason the person is given. A standing legal hold on one of the person's dossiers suspends erasure
 * (art. 17(3)(e)).
 *
 * Data lives in shared canonical tables, so "the purpose's data" is: every field that the opposed purposes declare
 * and that no purpose still processing the person declares (key fields stay: they serve matching and retention).
 * When no purpose that holds data on the person keeps a basis, the person is deleted everywhere (`full`).
 */
export type ErasureScope = 'full' | 'fields' | 'none'

export interface ErasureDecision {
  outcome: 'granted' | 'partially_granted' | 'refused' | 'no_data'
  scope: ErasureScope
  /** Purposes the request makes the person opposed to (new standing oppositions). */
  granted: string[]
  refused: { purpose: string; reason: string }[]
  /** Every purpose the person stands opposed to afterwards (granted and earlier ones). */
  opposed: string[]
  /** Purposes that hold data on the person (their source flows brought some). */
  applicable: string[]
  /** Canonical field ids to clear on the person's rows (scope `fields`). */
  fieldsToClear: string[]
}

export interface ErasureInput {
  type: 'opposition' | 'erasure'
  /**
   * The purposes the request names: one purpose, every purpose that holds data on the person (`applicable`), or
   * none (re-applying standing oppositions after a new flow).
   */
  targets: readonly string[] | 'applicable'
  purposes: ReadonlyMap<string, Purpose>
  /** The flows the person's data came from (active and archive). */
  personFlows: ReadonlySet<string>
  /** Purposes the person already stands opposed to. */
  standing: ReadonlySet<string>
  /** A standing legal hold covers one of the person's dossiers. */
  legalHold: boolean
}

const CNIL =
  "Vous pouvez introduire une réclamation auprès de la CNIL (www.cnil.fr, 3 place de Fontenoy, 75007 Paris) et former un recours devant le juge (art. 12.4 et 77 à 79 RGPD)."

/** The reason given to the person when a purpose's legal basis does not allow the request. */
export function refusalReason(purpose: Pick<Purpose, 'title' | 'legal_basis'>, type: 'opposition' | 'erasure'): string {
  const basis = GDPR_ARTICLE6_LABELS[purpose.legal_basis.gdpr] ?? purpose.legal_basis.gdpr
  const head = `La finalité « ${purpose.title} » repose sur la base légale suivante : ${basis}, en application de : ${purpose.legal_basis.national.trim()}.`
  let why: string
  if (purpose.legal_basis.gdpr === '6(1)(e)' || purpose.legal_basis.gdpr === '6(1)(c)') {
    why =
      type === 'erasure'
        ? "Le droit à l'effacement ne s'applique pas aux données nécessaires au respect d'une obligation légale ou à l'exécution d'une mission d'intérêt public (art. 17.3.b RGPD) : ces données restent conservées pour la durée prévue par ces textes, puis sont détruites."
        : "Ce traitement est imposé au Département par ces textes pour l'exercice de sa mission : il existe des motifs légitimes et impérieux de le poursuivre (art. 21.1 RGPD). Votre opposition ne peut donc pas être accueillie pour cette finalité."
  } else {
    why = "La déclaration de cette finalité ne prévoit ni opposition ni effacement : le délégué à la protection des données examine votre demande et vous répond de façon motivée."
  }
  return `${head} ${why} ${CNIL}`
}

export const LEGAL_HOLD_REASON =
  "Un de vos dossiers fait l'objet d'une mesure de conservation pour la constatation, l'exercice ou la défense de droits en justice : l'effacement est suspendu tant que dure cette mesure (art. 17.3.e RGPD). " +
  CNIL

export function decideErasure(input: ErasureInput): ErasureDecision {
  const all = [...input.purposes.values()]
  const applicable = all.filter((p) => p.source_flows.some((f) => input.personFlows.has(f))).map((p) => p.id)
  const targets = input.targets === 'applicable' ? applicable : input.targets
  const granted: string[] = []
  const refused: ErasureDecision['refused'] = []
  for (const id of targets) {
    const purpose = input.purposes.get(id)
    if (!purpose) throw new Error(`unknown purpose "${id}" (known: ${[...input.purposes.keys()].join(', ')})`)
    if (!purpose.erasable) refused.push({ purpose: id, reason: refusalReason(purpose, input.type) })
    else if (input.legalHold) refused.push({ purpose: id, reason: LEGAL_HOLD_REASON })
    else granted.push(id)
  }
  const opposed = new Set([...input.standing, ...granted])
  const stillProcessing = applicable.filter((id) => !opposed.has(id))
  const held = applicable.length > 0
  const full = held && !input.legalHold && stillProcessing.length === 0 && applicable.some((id) => opposed.has(id))
  let fieldsToClear: string[] = []
  if (!full && held && !input.legalHold) {
    const kept = new Set(stillProcessing.flatMap((id) => input.purposes.get(id)!.fields.map((f) => f.field)))
    const cleared = new Set<string>()
    for (const id of opposed) {
      const purpose = input.purposes.get(id)
      if (!purpose) continue
      for (const f of purpose.fields) if (!kept.has(f.field) && FIELDS_BY_ID.get(f.field)?.key === false) cleared.add(f.field)
    }
    fieldsToClear = [...cleared].sort()
  }
  const outcome: ErasureDecision['outcome'] = !held && refused.length === 0 ? 'no_data' : refused.length === 0 ? 'granted' : granted.length === 0 ? 'refused' : 'partially_granted'
  return {
    outcome,
    scope: full ? 'full' : fieldsToClear.length > 0 ? 'fields' : 'none',
    granted,
    refused,
    opposed: [...opposed].sort(),
    applicable,
    fieldsToClear,
  }
}
