import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { instructionFileName, writeInstructionFile } from '../fixtures/cnaf/write-instruction-file.ts'
import { cnafFileName, writeCnafFile } from '../fixtures/cnaf/write-cnaf-file.ts'
import { writeFichierPeCg } from '../fixtures/france-travail/write-fichier-pe-cg.ts'
import { writeFranceTravailFile } from '../fixtures/france-travail/write-france-travail-file.ts'
import { writeSpieActions, writeSpiePrincipal } from '../fixtures/france-travail/write-spie.ts'
import { foyer } from '../fixtures/population.ts'
import { smimeKeyPair, writeEncrypted, type SmimeKeyPair } from '../fixtures/smime.ts'
import type { EmbeddedSftpServer } from '../sftp/embedded-server.ts'

/**
 * SYNTHETIC demo data: generated files for every shipped flow, dropped on the embedded SFTP server as the
 * producers would drop them. Nobody in them exists: names, NIRs and addresses come from the seeded generator.
 */
export const DEMO_SEED = 'passerelle-demo'
export const DEMO_FOYERS = { caf: 400, msa: 80 }

export interface DemoStructure {
  siret: string
  name: string
  type: 'departement' | 'france-travail' | 'ccas' | 'statistique'
}

/** Demo organisations (synthetic SIRETs with a valid Luhn key). */
export const DEMO_STRUCTURES = {
  departement: { siret: '22930008201453', name: 'Département (démo)', type: 'departement' },
  franceTravail: { siret: '13000548100010', name: 'Agence France Travail (démo)', type: 'france-travail' },
  ccas: { siret: '26930001500014', name: 'CCAS de la ville (démo)', type: 'ccas' },
  observatoire: { siret: '00000000000000', name: "Observatoire départemental de l'insertion (démo)", type: 'statistique' },
} satisfies Record<string, DemoStructure>

export const DEMO_REFERENTS = {
  ccas: 'referente.ccas@demo.passerelle.invalid',
  franceTravail: 'referent.ft@demo.passerelle.invalid',
}

/**
 * Synthetic homonyms for the matching queue: the new foyer (a daily CAF file brings it) whose applicant has the
 * birth name, first name and birth date of the applicant of an existing foyer (another NIR). SPIE files carry no
 * NIR, so a SPIE line with that identity designates two persons: it waits for an operator (`passerelle matching list`).
 */
export const DEMO_HOMONYMS: Readonly<Record<number, number>> = homonymsOf(DEMO_FOYERS.caf + 2, 3)

function homonymsOf(firstNew: number, count: number): Record<number, number> {
  const pairs: Record<number, number> = {}
  // Applicants registered at France Travail (a SPIE extract lists them), from the start of the population.
  for (let i = 0, n = 0; n < count && i < DEMO_FOYERS.caf; i++) {
    const dem = foyer(DEMO_SEED, i).personnes.find((p) => p.role === 'DEM')
    if (dem?.franceTravail !== undefined) pairs[firstNew + n++] = i
  }
  return pairs
}

/**
 * The département's S/MIME key pair of the demo (France Travail encrypts the SPIE extracts for it): made at the
 * first start in the demo's data folder with the openssl binary, never committed; undefined without openssl (the
 * SPIE demo files are then not written).
 */
export function demoSmimeKeys(demoDir: string): SmimeKeyPair | undefined {
  try {
    return smimeKeyPair(path.join(demoDir, 'smime-keys'), 'departement-demo')
  } catch {
    return undefined
  }
}

