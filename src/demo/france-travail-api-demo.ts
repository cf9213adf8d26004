import path from 'node:path'
import type { AppContext } from '../cli/context.ts'
import type { FranceTravailApiFlow } from '../exchange/france-travail-api/api-flow.ts'
import { runFranceTravailApiFlow } from '../exchange/france-travail-api/api-jobs.ts'
import { readCallIdentities } from '../exchange/france-travail-api/person-identity.ts'
import { runJob, type JobResult } from '../jobs/run-job.ts'
import { startFranceTravailSimulator, type FranceTravailSimulator, type SimulatedPerson } from '../simulators/france-travail/france-travail-simulator.ts'

/**
 * The demo's France Travail: the simulator on loopback, knowing the demo's synthetic population (most persons
 * found, every 11th unknown, every 13th matching several; a third with an orientation at France Travail). Then one
 * run of the API flow against it: lookups, orientation reads, and the orientations loaded in this cycle sent from
 * the outbox. Returns the run and a stop function.
 */
export async function runFranceTravailApiDemo(ctx: AppContext, apiFlows: ReadonlyMap<string, FranceTravailApiFlow>, stored: ReadonlySet<string>): Promise<{ result: JobResult | undefined; simulator: FranceTravailSimulator | undefined }> {
  const base = apiFlows.values().next().value as FranceTravailApiFlow | undefined
  if (!base) return { result: undefined, simulator: undefined }
  const { rows } = await ctx.db.query<{ id: number }>('select id from persons where nir_cipher is not null order by id')
  const identities = await readCallIdentities(ctx.db, ctx.keys.nir, rows.map((r) => Number(r.id)))
  const persons: SimulatedPerson[] = []
  for (const identity of identities.values()) {
    const n = identity.personId
    if (n % 11 === 0) continue
    persons.push({
      nir: identity.nir.slice(0, 13),
      dateNaissance: identity.birthDate,
      identifiant: `DEMO${String(n).padStart(7, '0')}`,
      several: n % 13 === 0,
      ...(n % 3 === 0 ? { orientation: { parcours: 'PSP', organisme: 'CD', statut: 'VALIDE', etat: 'ACTIF', origine: 'INSCRIPTION_AUTO_CAF', date_entree_parcours: '2026-01-10' } } : {}),
    })
  }
  const simulator = await startFranceTravailSimulator({ persons, quotaPerSecond: 100 })
  const flow: FranceTravailApiFlow = {
    ...base,
    source: { ...base.source, token_url: simulator.tokenUrl, base_url: simulator.url, client_id: simulator.clientId, quota_per_second: 100 },
  }
  const env = { ...process.env, [flow.source.client_secret_env]: simulator.clientSecret }
  ctx.log.info({ url: simulator.url, persons: persons.length, dir: path.basename(ctx.config.flowsDir) }, 'demo france travail simulator listening')
  const result = await runJob({ db: ctx.db, log: ctx.log }, `api:${flow.id}`, () => runFranceTravailApiFlow({ db: ctx.db, keys: ctx.keys, log: ctx.log, env, stored }, flow))
  return { result, simulator }
}
