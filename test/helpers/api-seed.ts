import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { AuditWriter } from '../../src/audit/audit-log.ts'
import { issueApiToken } from '../../src/auth/issue-api-token.ts'
import { createOrganisation } from '../../src/auth/organisations.ts'
import { completeSiret } from '../../src/auth/siret.ts'
import { createUser } from '../../src/auth/users.ts'
import { personMatchKey } from '../../src/crypto/blind-index.ts'
import type { Keys } from '../../src/crypto/keys.ts'
import { encryptNir } from '../../src/crypto/nir-cipher.ts'
import type { Db, Queryable } from '../../src/db/db.ts'
import { createApp, type ApiApp } from '../../src/http/app.ts'
import type { Logger } from '../../src/log/logger.ts'
import type { Flow } from '../../src/flows/flow.ts'
import { ingestFile, type FileOutcome, type IngestDeps } from '../../src/ingestion/ingest-file.ts'
import type { ApiOptions } from '../../src/config/config.ts'
import { parsePurpose, type Purpose, type Role } from '../../src/purposes/purpose.ts'

/**
 * Seeds canonical rows, organisations, users, tokens and assignments for the API tests with plain SQL: synthetic
 * values only (NOM-0001, Prénom-0001...).
 */
export async function seedFile(db: Queryable, flowId = 'caf-beneficiaires'): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `insert into files (flow_id, name, size, sha256, status, source, started_at, transmitted_at)
     values ($1, $2, 1, $3, 'loaded', 'local', now(), now())
     returning id`,
    [flowId, `seed-${Math.random().toString(36).slice(2)}.xml`, Math.random().toString(16).slice(2).padEnd(64, '0').slice(0, 64)],
  )
  return rows[0]!.id
}

export interface SeedPerson {
  n: number
  numdemrsa?: string
  organisme?: 'CAF' | 'MSA'
  role?: string
  etatDroit?: string
  soumisDroitsDevoirs?: boolean
  ft?: { etat: 'inscription' | 'cessation' | 'radiation'; dateEtat: string } | undefined
}

export interface SeededPerson {
  personId: number
  publicId: string
  matchKey: string
  dossierId: number
  nir13: string
  dateNaissance: string
  numdemrsa: string
}

export function syntheticNir13(n: number): string {
  return `1${String(80 + (n % 20)).padStart(2, '0')}0175${String(100000 + n).slice(-6)}`.slice(0, 13)
}

export async function seedPerson(db: Queryable, keys: Keys, fileId: number, p: SeedPerson): Promise<SeededPerson> {
  const nir13 = syntheticNir13(p.n)
  const dateNaissance = `19${String(80 + (p.n % 20)).padStart(2, '0')}-01-15`
  const matchKey = personMatchKey(keys.index, nir13, dateNaissance)
  const numdemrsa = p.numdemrsa ?? String(10_000_000 + p.n).padStart(11, '0')
  const organisme = p.organisme ?? 'CAF'
  const person = await db.query<{ id: number; public_id: string }>(
    `insert into persons (match_key, nir_cipher, qualite, nom, prenom, date_naissance, sexe, file_id, transmitted_at)
     values ($1, $2, 'MME', $3, $4, $5, '2', $6, now())
     returning id, public_id`,
    [matchKey, encryptNir(keys.nir, nir13), `NOM-${String(p.n).padStart(4, '0')}`, `Prénom-${String(p.n).padStart(4, '0')}`, dateNaissance, fileId],
  )
  const dossier = await db.query<{ id: number }>(
    `insert into dossiers (flow_id, organisme, numdemrsa, etat_droit, foyer_soumis_droits_devoirs, nombre_personnes, montant_droit_total, adresse_code_postal, adresse_commune, file_id, transmitted_at)
     values ('caf-beneficiaires', $1, $2, $3, $4, 2, 612.50, '93200', 'COMMUNE-${p.n}', $5, now())
     on conflict (organisme, numdemrsa) do update set updated_at = now()
     returning id`,
    [organisme, numdemrsa, p.etatDroit ?? '2', p.soumisDroitsDevoirs ?? true, fileId],
  )
  const personId = person.rows[0]!.id
  const dossierId = dossier.rows[0]!.id
  await db.query(
    `insert into dossier_members (dossier_id, person_id, role, soumis_droits_devoirs, ressources_mensuelles, file_id, transmitted_at)
     values ($1, $2, $3, $4, 100.00, $5, now())`,
    [dossierId, personId, p.role ?? 'DEM', p.soumisDroitsDevoirs ?? true, fileId],
  )
  if (p.ft) {
    await db.query(
      `insert into france_travail_registrations (person_key, identifiant_pe, etat, date_etat, code, file_id, transmitted_at)
       values ($1, $2, $3, $4, '1', $5, now())`,
      [matchKey, `1234567A${String(p.n % 1000).padStart(3, '0')}`, p.ft.etat, p.ft.dateEtat, fileId],
    )
  }
  return { personId, publicId: person.rows[0]!.public_id, matchKey, dossierId, nir13, dateNaissance, numdemrsa }
}