/** Writes the demo files once (a marker remembers it), with modification times in the past so they are taken at once. */
export async function seedDemoFiles(root: string, today: Date, smime?: SmimeKeyPair): Promise<{ written: string[] }> {
  const marker = path.join(root, '.seeded')
  if (existsSync(marker)) return { written: [] }
  const day = (offset: number) => new Date(today.getTime() + offset * 86_400_000).toISOString().slice(0, 10)
  const written: string[] = []
  const at = (file: string, hoursAgo: number) => {
    const t = new Date(today.getTime() - hoursAgo * 3_600_000)
    utimesSync(file, t, t)
    written.push(path.relative(root, file))
  }
  const dir = (sub: string) => {
    const d = path.join(root, 'depot', sub)
    mkdirSync(d, { recursive: true })
    return d
  }

  const caf = dir('caf')
  const stockDate = day(-2)
  const stock = path.join(caf, cnafFileName({ flow: 'caf', typeflux: 'M', dtcreaflux: stockDate }))
  await writeCnafFile(stock, { flow: 'caf', seed: DEMO_SEED, typeflux: 'M', foyers: DEMO_FOYERS.caf, dtcreaflux: stockDate })
  at(stock, 48)
  const dailyDate = day(-1)
  const daily = path.join(caf, cnafFileName({ flow: 'caf', typeflux: 'I', dtcreaflux: dailyDate }))
  const homonymFoyers = Object.keys(DEMO_HOMONYMS).map(Number)
  await writeCnafFile(daily, { flow: 'caf', seed: DEMO_SEED, typeflux: 'I', indices: [3, 7, 11, 19, DEMO_FOYERS.caf + 1, ...homonymFoyers], dtcreaflux: dailyDate, homonyms: DEMO_HOMONYMS })
  at(daily, 24)

  const msa = dir('msa')
  const msaStock = path.join(msa, cnafFileName({ flow: 'msa', typeflux: 'M', dtcreaflux: stockDate }))
  await writeCnafFile(msaStock, { flow: 'msa', seed: DEMO_SEED, typeflux: 'M', foyers: DEMO_FOYERS.msa, dtcreaflux: stockDate })
  at(msaStock, 47)

  // The RSA applications of the first CAF foyers (flows/caf-instruction.yaml), sent before the stock: phones and
  // e-mails, some without consent, which the demo referents see only where the foyer agreed.
  const instruction = dir('caf-instruction')
  const instructionFile = path.join(instruction, instructionFileName({ flow: 'caf', dtcreaflux: day(-3) }))
  await writeInstructionFile(instructionFile, { flow: 'caf', seed: DEMO_SEED, indices: Array.from({ length: 120 }, (_, i) => i), dtcreaflux: day(-3) })
  at(instructionFile, 72)

  const ft = dir('france-travail')
  const ftStock = await writeFranceTravailFile({ kind: 'stock', seed: DEMO_SEED, foyers: DEMO_FOYERS.caf, date: day(-3) }, ft)
  at(ftStock.path!, 30)
  const ftCessations = await writeFranceTravailFile({ kind: 'cessations', seed: DEMO_SEED, foyers: { from: 0, count: 40 }, date: day(-1) }, ft)
  at(ftCessations.path!, 20)

  // France Travail's monthly fichier-PE-CG stock of the same registered adults (flows/france-travail-mensuel.yaml).
  const ftMensuel = dir('france-travail-mensuel')
  const pecgDate = day(-2)
  const pecg = path.join(ftMensuel, `PECG_${pecgDate.slice(0, 4)}${pecgDate.slice(5, 7)}_DPT${DEMO_DEPARTEMENT}.xml`)
  await writeFichierPeCg(pecg, { seed: DEMO_SEED, foyers: DEMO_FOYERS.caf, date: pecgDate, departement: DEMO_DEPARTEMENT })
  at(pecg, 28)

  // France Travail's SPIE extracts (principal and actions) of the same registered adults, without NIR, encrypted
  // for the département (S/MIME); the homonyms' lines go to the matching queue.
  if (smime) {
    const spie = dir('france-travail-spie')
    const spieDate = day(-1)
    const options = { seed: DEMO_SEED, foyers: DEMO_FOYERS.caf, date: spieDate, extra: homonymFoyers, homonyms: DEMO_HOMONYMS }
    const stamp = spieDate.replace(/-/g, '')
    const principal = path.join(spie, `extract_spie_${stamp}_principal.csv.p7m`)
    await writeEncrypted(principal, smime.certificateFile, (clear) => writeSpiePrincipal(clear, options))
    at(principal, 12)
    const actions = path.join(spie, `extract_spie_${stamp}_actions.csv.p7m`)
    await writeEncrypted(actions, smime.certificateFile, (clear) => writeSpieActions(clear, options))
    at(actions, 12)
  }

  // The département's orientation tool: the applicants (DEM) of the first foyers followed by the CCAS and by France Travail.
  const orientations = dir('orientations')
  const lines = ['numdemrsa;rolepers;organisme;siret_structure;email_referent;date_debut']
  const start = day(-60).split('-').reverse().join('/')
  for (let i = 0; i < 120; i++) {
    const f = foyer(DEMO_SEED, i)
    const [siret, email] = i % 2 === 0 ? [DEMO_STRUCTURES.ccas.siret, DEMO_REFERENTS.ccas] : [DEMO_STRUCTURES.franceTravail.siret, DEMO_REFERENTS.franceTravail]
    lines.push(`${f.numdemrsa};DEM;CAF;${siret};${email};${start}`)
  }
  const orientationsFile = path.join(orientations, `orientations_${day(-1).replace(/-/g, '')}.csv`)
  writeFileSync(orientationsFile, lines.join('\n') + '\n')
  at(orientationsFile, 10)

  writeFileSync(marker, `synthetic demo data generated ${today.toISOString()} (seed ${DEMO_SEED})\n`)
  return { written }
}

/** The département of the demo's population and files (PASSERELLE_DEPARTEMENT of the demo). */
export const DEMO_DEPARTEMENT = '93'

/** Environment variables pointing every shipped flow at the embedded server (and the SPIE flows at the demo key pair). */
export function demoFlowEnv(server: EmbeddedSftpServer, smime?: SmimeKeyPair): Record<string, string> {
  const env: Record<string, string> = {}
  if (smime) {
    env.FT_SMIME_CERTIFICATE = smime.certificateFile
    env.FT_SMIME_PRIVATE_KEY = smime.privateKeyFile
  }
  for (const prefix of ['CAF', 'MSA', 'FT', 'ORIENTATIONS']) {
    env[`${prefix}_SFTP_HOST`] = server.host
    env[`${prefix}_SFTP_PORT`] = String(server.port)
    env[`${prefix}_SFTP_USER`] = server.user
    env[`${prefix}_SFTP_PRIVATE_KEY`] = server.privateKey
    env[`${prefix}_SFTP_HOST_KEY`] = server.hostKeyFingerprint
  }
  // The demo's fichier-PE-CG stock is written for the synthetic population's département.
  env.PASSERELLE_DEPARTEMENT = DEMO_DEPARTEMENT
  return env
}
