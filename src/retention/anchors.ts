import type { ETATDOSRSA } from '../ingestion/cnaf/code-lists.ts'
import { parisDay } from '../calendar/paris-day.ts'
import type { CalendarDate } from './duration.ts'
import type { Anchor } from './policy.ts'

/**
 * When a retention clock starts: for each kind of row, the pure rule (`…AnchorFacts`, from a row's values) and its
 * SQL twin (`…AnchorSql`, the same day computed over a whole table), side by side. The run asks the SQL; the pure
 * rules say what the SQL means, and a property test checks both agree on random rows.
 */

/** The facts a row gives to the clocks, as calendar days (Europe/Paris). `null`: that clock has not started. */
export interface AnchorFacts {
  transmission: CalendarDate
  endOfRight: CalendarDate | null
  lastActivity: CalendarDate
  decision: CalendarDate | null
  event: CalendarDate
}

export function anchorDay(anchor: Anchor, facts: AnchorFacts): CalendarDate | null {
  switch (anchor) {
    case 'transmission':
      return facts.transmission
    case 'end_of_right':
      return facts.endOfRight
    case 'last_activity':
      return facts.lastActivity
    case 'decision':
      return facts.decision
    case 'event':
      return facts.event
  }
}

type EtatDossierRsa = (typeof ETATDOSRSA)[number]

/** ETATDOSRSA states where the right has ended: closed (`Droit clos`, 5 and 6). */
export const CLOSED_STATES: readonly EtatDossierRsa[] = ['5', '6']
/** ETATDOSRSA states where the right was refused (`Droit refusé`). */
export const REFUSED_STATES: readonly EtatDossierRsa[] = ['1']
/** France Travail states that end a registration. */
export const ENDED_REGISTRATION_STATES = ['cessation', 'radiation'] as const

/** A list of code constants as SQL literals (codes are checked: they never come from a file). */
function sqlCodes(codes: readonly string[]): string {
  for (const code of codes) if (!/^[0-9A-Za-z_-]+$/.test(code)) throw new Error(`retention: invalid code constant "${code}"`)
  return codes.map((code) => `'${code}'`).join(', ')
}

/** A timestamp column's civil day in Europe/Paris, as `parisDay` computes it. */
const day = (column: string) => `(${column} at time zone 'Europe/Paris')::date`

const maxDay = (...days: (CalendarDate | null | undefined)[]): CalendarDate | null =>
  days.reduce<CalendarDate | null>((acc, d) => (d && (!acc || d > acc) ? d : acc), null)

// ---------------------------------------------------------------------------------------------------------------
// Dossiers

export interface DossierRowFacts {
  transmittedAt: Date
  createdAt: Date
  etatDroit: string | null
  dateCloture: CalendarDate | null
  dateRefus: CalendarDate | null
  dateSuspensionDroit: CalendarDate | null
  dateSuspensionVersement: CalendarDate | null
  transmissionState: 'transmitted' | 'not_transmitted'
  notTransmittedSince: CalendarDate | null
  /** Latest state change seen on the dossier (its `transmitted_at`), if any. */
  lastChangeAt: Date | null
}

/**
 * A dossier's clocks. The end of the right is the closure date when the right is closed, the refusal date when it
 * was refused (the transmission day when the date is missing), otherwise the day the organisme stopped transmitting
 * the dossier; an open, still transmitted right has no end yet. An application only the instruction flow has sent
 * (no state of the right yet) counts from its transmission.
 */
