import type { Db } from '../db/db.ts'
import { issueApiToken } from '../auth/issue-api-token.ts'
import { createOrganisation, findOrganisationBySiret } from '../auth/organisations.ts'
import { purposeAllows } from '../access/purpose-allows.ts'
import { createUser, findUserByEmail } from '../auth/users.ts'
import type { Purpose, Role } from '../purposes/purpose.ts'
import { DEMO_REFERENTS, DEMO_STRUCTURES } from './seed-demo-files.ts'

export interface DemoToken {
  role: Role
  email: string
  organisation: string
  purpose: string
  token: string
}

const USERS: { email: string; name: string; role: Role; structure: keyof typeof DEMO_STRUCTURES }[] = [
  { email: DEMO_REFERENTS.ccas, name: 'Référente CCAS (démo)', role: 'referent', structure: 'ccas' },
  { email: DEMO_REFERENTS.franceTravail, name: 'Référent France Travail (démo)', role: 'referent', structure: 'franceTravail' },
  { email: 'responsable.ccas@demo.passerelle.invalid', name: 'Responsable de structure CCAS (démo)', role: 'structure-manager', structure: 'ccas' },
  { email: 'instructeur@demo.passerelle.invalid', name: 'Instructeur du Département (démo)', role: 'instructor', structure: 'departement' },
  { email: 'statisticien@demo.passerelle.invalid', name: 'Statisticien (démo)', role: 'statistician', structure: 'observatoire' },
  { email: 'dpd@demo.passerelle.invalid', name: 'Délégué à la protection des données (démo)', role: 'dpo', structure: 'departement' },
  { email: 'admin@demo.passerelle.invalid', name: 'Administrateur (démo)', role: 'admin', structure: 'departement' },
]

/**
 * Demo organisations and users (created once; the orientations file names their SIRETs and e-mails), then one
 * fresh token per demo user under the first purpose whose recipients name the user's role and organisation type.
 * Synthetic accounts on the embedded database only.
 */
export async function ensureDemoAccounts(db: Db): Promise<Map<string, { id: number; type: string; name: string }>> {
  const organisations = new Map<string, { id: number; type: string; name: string }>()
  for (const [key, s] of Object.entries(DEMO_STRUCTURES)) {
    const org = (await findOrganisationBySiret(db, s.siret)) ?? (await createOrganisation(db, s))!
    organisations.set(key, { id: org.id, type: s.type, name: s.name })
  }
  for (const u of USERS) {
    const org = organisations.get(u.structure)!
    if (!(await findUserByEmail(db, u.email))) await createUser(db, { email: u.email, displayName: u.name, role: u.role, organisationId: org.id })
  }
  return organisations
}

/** The demo users as agents of the local OpenID Connect provider (the console's demo sign-in). */
export function demoAgents(): { email: string; givenName: string; usualName: string; siret: string; label: string }[] {
  return USERS.map((u) => ({
    email: u.email,
    givenName: u.name.split(' ')[0]!,
    usualName: '(démo)',
    siret: DEMO_STRUCTURES[u.structure].siret,
    label: u.name,
  }))
}

/** One fresh demo token per demo user (organisations and users must exist: ensureDemoAccounts). */
export async function issueDemoTokens(db: Db, purposes: ReadonlyMap<string, Purpose>, now: Date): Promise<{ tokens: DemoToken[]; skipped: string[] }> {
  const organisations = await ensureDemoAccounts(db)
  const tokens: DemoToken[] = []
  const skipped: string[] = []
  for (const u of USERS) {
    const org = organisations.get(u.structure)!
    const purpose = [...purposes.values()].find((p) => purposeAllows(p, u.role, org.type))
    if (!purpose) {
      skipped.push(`${u.role}: no purpose names this role for a ${org.type}`)
      continue
    }
    const issued = await issueApiToken(db, purposes, { email: u.email, purposeId: purpose.id, lifetime: '30d', label: 'demo' }, now)
    tokens.push({ role: u.role, email: u.email, organisation: org.name, purpose: purpose.id, token: issued.token })
  }
  return { tokens, skipped }
}
