import { execFileSync } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { once } from 'node:events'
import path from 'node:path'
import { foyer } from '../src/fixtures/population.ts'
import type { CmsRecipient } from '../src/ingestion/decrypt/cms-decrypt.ts'
import { nirKey } from '../src/ingestion/validation/nir.ts'

/**
 * Bench files of issue 15: a fichier-PE-CG stock in the shape flows/france-travail-mensuel.yaml declares, and an
 * encrypted copy of a file (openssl cms -encrypt, DER, AES-256-CBC) with the département's key pair beside it.
 */
export async function writeFichierPeCg(file: string, dossiers: number): Promise<void> {
  const out = createWriteStream(file)
  const put = async (text: string) => {
    if (!out.write(Buffer.from(text, 'latin1'))) await once(out, 'drain')
  }
  await put(`<?xml version="1.0" encoding="ISO-8859-1"?>\n<fichier-PE-CG>\n<entete><fichier>PECG</fichier><periodicite>M</periodicite><departement>93</departement><date-reference>2026-11-01</date-reference><date-fabrication>2026-11-15</date-fabrication><version>001,0</version></entete>\n`)
  let chunk = ''
  for (let i = 0; i < dossiers; i++) {
    const p = foyer('bench-pecg', i % 20_000).personnes[0]!
    const nir13 = p.nir13 ?? '1800175123456'
    const day = String((i % 28) + 1).padStart(2, '0')
    chunk +=
      `<dossier>\n  <individu><nir>${nir13}${nirKey(nir13)}</nir><nom-naissance>${p.nomnai}</nom-naissance><prenom>${p.prenom}</prenom><date-naissance>${p.dtnai}</date-naissance><commune-residence>93066</commune-residence></individu>\n` +
      `  <allocataire><identifiant-caf>${String(1_000_000 + i).slice(-7)}</identifiant-caf><identifiant-pe>${String(1_000_000 + (i % 9_000_000)).padStart(7, '0')}A${String(i % 1000).padStart(3, '0')}</identifiant-pe></allocataire>\n` +
      `  <inscription><date-debut-ide>2025-0${(i % 9) + 1}-${day}</date-debut-ide><code-categorie>${(i % 5) + 1}</code-categorie><lib-situation>Demandeur d'emploi</lib-situation></inscription>\n` +
      `  <suivi><structure-principale-code>93012</structure-principale-code></suivi>\n` +
      `  <ppae><date-signature>2025-03-${day}</date-signature><date-dernier-ent>${i % 7 === 0 ? '2020' : `2026-10-${day}`}</date-dernier-ent></ppae>\n</dossier>\n`
    if (chunk.length > 1 << 16) {
      await put(chunk)
      chunk = ''
    }
  }
  await put(`${chunk}<fin><departement>93</departement><date-reference>2026-11-01</date-reference><nb-dossiers>${String(dossiers).padStart(7, '0')}</nb-dossiers></fin>\n</fichier-PE-CG>\n`)
  out.end()
  await once(out, 'finish')
}

/** The bench département's key pair (generated once in `dir`). */
export function benchRecipient(dir: string): CmsRecipient & { certificateFile: string } {
  const crt = path.join(dir, 'bench-dept.crt')
  const key = path.join(dir, 'bench-dept.key')
  if (!existsSync(crt) || !existsSync(key)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=bench-departement', '-days', '30'], { stdio: 'ignore' })
  }
  return { certificatePem: readFileSync(crt, 'utf8'), privateKeyPem: readFileSync(key, 'utf8'), certificateFile: crt }
}

/** `clear` encrypted for the bench département, as France Travail sends the SPIE extracts. */
export function encryptFor(clear: string, encrypted: string, certificateFile: string): void {
  if (existsSync(encrypted)) return
  execFileSync('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-outform', 'DER', '-in', clear, '-out', encrypted, certificateFile], { stdio: 'ignore' })
}
