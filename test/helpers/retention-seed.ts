import type { Keys } from '../../src/crypto/keys.ts'
import { nirIndex, personMatchKey } from '../../src/crypto/blind-index.ts'
import { encryptNir } from '../../src/crypto/nir-cipher.ts'
import type { Queryable } from '../../src/db/db.ts'

/**
 * Canonical rows for retention tests, written with plain SQL (the shape the loader gives them). Every value is
 * synthetic: names are `NOM<n>`, NIRs are generated 13-digit strings.
 */
let fileSeq = 0

export async function seedFile(db: Queryable, flowId: string, finishedAt: Date): Promise<number> {
  fileSeq += 1
  const { rows } = await db.query<{ id: number }>(
    `insert into files (flow_id, name, size, sha256, status, source, transmitted_at, started_at, finished_at)
     values ($1, $2, 1, $3, 'loaded', 'local', $4, $4, $4)
     returning id`,
    [flowId, `seed-${fileSeq}-${Math.random().toString(36).slice(2)}.xml`, fileSeq.toString(16).padStart(64, '0'), finishedAt],
  )
  return rows[0]!.id
}

export interface SeedPerson {
  nir13: string
  birthDate: string
  nom: string
  prenom: string
  role?: string
}

export interface SeededPerson {
  id: number
  publicId: string
  matchKey: string
  nirIndex: string
}

export interface SeedDossier {
  flowId?: string
  organisme?: string
  numdemrsa: string
  transmittedAt: Date
  createdAt?: Date
  etatDroit?: string
  dateCloture?: string | null
  dateRefus?: string | null
  transmissionState?: 'transmitted' | 'not_transmitted'
  notTransmittedSince?: string | null
  adresse?: string
  persons: SeedPerson[]
}

export async function seedDossier(db: Queryable, keys: Keys, d: SeedDossier): Promise<{ id: number; publicId: string; persons: SeededPerson[] }> {
  const flowId = d.flowId ?? 'caf-beneficiaires'
  const fileId = await seedFile(db, flowId, d.transmittedAt)
  const { rows } = await db.query<{ id: number; public_id: string }>(
    `insert into dossiers (flow_id, organisme, numdemrsa, matricule, etat_droit, date_cloture, date_refus, motif_suspension_versement,
                           adresse_nom_voie, transmission_state, not_transmitted_since, file_id, transmitted_at, created_at)
     values ($1, $2, $3, '1234567', $4, $5, $6, '44', $7, $8, $9, $10, $11, $12)
     returning id, public_id::text`,
    [
      flowId,
      d.organisme ?? 'CAF',
      d.numdemrsa,
      d.etatDroit ?? '2',
      d.dateCloture ?? null,
      d.dateRefus ?? null,
      d.adresse ?? 'RUE DES TESTS',
      d.transmissionState ?? 'transmitted',
      d.notTransmittedSince ?? null,
      fileId,
      d.transmittedAt,
      d.createdAt ?? d.transmittedAt,
    ],
  )
  const dossier = rows[0]!
  const persons: SeededPerson[] = []
  for (const p of d.persons) {
    const matchKey = personMatchKey(keys.index, p.nir13, p.birthDate)
    const index = nirIndex(keys.index, p.nir13)
    const person = await db.query<{ id: number; public_id: string }>(
      `insert into persons (match_key, nir_index, nir_cipher, nom, prenom, date_naissance, sexe, file_id, transmitted_at)
       values ($1, $2, $3, $4, $5, $6, '1', $7, $8)
       on conflict (match_key) do update set transmitted_at = excluded.transmitted_at, file_id = excluded.file_id
       returning id, public_id::text`,
      [matchKey, index, encryptNir(keys.nir, p.nir13 + '00'), p.nom, p.prenom, p.birthDate, fileId, d.transmittedAt],
    )
    const row = person.rows[0]!
    await db.query(
      `insert into dossier_members (dossier_id, person_id, role, responsable_dossier, soumis_droits_devoirs, ressources_mensuelles, file_id, transmitted_at)
       values ($1, $2, $3, true, true, 512.30, $4, $5)`,
      [dossier.id, row.id, p.role ?? 'DEM', fileId, d.transmittedAt],
    )
    persons.push({ id: row.id, publicId: row.public_id, matchKey, nirIndex: index })
  }
  await db.query(
    `insert into state_changes (dossier_id, field, old_value, new_value, effective_date, file_id, transmitted_at)
     values ($1, 'etat_droit', null, $2, $3, $4, $5)`,
    [dossier.id, d.etatDroit ?? '2', d.transmittedAt.toISOString().slice(0, 10), fileId, d.transmittedAt],
  )
  return { id: dossier.id, publicId: dossier.public_id, persons }
}

export interface SeedRegistration {
  personKey: string
  etat: 'inscription' | 'cessation' | 'radiation'
  dateEtat: string | null
  transmittedAt: Date
  createdAt?: Date
}

export async function seedRegistration(db: Queryable, r: SeedRegistration): Promise<number> {
  const fileId = await seedFile(db, 'france-travail', r.transmittedAt)
  const { rows } = await db.query<{ id: number }>(
    `insert into france_travail_registrations (person_key, identifiant_pe, etat, date_etat, code, adresse, file_id, transmitted_at, created_at)
     values ($1, 'FT0001', $2, $3, '1', '1 RUE FRANCE TRAVAIL', $4, $5, $6)
     returning id`,
    [r.personKey, r.etat, r.dateEtat, fileId, r.transmittedAt, r.createdAt ?? r.transmittedAt],
  )
  await db.query(
    `insert into state_changes (person_key, field, old_value, new_value, effective_date, file_id, transmitted_at)
     values ($1, 'france_travail.etat', null, $2, $3, $4, $5)`,
    [r.personKey, r.etat, r.dateEtat, fileId, r.transmittedAt],
  )
  return rows[0]!.id
}

/** Re-transmission of a registration: the loader's merge sets a new file and transmission time. */
export async function retransmitRegistration(db: Queryable, personKey: string, transmittedAt: Date): Promise<void> {
  const fileId = await seedFile(db, 'france-travail', transmittedAt)
  await db.query('update france_travail_registrations set file_id = $2, transmitted_at = $3, updated_at = $3 where person_key = $1', [personKey, fileId, transmittedAt])
}

/** Empties every table retention touches, between tests sharing one database. */
export async function resetRetentionTables(db: Queryable): Promise<void> {
  await db.exec(`
    truncate archive.state_changes, archive.dossier_members, archive.persons, archive.dossiers, archive.france_travail_registrations;
    truncate legal_holds, audit_events, audit_texts, audit_truncations, retention_receipts restart identity;
    truncate state_changes, dossier_members, france_travail_registrations, flow_progress, rejections, dossiers, persons, files restart identity cascade;
  `)
}

/** Paris noon of a civil day: the same day whatever the season. */
export const day = (d: string): Date => new Date(`${d}T12:00:00+02:00`)