export async function seedOrganisation(db: Queryable, n: number, type = 'ccas', name = `Structure ${n}`): Promise<{ id: number; siret: string; publicId: string }> {
  const siret = completeSiret(`2175000${String(n).padStart(6, '0')}`)
  const created = await createOrganisation(db, { siret, name, type })
  if (!created) throw new Error(`organisation ${n} exists already`)
  return { id: created.id, siret, publicId: created.publicId }
}

export async function seedUser(db: Queryable, email: string, role: Role, organisationId: number): Promise<{ id: number; publicId: string; email: string }> {
  const created = await createUser(db, { email, displayName: `Agent ${email.split('@')[0]}`, role, organisationId })
  if (!created) throw new Error(`user ${email} exists already`)
  return { id: created.id, publicId: created.publicId, email: created.email }
}

export async function seedToken(
  db: Queryable,
  purposes: ReadonlyMap<string, Purpose>,
  email: string,
  purposeId: string,
  now = new Date(),
  lifetime = '90d',
): Promise<{ id: number; token: string }> {
  return issueApiToken(db, purposes, { email, purposeId, lifetime }, now)
}

export async function seedAssignment(
  db: Queryable,
  a: { personId: number; organisationId: number; referentUserId?: number | null; startsOn: string; endsOn?: string | null },
): Promise<void> {
  await db.query(
    `insert into assignments (person_id, organisation_id, referent_user_id, starts_on, ends_on, source)
     values ($1, $2, $3, $4, $5, 'admin')`,
    [a.personId, a.organisationId, a.referentUserId ?? null, a.startsOn, a.endsOn ?? null],
  )
}

const base = {
  title: 'Test',
  title_en: 'Test',
  description: 'Test purpose',
  description_en: 'Test purpose',
  controller: { name: 'Département de test', contact: 'dpd@test.example' },
  legal_basis: { gdpr: '6(1)(e)', national: 'CASF (test)' },
  data_subjects: ['Bénéficiaires du RSA'],
  source_flows: ['caf-beneficiaires'],
  retention: 'rsa-beneficiaires',
}

const ORGS = ['departement', 'france-travail', 'ccas', 'cias', 'association']

