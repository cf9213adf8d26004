import type { Keys } from '../../crypto/keys.ts'
import type { Db } from '../../db/db.ts'
import type { JobCounts } from '../../jobs/run-job.ts'
import type { Logger } from '../../log/logger.ts'
import { deliverOrientations } from '../../outbox/deliver-orientations.ts'
import type { ScheduledJob } from '../../scheduler/start-scheduler.ts'
import { AccessTokenCache } from './access-token.ts'
import type { ClientDeps } from './api-client.ts'
import type { FranceTravailApiFlow } from './api-flow.ts'
import { lookUpPersons, type ApiJobDeps } from './look-up-persons.ts'
import { limiterFor } from './quota-limiter.ts'
import { readFranceTravailOrientations, sweepFranceTravailApiData } from './read-orientations.ts'

const tokenCaches = new Map<string, AccessTokenCache>()

/** The client of one API flow: the process's limiter and token cache for it, the secret read from the named variable. */
export function apiClientFor(flow: FranceTravailApiFlow, env: NodeJS.ProcessEnv): ClientDeps {
  const secret = env[flow.source.client_secret_env]
  if (!secret) throw new Error(`flow "${flow.id}": the variable ${flow.source.client_secret_env} (source.client_secret_env) is not set`)
  const cacheKey = `${flow.id}|${flow.source.token_url}|${flow.source.client_id}|${secret}`
  let tokens = tokenCaches.get(cacheKey)
  if (!tokens) {
    tokens = new AccessTokenCache(flow.source, secret)
    tokenCaches.set(cacheKey, tokens)
  }
  return { flowId: flow.id, source: flow.source, tokens, limiter: limiterFor(flow.id, flow.source.quota_per_second) }
}

/**
 * One run of an API flow, in order: look up the unlinked persons, read the linked persons' orientations, deliver
 * the outbox, apply retention to what the API brought. The job's advisory lock (runJob) makes it exclusive across
 * instances, so the flow's quota is never shared by two callers.
 */
export async function runFranceTravailApiFlow(
  deps: { db: Db; keys: Pick<Keys, 'nir' | 'index' | 'pseudonym'>; log: Logger; env: NodeJS.ProcessEnv; stored: ReadonlySet<string> },
  flow: FranceTravailApiFlow,
  signal?: AbortSignal,
): Promise<JobCounts> {
  const jobDeps: ApiJobDeps = { db: deps.db, keys: deps.keys, log: deps.log, flow, client: apiClientFor(flow, deps.env), purpose: flow.outbound.purpose }
  // This instance just took the job (its lock) over: another instance's last second may still count at France Travail.
  jobDeps.client.limiter.assumeFullWindow()
  const lookups = await lookUpPersons(jobDeps, signal)
  const reads = await readFranceTravailOrientations({ ...jobDeps, stored: deps.stored }, signal)
  const delivery = await deliverOrientations(jobDeps, signal)
  const swept = await sweepFranceTravailApiData(jobDeps)
  const counts: JobCounts = {
    lookupRun: lookups.runId,
    lookupsPlanned: lookups.planned,
    lookupsCalled: lookups.called,
    found: lookups.found,
    several: lookups.several,
    notRecognised: lookups.notRecognised,
    lookupsFailed: lookups.failed,
    interrupted: lookups.interrupted,
    orientationsRead: reads.read,
    orientationsNone: reads.none,
    orientationsRejected: reads.rejected,
    orientationReadsFailed: reads.failed,
    delivered: delivery.delivered,
    deliveryFailures: delivery.failed,
    deadLettered: delivery.deadLettered,
    withdrawn: delivery.withdrawn,
    swept: swept.orientations + swept.lookupRuns + swept.outbox + swept.rejections,
  }
  deps.log.info({ flowId: flow.id, ...counts }, 'france travail api run')
  return counts
}

/** The scheduled job of each API flow, `api:<flow id>` (shown in `passerelle runs` like the file pulls). */
export function franceTravailApiJobs(
  deps: { db: Db; keys: Pick<Keys, 'nir' | 'index' | 'pseudonym'>; log: Logger; stored: ReadonlySet<string> },
  apiFlows: ReadonlyMap<string, FranceTravailApiFlow>,
  env: NodeJS.ProcessEnv,
): ScheduledJob[] {
  return [...apiFlows.values()].map((flow) => ({
    name: `api:${flow.id}`,
    schedule: flow.schedule,
    run: (signal) => runFranceTravailApiFlow({ ...deps, env }, flow, signal),
  }))
}
