/**
 * Realistic files for the generic formats in the parse benchmark, and the flow declarations that read them: a
 * SPIE-like France Travail extract (csv-records: `;`, UTF-8, literal NULL, datetimes `2020-02-13 00:00:00.0`,
 * booleans O/OUI/N) and a fichier-PE-CG-like monthly XML (xml-records: ISO-8859-1, entete, dossier*, fin with
 * nb-dossiers). Synthetic people (src/fixtures/population.ts), deterministic.
 */
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { foyer } from '../src/fixtures/population.ts'
import { nirKey } from '../src/ingestion/validation/nir.ts'

export const SPIE_LIKE_CSV = `
type: csv-records
encoding: utf-8
delimiter: ';'
header: true
null_literal: 'NULL'
datetime_format: ['YYYY-MM-DD HH:mm:ss.S']
values: { franceTravail.etat: inscription }
fields:
  - { name: identifiant_ft, field: franceTravail.identifiant, required: true, normalise: [remove_spaces, uppercase], pattern: '^[0-9]{7}[A-Z0-9][0-9]{3}$' }
  - { name: nir, field: personne.nir, type: nir, required: true }
  - { name: nom, required: true, max_length: 100 }
  - { name: prenom, required: true, max_length: 100 }
  - { name: date_naissance, field: personne.dateNaissance, type: datetime, required: true }
  - { name: code_postal, pattern: '^[0-9]{5}$' }
  - { name: commune, field: franceTravail.localite, max_length: 250 }
  - { name: code_insee, field: franceTravail.codeInsee, pattern: '^(\\d{5}|2[AB]\\d{3})$' }
  - { name: date_inscription, field: franceTravail.dateEtat, type: datetime, required: true }
  - { name: categorie, field: franceTravail.code, required: true, max_length: 2 }
  - { name: mode_accompagnement, codes: [GUIDE, RENFORCE, SUIVI, GLOBAL] }
  - { name: referent, max_length: 100 }
  - { name: agence, field: franceTravail.agence, max_length: 5 }
  - { name: date_dernier_entretien, type: datetime }
  - { name: rome, pattern: '^[A-N][0-9]{4}$' }
  - { name: brsa, type: boolean, required: true }
  - { name: dif_sante, type: boolean }
  - { name: date_maj, type: datetime, required: true }
target: registrations
`

export const PECG_LIKE_XML = `
type: xml-records
encoding: iso-8859-1
date_format: ['YYYY-MM-DD', 'DD/MM/YYYY']
root: fichier-PE-CG
record: dossier
header: { element: entete, equals: { fichier: PECG, periodicite: M } }
trailer: { element: fin, count: nb-dossiers }
values: { franceTravail.etat: inscription }
fields:
  - { name: nir, path: individu/nir, field: personne.nir, type: nir, required: true }
  - { name: nom, path: individu/nom, required: true, max_length: 100 }
  - { name: prenom, path: individu/prenom, required: true, max_length: 100 }
  - { name: date_naissance, path: individu/date-naissance, field: personne.dateNaissance, type: date, required: true }
  - { name: commune_naissance, path: individu/commune-naissance, max_length: 100 }
  - { name: numero_caf, path: allocataire/numero-caf, pattern: '^[0-9]{7}$' }
  - { name: identifiant_pe, path: allocataire/identifiant-pe, field: franceTravail.identifiant, normalise: [remove_spaces, uppercase], pattern: '^[0-9]{7}[A-Z0-9][0-9]{3}$' }
  - { name: date_inscription, path: inscription/date-inscription, field: franceTravail.dateEtat, type: date, required: true }
  - { name: categorie, path: inscription/categorie, field: franceTravail.code, required: true, max_length: 2 }
  - { name: situation, path: inscription/situation, max_length: 50 }
  - { name: date_cessation, path: inscription/date-cessation, type: date }
  - { name: motif_cessation, path: inscription/motif-cessation, field: franceTravail.motif, max_length: 250 }
  - { name: structure, path: suivi/structure, field: franceTravail.agence, max_length: 5 }
  - { name: conseiller, path: ppae/conseiller, max_length: 100 }
  - { name: date_signature, path: ppae/date-signature, type: date }
  - { name: dernier_entretien, path: ppae/dernier-entretien, type: date }
  - { name: rome, path: rome, pattern: '^[A-N][0-9]{4}$' }
target: registrations
`

const MODES = ['GUIDE', 'RENFORCE', 'SUIVI', 'GLOBAL']