/** Purposes of the API tests, declared here so that field assertions do not depend on the shipped mappings. */
export function testPurposes(): Map<string, Purpose> {
  const declarations: Record<string, unknown> = {
    'test-accompagnement': {
      ...base,
      recipients: [
        { role: 'referent', organisation_types: ORGS },
        { role: 'structure-manager', organisation_types: ORGS },
      ],
      fields: [
        { field: 'personne.nom', as: 'nom' },
        { field: 'personne.prenom', as: 'prenom' },
        { field: 'personne.dateNaissance', as: 'anneeNaissance', transform: 'year' },
        { field: 'personne.role', as: 'roleDossier' },
        { field: 'personne.soumisDroitsDevoirs', as: 'soumisDroitsDevoirs' },
        { field: 'dossier.numdemrsa', as: 'numeroDemandeRsa' },
        { field: 'dossier.etatDroit', as: 'etatDroit' },
        { field: 'adresse.codePostal', as: 'departement', transform: 'postcode-to-departement' },
        { field: 'franceTravail.etat', as: 'etatFranceTravail' },
      ],
    },
    'test-etat-seul': {
      ...base,
      recipients: [{ role: 'referent', organisation_types: ORGS }],
      fields: [{ field: 'dossier.etatDroit', as: 'etatDroit' }],
    },
    'test-nir': {
      ...base,
      recipients: [{ role: 'referent', organisation_types: ['france-travail'] }],
      fields: [
        { field: 'personne.nir', as: 'nir' },
        { field: 'dossier.montantDroitTotal', as: 'montant' },
        { field: 'personne.ressourcesMensuelles', as: 'ressources' },
      ],
    },
    'test-instruction': {
      ...base,
      recipients: [{ role: 'instructor', organisation_types: ['departement'] }],
      fields: [
        { field: 'dossier.numdemrsa', as: 'numeroDemandeRsa' },
        { field: 'personne.nir', as: 'nir' },
        { field: 'dossier.etatDroit', as: 'etatDroit' },
      ],
    },
    'test-administration': {
      ...base,
      recipients: [{ role: 'admin', organisation_types: ['departement'] }],
      fields: [{ field: 'dossier.numdemrsa', as: 'numeroDemandeRsa' }],
    },
    'test-controle': {
      ...base,
      recipients: [{ role: 'dpo', organisation_types: ['departement'] }],
      fields: [{ field: 'dossier.numdemrsa', as: 'numeroDemandeRsa' }],
    },
    'test-statistiques': {
      ...base,
      recipients: [{ role: 'statistician', organisation_types: ['departement', 'statistique'] }],
      fields: [{ field: 'personne.dateNaissance', as: 'anneeNaissance', transform: 'year' }],
      audit: 'metadata',
    },
  }
  return new Map(Object.entries(declarations).map(([id, d]) => [id, parsePurpose(d, id)]))
}

/**
 * A small world for the API tests, on a fixed clock (2026-06-15 12:00 Paris): structures A (CCAS), B
 * (association), FT (France Travail) and the département D; their users; persons p1..p10 in every situation the
 * rules distinguish; one token per user, plus an expired, a revoked and an inactive user's token.
 */
export const WORLD_NOW = new Date('2026-06-15T10:00:00Z')

export interface World {
  orgs: Record<'A' | 'B' | 'FT' | 'D', { id: number; siret: string; publicId: string }>
  users: Record<string, { id: number; publicId: string; email: string }>
  persons: Record<string, SeededPerson>
  tokens: Record<string, string>
}

