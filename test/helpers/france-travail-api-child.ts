/**
 * A connector process for the kill tests: one lookup run, or one outbox delivery, against the simulator named by
 * the environment, on the PostgreSQL database DATABASE_URL. The test kills it with SIGKILL mid-batch.
 */
import { useAuditKeys } from '../../src/audit/audit-keys.ts'
import { testKeys } from '../../src/crypto/keys.ts'
import { openPostgres } from '../../src/db/postgres.ts'
import { AccessTokenCache } from '../../src/exchange/france-travail-api/access-token.ts'
import { FranceTravailApiFlowSchema } from '../../src/exchange/france-travail-api/api-flow.ts'
import { lookUpPersons } from '../../src/exchange/france-travail-api/look-up-persons.ts'
import { QuotaLimiter } from '../../src/exchange/france-travail-api/quota-limiter.ts'
import { createLogger } from '../../src/log/logger.ts'
import { deliverOrientations } from '../../src/outbox/deliver-orientations.ts'

const keys = testKeys()
useAuditKeys(keys.audit)
const env = process.env
const flow = {
  id: 'france-travail-api',
  ...FranceTravailApiFlowSchema.parse({
    title: 'kill test',
    producer: 'France Travail',
    source: { type: 'francetravail-api', token_url: env.SIM_TOKEN_URL, client_id: env.SIM_CLIENT_ID, client_secret_env: 'FT_API_CLIENT_SECRET', scopes: ['s'], base_url: env.SIM_URL, quota_per_second: Number(env.SIM_QUOTA), concurrency: 4, batch_size: 10, timeout_ms: 2000 },
    schedule: '0 5 * * *',
    retention: 'france-travail-api',
    outbound: { purpose: 'instruction', fields: ['parcours', 'origine', 'organisme'], parcours_by_organisation_type: { 'france-travail': 'PED', ccas: 'PSP' } },
  }),
}
const db = await openPostgres(env.DATABASE_URL!, { max: 3 })
const client = { flowId: flow.id, source: flow.source, tokens: new AccessTokenCache(flow.source, env.FT_API_CLIENT_SECRET!), limiter: new QuotaLimiter(flow.source.quota_per_second) }
const deps = { db, keys, log: createLogger({ level: 'warn' }), flow, client, purpose: 'instruction' }
const counts = env.CHILD_MODE === 'deliver' ? await deliverOrientations(deps) : await lookUpPersons(deps)
process.stdout.write(`${JSON.stringify(counts)}\n`)
await db.close()
