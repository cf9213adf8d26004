import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { instructionFileName, writeInstructionFile } from '../fixtures/cnaf/write-instruction-file.ts'
import { cnafFileName, writeCnafFile } from '../fixtures/cnaf/write-cnaf-file.ts'
import { writeFichierPeCg } from '../fixtures/france-travail/write-fichier-pe-cg.ts'
import { writeFranceTravailFile } from '../fixtures/france-travail/write-france-travail-file.ts'
import { foyer } from '../fixtures/population.ts'
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

/** Writes the demo files once (a marker remembers it), with modification times in the past so they are taken at once. */
export async function seedDemoFiles(root: string, today: Date): Promise<{ written: string[] }> {
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
  await writeCnafFile(daily, { flow: 'caf', seed: DEMO_SEED, typeflux: 'I', indices: [3, 7, 11, 19, DEMO_FOYERS.caf + 1], dtcreaflux: dailyDate })
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
  const pecg = path.join(ftMensuel, `PECG_${pecgDate.slice(0, 4)}${pecgDate.slice(5, 7)}_DPT93.xml`)
  await writeFichierPeCg(pecg, { seed: DEMO_SEED, foyers: DEMO_FOYERS.caf, date: pecgDate })
  at(pecg, 28)

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

/** Environment variables pointing every shipped flow at the embedded server. */
export function demoFlowEnv(server: EmbeddedSftpServer): Record<string, string> {
  const env: Record<string, string> = {}
  for (const prefix of ['CAF', 'MSA', 'FT', 'ORIENTATIONS']) {
    env[`${prefix}_SFTP_HOST`] = server.host
    env[`${prefix}_SFTP_PORT`] = String(server.port)
    env[`${prefix}_SFTP_USER`] = server.user
    env[`${prefix}_SFTP_PRIVATE_KEY`] = server.privateKey
    env[`${prefix}_SFTP_HOST_KEY`] = server.hostKeyFingerprint
  }
  return env
}
