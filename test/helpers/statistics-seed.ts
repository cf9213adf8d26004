import { testKeys } from '../../src/crypto/keys.ts'
import { encryptNir } from '../../src/crypto/nir-cipher.ts'
import { nirIndex, personMatchKey } from '../../src/crypto/blind-index.ts'
import type { Queryable } from '../../src/db/db.ts'
import { FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES } from '../../src/fixtures/french-names.ts'
import { communesOf, STREET_NAMES, STREET_TYPES } from '../../src/fixtures/places.ts'

/**
 * Canonical rows for statistics tests, written straight into dossiers, persons, dossier_members and
 * france_travail_registrations (COPY), with full identities — names, NIRs, birth dates, street addresses — so that
 * a test can look for every one of them in what an extract lets out. Deterministic for a seed.
 */
export interface SeededPerson {
  id: number
  matchKey: string
  nir13: string
  nom: string
  nomNaissance: string
  prenom: string
  dateNaissance: string
  role: 'DEM' | 'CJT' | 'ENF'
  adresse: { numeroVoie: string; typeVoie: string; nomVoie: string; codePostal: string; codeInsee: string; commune: string }
}

export interface Seeded {
  persons: SeededPerson[]
  dossiers: number
}

function random(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    // xorshift32
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 2 ** 32
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/**
 * Seeds `foyers` RSA dossiers of one département (singles and couples, with children), adults aged 18 to 70.
 * Ids start after `offset` so a test can seed twice.
 */
export async function seedStatisticsPopulation(
  db: Queryable,
  options: { foyers: number; seed: number; departement?: string; offset?: number; transmittedAt?: string },
): Promise<Seeded> {
  const r = random(options.seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!
  const keys = testKeys()
  const departement = options.departement ?? '93'
  const communes = communesOf(departement)
  const offset = options.offset ?? 0
  const at = options.transmittedAt ?? '2026-04-30T22:00:00Z'
  const { rows } = await db.query<{ id: number }>(
    `insert into files (flow_id, name, size, sha256, status, source, started_at)
     values ('caf-beneficiaires', $1, 0, $2, 'loaded', 'local', now())
     returning id`,
    [`seed-${options.seed}-${offset}`, String(options.seed).padStart(64, '0')],
  )
  const fileId = rows[0]!.id
  const dossiers: unknown[][] = []
  const persons: unknown[][] = []
  const members: unknown[][] = []
  const registrations: unknown[][] = []
  const seeded: SeededPerson[] = []
  let personId = offset
  for (let f = 1; f <= options.foyers; f++) {
    const dossierId = offset + f
    const couple = r() < 0.35
    const children = r() < 0.5 ? 0 : 1 + Math.floor(r() * r() * 4)
    const commune = pick(communes)
    const adresse = {
      numeroVoie: String(1 + Math.floor(r() * 180)),
      typeVoie: pick(STREET_TYPES),
      nomVoie: pick(STREET_NAMES),
      codePostal: commune.postalCode,
      codeInsee: commune.insee,
      commune: commune.normalised,
    }
    const sitfam = couple ? pick(['MAR', 'PAC', 'VIM']) : pick(['CEL', 'CEL', 'DIV', 'SEF', 'VEU', 'ISO'])
    const etat = pick(['2', '2', '2', '2', '3', '4', '5', '6'])
    const demandYear = 2009 + Math.floor(r() * 17)
    const surname = pick(SURNAMES)
    dossiers.push([
      dossierId, 'caf-beneficiaires', 'CAF', `${pad(dossierId, 11)}`, `${pad(1000000 + dossierId, 7)}00000000`, '931',
      `${demandYear}-${pad(1 + Math.floor(r() * 12), 2)}-${pad(1 + Math.floor(r() * 28), 2)}`, etat, sitfam,
      (couple ? 2 : 1) + children, children, r() < 0.7,
      adresse.numeroVoie, adresse.typeVoie, adresse.nomVoie, adresse.codePostal, adresse.codeInsee, adresse.commune, 'FRA',
      fileId, at,
    ])
    const adults: ('DEM' | 'CJT')[] = couple ? ['DEM', 'CJT'] : ['DEM']
    const people: ('DEM' | 'CJT' | 'ENF')[] = [...adults, ...Array<'ENF'>(children).fill('ENF')]
    for (const role of people) {
      personId++
      const woman = role === 'CJT' ? r() < 0.8 : r() < 0.55
      const year = role === 'ENF' ? 2008 + Math.floor(r() * 17) : 1956 + Math.floor(r() * 52)
      const month = 1 + Math.floor(r() * 12)
      const day = 1 + Math.floor(r() * 28)
      const dateNaissance = `${year}-${pad(month, 2)}-${pad(day, 2)}`
      const nir13 = `${woman ? 2 : 1}${pad(year % 100, 2)}${pad(month, 2)}${departement.padEnd(2, '0').slice(0, 2)}${commune.insee.slice(2)}${pad(1 + Math.floor(r() * 998), 3)}`
      const matchKey = personMatchKey(keys.index, nir13, dateNaissance)
      const prenom = pick(woman ? FEMALE_FIRST_NAMES : MALE_FIRST_NAMES)
      const nomNaissance = role === 'CJT' && woman ? pick(SURNAMES) : surname
      persons.push([
        personId, matchKey, nirIndex(keys.index, nir13), encryptNir(keys.nir, nir13), woman ? 'MME' : 'MR', surname, nomNaissance, prenom,
        dateNaissance, woman ? '2' : '1', commune.normalised, fileId, at,
      ])
      members.push([dossierId, personId, role, role === 'DEM', role === 'ENF', role !== 'ENF' && r() < 0.8, fileId, at])
      if (role !== 'ENF' && r() < 0.45) {
        registrations.push([
          matchKey, `${pad(Math.floor(r() * 1e7), 7)}X${pad(Math.floor(r() * 1000), 3)}`, pick(['inscription', 'inscription', 'cessation', 'radiation']),
          `2025-${pad(1 + Math.floor(r() * 12), 2)}-01`, pick(['1', '2', '3']), commune.insee, commune.normalised,
          `${adresse.numeroVoie} ${adresse.typeVoie} ${adresse.nomVoie}`, '93001', fileId, at,
        ])
      }
      seeded.push({ id: personId, matchKey, nir13, nom: surname, nomNaissance, prenom, dateNaissance, role, adresse })
    }
  }
  await db.copyRows(
    'dossiers',
    ['id', 'flow_id', 'organisme', 'numdemrsa', 'matricule', 'numorg', 'date_demande', 'etat_droit', 'situation_familiale', 'nombre_personnes',
      'nombre_enfants', 'foyer_soumis_droits_devoirs', 'adresse_numero_voie', 'adresse_type_voie', 'adresse_nom_voie', 'adresse_code_postal',
      'adresse_code_insee', 'adresse_commune', 'adresse_pays', 'file_id', 'transmitted_at'],
    dossiers,
  )
  await db.copyRows(
    'persons',
    ['id', 'match_key', 'nir_index', 'nir_cipher', 'qualite', 'nom', 'nom_naissance', 'prenom', 'date_naissance', 'sexe', 'commune_naissance', 'file_id', 'transmitted_at'],
    persons,
  )
  await db.copyRows(
    'dossier_members',
    ['dossier_id', 'person_id', 'role', 'responsable_dossier', 'a_charge', 'soumis_droits_devoirs', 'file_id', 'transmitted_at'],
    members,
  )
  await db.copyRows(
    'france_travail_registrations',
    ['person_key', 'identifiant_pe', 'etat', 'date_etat', 'code', 'code_insee', 'localite', 'adresse', 'ale', 'file_id', 'transmitted_at'],
    registrations,
  )
  await db.query(`select setval('dossiers_id_seq', (select max(id) from dossiers))`)
  await db.query(`select setval('persons_id_seq', (select max(id) from persons))`)
  return { persons: seeded, dossiers: options.foyers }
}

/**
 * Every direct identifier of the seeded persons, as stored and in the usual other spellings: `words` (names,
 * streets: few distinct values, looked for verbatim) and `numbers` (NIRs, birth dates, internal keys: one per
 * person, also caught by their shape).
 */
export function directIdentifiers(seeded: Seeded): { words: string[]; numbers: string[] } {
  const words = new Set<string>()
  const numbers = new Set<string>()
  for (const p of seeded.persons) {
    words.add(p.nom)
    words.add(p.nomNaissance)
    words.add(p.prenom)
    words.add(`${p.adresse.numeroVoie} ${p.adresse.typeVoie} ${p.adresse.nomVoie}`)
    words.add(p.adresse.nomVoie)
    numbers.add(p.nir13)
    numbers.add(p.matchKey)
    numbers.add(p.dateNaissance)
    numbers.add(p.dateNaissance.split('-').reverse().join('/'))
  }
  return { words: [...words], numbers: [...numbers] }
}

/** What a NIR, a full date or an internal key looks like: none of them may appear in an extract's data file. */
export const IDENTIFIER_SHAPES = /\d{13}|\d{4}-\d{2}-\d{2}|\d{2}\/\d{2}\/\d{4}|[A-Za-z0-9_-]{40,}/