export function dossierAnchorFacts(row: DossierRowFacts): AnchorFacts {
  const transmission = parisDay(row.transmittedAt)
  let endOfRight: CalendarDate | null = null
  if (row.etatDroit !== null && CLOSED_STATES.includes(row.etatDroit as EtatDossierRsa)) endOfRight = row.dateCloture ?? transmission
  else if (row.etatDroit !== null && REFUSED_STATES.includes(row.etatDroit as EtatDossierRsa)) endOfRight = row.dateRefus ?? transmission
  else if (row.transmissionState === 'not_transmitted') endOfRight = row.notTransmittedSince ?? transmission
  // An application the beneficiary flow has never listed (instruction flow only: no state of the right): its
  // clock runs from the application's transmission, as R. 262-106 CASF (2009) ran it from the @RSA collection.
  else if (row.etatDroit === null) endOfRight = transmission
  return {
    transmission,
    endOfRight,
    lastActivity: maxDay(parisDay(row.createdAt), row.lastChangeAt ? parisDay(row.lastChangeAt) : null)!,
    decision: maxDay(row.dateRefus, row.dateCloture, row.dateSuspensionDroit, row.dateSuspensionVersement),
    event: transmission,
  }
}

/** SQL twin of `dossierAnchorFacts` (alias `d`); null while that clock has not started. */
export function dossierAnchorSql(anchor: Anchor): string {
  const transmission = day('d.transmitted_at')
  switch (anchor) {
    case 'transmission':
    case 'event':
      return transmission
    case 'end_of_right':
      return `(case
        when d.etat_droit in (${sqlCodes(CLOSED_STATES)}) then coalesce(d.date_cloture, ${transmission})
        when d.etat_droit in (${sqlCodes(REFUSED_STATES)}) then coalesce(d.date_refus, ${transmission})
        when d.transmission_state = 'not_transmitted' then coalesce(d.not_transmitted_since, ${transmission})
        when d.etat_droit is null then ${transmission}
      end)`
    case 'last_activity':
      return `greatest(${day('d.created_at')}, ${day('(select max(sc.transmitted_at) from state_changes sc where sc.dossier_id = d.id)')})`
    case 'decision':
      return 'greatest(d.date_refus, d.date_cloture, d.date_suspension_droit, d.date_suspension_versement)'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// France Travail registrations

export interface RegistrationRowFacts {
  transmittedAt: Date
  createdAt: Date
  etat: 'inscription' | 'cessation' | 'radiation'
  dateEtat: CalendarDate | null
  lastChangeAt: Date | null
}

/** A France Travail registration's clocks: the registration ends with a cessation or a radiation. */
export function registrationAnchorFacts(row: RegistrationRowFacts): AnchorFacts {
  const transmission = parisDay(row.transmittedAt)
  const ended = (ENDED_REGISTRATION_STATES as readonly string[]).includes(row.etat)
  return {
    transmission,
    endOfRight: ended ? (row.dateEtat ?? transmission) : null,
    lastActivity: maxDay(parisDay(row.createdAt), row.lastChangeAt ? parisDay(row.lastChangeAt) : null)!,
    decision: ended ? (row.dateEtat ?? transmission) : null,
    event: transmission,
  }
}

/** SQL twin of `registrationAnchorFacts` (alias `r`). */
export function registrationAnchorSql(anchor: Anchor): string {
  const transmission = day('r.transmitted_at')
  switch (anchor) {
    case 'transmission':
    case 'event':
      return transmission
    case 'end_of_right':
    case 'decision':
      return `(case when r.etat in (${sqlCodes(ENDED_REGISTRATION_STATES)}) then coalesce(r.date_etat, ${transmission}) end)`
    case 'last_activity':
      return `greatest(${day('r.created_at')}, ${day('(select max(sc.transmitted_at) from state_changes sc where sc.dossier_id is null and sc.person_key = r.person_key)')})`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Persons no dossier refers to any more

/**
 * A person no active dossier or registration refers to any more (left the foyer): every clock starts at the
 * person's last transmission, the last day the organisme vouched for the data.
 */
export function orphanPersonAnchorFacts(transmittedAt: Date): AnchorFacts {
  const d = parisDay(transmittedAt)
  return { transmission: d, endOfRight: d, lastActivity: d, decision: d, event: d }
}

/** SQL twin of `orphanPersonAnchorFacts` (alias `p`): every clock starts at the last transmission. */
export function orphanPersonAnchorSql(): string {
  return day('p.transmitted_at')
}