export async function buildWorld(db: Queryable, keys: Keys, purposes: ReadonlyMap<string, Purpose>, now = WORLD_NOW): Promise<World> {
  const fileId = await seedFile(db)
  const orgs = {
    A: await seedOrganisation(db, 1, 'ccas', 'CCAS A'),
    B: await seedOrganisation(db, 2, 'association', 'Association B'),
    FT: await seedOrganisation(db, 3, 'france-travail', 'Agence FT'),
    D: await seedOrganisation(db, 4, 'departement', 'Département'),
  }
  const users: World['users'] = {}
  const spec: [string, Role, keyof typeof orgs][] = [
    ['refA1', 'referent', 'A'],
    ['refA2', 'referent', 'A'],
    ['mgrA', 'structure-manager', 'A'],
    ['refB', 'referent', 'B'],
    ['refFT', 'referent', 'FT'],
    ['admin', 'admin', 'D'],
    ['dpo', 'dpo', 'D'],
    ['stat', 'statistician', 'D'],
    ['instr', 'instructor', 'D'],
    ['inactive', 'referent', 'A'],
  ]
  for (const [name, role, org] of spec) users[name] = await seedUser(db, `${name.toLowerCase()}@test.example`, role, orgs[org].id)

  const persons: World['persons'] = {}
  for (let n = 1; n <= 10; n++) {
    persons[`p${n}`] = await seedPerson(db, keys, fileId, {
      n,
      etatDroit: n % 2 === 0 ? '2' : '3',
      soumisDroitsDevoirs: n !== 2,
      ft: n === 1 || n === 4 ? { etat: 'inscription', dateEtat: '2026-01-10' } : n === 2 ? { etat: 'cessation', dateEtat: '2026-02-01' } : undefined,
    })
  }
  const a = (p: string, org: keyof typeof orgs, user: string | null, startsOn: string, endsOn: string | null = null) =>
    seedAssignment(db, { personId: persons[p]!.personId, organisationId: orgs[org].id, referentUserId: user ? users[user]!.id : null, startsOn, endsOn })
  await a('p1', 'A', 'refA1', '2026-01-01')
  await a('p2', 'A', 'refA2', '2026-01-01')
  await a('p3', 'B', 'refB', '2026-01-01')
  // p4: followed by refA1 until 5 June (grace until 5 July), now by refB.
  await a('p4', 'A', 'refA1', '2025-09-01', '2026-06-05')
  await a('p4', 'B', 'refB', '2026-06-06')
  // p5: left refA1 on 1 May, past the grace period.
  await a('p5', 'A', 'refA1', '2025-09-01', '2026-05-01')
  await a('p6', 'A', 'refA1', '2026-01-01')
  await a('p7', 'A', null, '2026-03-01')
  await a('p8', 'A', 'refA1', '2026-07-01')
  await a('p10', 'FT', 'refFT', '2026-02-01')
  await db.query(`insert into limitations (person_id, since, reason) values ($1, $2, 'test')`, [persons.p6!.personId, new Date(now.getTime() - 86_400_000)])

  const tokens: World['tokens'] = {}
  const token = async (name: string, user: string, purpose: string, at = now, lifetime = '1y') =>
    (tokens[name] = (await seedToken(db, purposes, users[user]!.email, purpose, at, lifetime)).token)
  await token('refA1', 'refA1', 'test-accompagnement')
  await token('refA1-etat', 'refA1', 'test-etat-seul')
  await token('refA2', 'refA2', 'test-accompagnement')
  await token('mgrA', 'mgrA', 'test-accompagnement')
  await token('refB', 'refB', 'test-accompagnement')
  await token('refFT', 'refFT', 'test-nir')
  await token('admin', 'admin', 'test-administration')
  await token('dpo', 'dpo', 'test-controle')
  await token('stat', 'stat', 'test-statistiques')
  await token('instr', 'instr', 'test-instruction')
  await token('expired', 'refA1', 'test-accompagnement', new Date(now.getTime() - 100 * 86_400_000), '90d')
  const revoked = await seedToken(db, purposes, users.refA1!.email, 'test-accompagnement', now, '1y')
  await db.query('update api_tokens set revoked_at = $2 where id = $1', [revoked.id, new Date(now.getTime() - 1000)])
  tokens.revoked = revoked.token
  await token('inactive', 'inactive', 'test-accompagnement')
  await db.query('update users set active = false where id = $1', [users.inactive!.id])
  return { orgs, users, persons, tokens }
}

/**
 * The partner API over a test database: audit on, the world's clock, rate limits out of the way and no token cache
 * (every request sees the test's latest changes), unless `options` says otherwise.
 */
export function worldApp(
  db: Db,
  keys: Keys,
  purposes: ReadonlyMap<string, Purpose>,
  setup: { now?: () => Date; options?: Partial<ApiOptions>; log?: Logger; auditDb?: Db } = {},
): ApiApp {
  return createApp({
    db,
    keys,
    purposes,
    audit: new AuditWriter(setup.auditDb ?? db),
    now: setup.now ?? (() => WORLD_NOW),
    log: setup.log,
    options: { rateLimit: { perSecond: 10_000, burst: 10_000 }, authFailuresPerMinute: 100_000, tokenCacheMs: 0, ...setup.options },
  })
}

/**
 * The orientation tool assigns every applicant (DEM) in the database to one referent from `start` (DD/MM/YYYY), through
 * the orientations flow: the file is written in `dir` as `orientations-<fileDate>.csv` and ingested.
 */
export async function assignEveryApplicant(
  deps: IngestDeps,
  orientations: Flow,
  dir: string,
  to: { siret: string; email: string; start: string; fileDate: string },
): Promise<{ outcome: FileOutcome; applicants: number }> {
  const { rows } = await deps.db.query<{ numdemrsa: string }>(`select d.numdemrsa from dossiers d join dossier_members m on m.dossier_id = d.id where m.role = 'DEM' order by 1`)
  const csv = ['numdemrsa;rolepers;siret_structure;email_referent;date_debut;date_fin', ...rows.map((r) => `${r.numdemrsa};DEM;${to.siret};${to.email};${to.start};`)]
  const name = `orientations-${to.fileDate.replaceAll('-', '')}.csv`
  writeFileSync(path.join(dir, name), `${csv.join('\n')}\n`)
  const outcome = await ingestFile(deps, orientations, { path: path.join(dir, name), name, source: 'local', modifiedAt: new Date(`${to.fileDate}T04:00:00Z`) })
  return { outcome, applicants: rows.length }
}
