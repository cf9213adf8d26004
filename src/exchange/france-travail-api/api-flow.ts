import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import cron from 'node-cron'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { DeclarationError } from '../../declarations/declaration-error.ts'
import { isApiFlowDocument } from './is-api-flow.ts'

/**
 * A France Travail partner-API flow, `flows/<id>.yaml` with `source.type: francetravail-api` (issue 16). Beside the
 * SFTP flows: no file, no format; an OAuth2 client-credentials source, a quota and a schedule. Secrets are named,
 * never written: `client_secret_env` is the NAME of the variable holding the client secret.
 */
const EnvVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable, not its value')
const Cron = z.string().refine((value) => cron.validate(value), 'must be a cron expression (5 fields, or 6 with seconds)')

export const FranceTravailApiSourceSchema = z
  .object({
    type: z.literal('francetravail-api'),
    /** OAuth2 token endpoint (realm /partenaire), e.g. https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire */
    token_url: z.string().url(),
    client_id: z.string().min(1),
    client_secret_env: EnvVarName,
    scopes: z.array(z.string().regex(/^[A-Za-z0-9_.:/-]+$/)).min(1),
    /** Base URL of the partner APIs (paths /partenaire/rechercher-usager/v2/..., /partenaire/orientationusager/v1/...). */
    base_url: z.string().url(),
    /** Requests per second France Travail grants this client: never exceeded, across instances. */
    quota_per_second: z.number().positive().max(10_000),
    /** Each HTTP call is aborted after this long (then retried like a 5xx). */
    timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
    /** Attempts per call (first included) on 429, 5xx, timeouts and network faults. */
    max_attempts: z.number().int().min(1).max(20).default(5),
    /** Base of the jittered exponential backoff. */
    backoff_ms: z.number().int().min(1).max(60_000).default(500),
    /** Calls in flight at once (the quota still bounds the rate). */
    concurrency: z.number().int().min(1).max(256).default(16),
    /** Persons claimed per batch of a lookup run (one commit per batch). */
    batch_size: z.number().int().min(1).max(10_000).default(500),
    /** The `pa-identifiant-agent` header WebRSA sends (a batch identity, not a person). */
    agent_id: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('PASSERELLE-BATCH'),
  })
  .strict()

export const FranceTravailApiFlowSchema = z
  .object({
    title: z.string().min(1),
    producer: z.string().min(1),
    description: z.string().optional(),
    source: FranceTravailApiSourceSchema,
    /** When the API job runs (lookups, orientation reads, outbox delivery), node-cron, Europe/Paris. */
    schedule: Cron,
    /** A person not found (or found several times) is looked up again after this many days. */
    lookup_retry_days: z.number().int().min(1).max(365).default(30),
    /** A linked person's France Travail orientation is read again after this many days. */
    orientation_read_days: z.number().int().min(1).max(365).default(7),
    /** Retention policy of the orientations read (flows/retention/<id>.yaml). */
    retention: z.string().min(1),
    /** Days an orientation read is kept once it is no longer refreshed (the retention policy's active phase). */
    orientation_keep_days: z.number().int().min(1).max(3650).default(150),
    /**
     * What leaves towards France Travail, and under which purpose (mappings/<id>.yaml: its legal basis is the
     * register's, and it must declare personne.nir and personne.dateNaissance, which rechercher-usager sends).
     */
    outbound: z
      .object({
        purpose: z.string().min(1),
        /** The orientation write's fields allowed to leave; anything else is dropped before the call. */
        fields: z.array(z.enum(['parcours', 'origine', 'organisme'])).min(1),
        /** The département's decision as a France Travail parcours, by the referent structure's type. */
        parcours_by_organisation_type: z.record(z.string(), z.enum(['PED', 'PSP', 'PSO'])),
        /** `origine` when France Travail gave none for the person (WebRSA's default). */
        default_origine: z.string().regex(/^[A-Z0-9_]{1,60}$/).default('INSCRIPTION_AUTO_CAF'),
      })
      .strict(),
    /** Delivery attempts of one outbox message before it is dead-lettered. */
    outbox_max_attempts: z.number().int().min(1).max(100).default(8),
  })
  .strict()

export type FranceTravailApiFlow = z.infer<typeof FranceTravailApiFlowSchema> & { id: string }
export type FranceTravailApiSource = FranceTravailApiFlow['source']


/** Loads and validates every API flow of `dir` (the file flows are loaded by src/flows/load-flows.ts). */
export function loadApiFlows(dir: string): Map<string, FranceTravailApiFlow> {
  const problems: string[] = []
  const flows = new Map<string, FranceTravailApiFlow>()
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort()
  for (const file of files) {
    let raw: unknown
    try {
      raw = parseYaml(readFileSync(path.join(dir, file), 'utf8'))
    } catch {
      continue // reported by loadFlows
    }
    if (!isApiFlowDocument(raw)) continue
    const id = file.replace(/\.ya?ml$/, '')
    const where = path.join(path.basename(dir), file)
    const parsed = FranceTravailApiFlowSchema.safeParse(raw)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
      continue
    }
    flows.set(id, { ...parsed.data, id })
  }
  if (problems.length > 0) throw new DeclarationError(problems)
  return flows
}