function person(i: number) {
  const f = foyer('bench-generic', i % 20_000)
  const p = f.personnes[0]!
  const nir13 = p.nir13 ?? '1800175123456'
  return { f, p, nir13, nir: nir13 + nirKey(nir13), idPe: `${String(1_000_000 + (i % 9_000_000)).padStart(7, '0')}A${String(i % 1000).padStart(3, '0')}` }
}

async function writeLines(file: string, count: number, encoding: BufferEncoding, head: string, line: (i: number) => string, foot = ''): Promise<void> {
  const out = createWriteStream(file)
  out.write(Buffer.from(head, encoding))
  let chunk = ''
  for (let i = 0; i < count; i++) {
    chunk += line(i)
    if (chunk.length > 1 << 16) {
      if (!out.write(Buffer.from(chunk, encoding))) await once(out, 'drain')
      chunk = ''
    }
  }
  out.write(Buffer.from(chunk + foot, encoding))
  out.end()
  await once(out, 'finish')
}

export function writeSpieLikeCsv(file: string, rows: number): Promise<void> {
  const header = 'identifiant_ft;nir;nom;prenom;date_naissance;code_postal;commune;code_insee;date_inscription;categorie;mode_accompagnement;referent;agence;date_dernier_entretien;rome;brsa;dif_sante;date_maj\n'
  return writeLines(file, rows, 'utf8', header, (i) => {
    const { p, nir, idPe } = person(i)
    const day = String((i % 28) + 1).padStart(2, '0')
    return [
      idPe,
      nir,
      p.nomnai,
      p.prenom,
      `${p.dtnai} 00:00:00.0`,
      '93200',
      i % 7 === 0 ? 'NULL' : 'Saint-Denis',
      '93066',
      `2025-0${(i % 9) + 1}-${day} 00:00:00.0`,
      String((i % 5) + 1),
      MODES[i % 4],
      i % 3 === 0 ? 'NULL' : `Conseiller ${i % 211}`,
      '93012',
      i % 4 === 0 ? 'NULL' : `2026-10-${day} 14:30:00.0`,
      i % 5 === 0 ? 'NULL' : `K${2100 + (i % 90)}`,
      i % 2 === 0 ? 'O' : 'N',
      i % 11 === 0 ? 'OUI' : 'N',
      `2026-11-30 02:00:00.0`,
    ].join(';') + '\n'
  })
}

export function writePecgLikeXml(file: string, dossiers: number): Promise<void> {
  const head = `<?xml version="1.0" encoding="ISO-8859-1"?>\n<fichier-PE-CG>\n  <entete>\n    <fichier>PECG</fichier>\n    <periodicite>M</periodicite>\n    <departement>093</departement>\n    <date-creation>2026-11-30</date-creation>\n  </entete>\n`
  const foot = `  <fin>\n    <nb-dossiers>${dossiers}</nb-dossiers>\n  </fin>\n</fichier-PE-CG>\n`
  return writeLines(
    file,
    dossiers,
    'latin1',
    head,
    (i) => {
      const { p, nir, idPe } = person(i)
      const day = String((i % 28) + 1).padStart(2, '0')
      const ceased = i % 6 === 0
      return `  <dossier>
    <individu>
      <nir>${nir}</nir>
      <nom>${p.nomnai}</nom>
      <prenom>${p.prenom}</prenom>
      <date-naissance>${p.dtnai}</date-naissance>
      <commune-naissance>Orléans</commune-naissance>
    </individu>
    <allocataire>
      <numero-caf>${String(1_000_000 + i).slice(-7)}</numero-caf>
      <identifiant-pe>${idPe}</identifiant-pe>
    </allocataire>
    <inscription>
      <date-inscription>2025-0${(i % 9) + 1}-${day}</date-inscription>
      <categorie>${(i % 5) + 1}</categorie>
      <situation>Demandeur d'emploi</situation>
      ${ceased ? `<date-cessation>2026-11-${day}</date-cessation>\n      <motif-cessation>Reprise d'activité</motif-cessation>` : '<date-cessation/>'}
    </inscription>
    <suivi><structure>93012</structure></suivi>
    <ppae>
      <conseiller>Conseillère ${i % 211}</conseiller>
      <date-signature>${day}/03/2025</date-signature>
      <dernier-entretien>2026-10-${day}</dernier-entretien>
    </ppae>
    <rome>K${2100 + (i % 90)}</rome>
  </dossier>
`
    },
    foot,
  )
}
