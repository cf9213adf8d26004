import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FranceTravailApiSource } from './api-flow.ts'
import { apiMetrics } from './api-metrics.ts'
import type { AccessTokenCache } from './access-token.ts'
import type { QuotaLimiter } from './quota-limiter.ts'

/** The endpoints used, as metric labels and error names (paths: see ENDPOINT_PATHS). */
export type Endpoint = 'rechercher-usager' | 'lecture-orientation' | 'envoi-orientation'

/**
 * Paths below the base URL. rechercher-usager v2 par-datenaissance-et-nir is verified (rdv-insertion
 * app/clients/france_travail_client.rb); the orientationusager paths are inferred from exchanges.md §2 (WebRSA
 * reads them from its configuration, `Module.Francetravail.APIURL.LectureOrientation` / `OrientationUsager`).
 */
export const ENDPOINT_PATHS: Readonly<Record<Endpoint, string>> = {
  'rechercher-usager': '/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir',
  'lecture-orientation': '/partenaire/orientationusager/v1/lectureOrientation',
  'envoi-orientation': '/partenaire/orientationusager/v1/orientation',
}

export interface ApiAnswer {
  status: number
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: unknown
  /** One id per logical call (all its attempts), kept as provenance. */
  callId: string
  attempts: number
}

/** A call that could not get an answer (attempts exhausted, aborted). Names the endpoint and status, never a value. */
export class FranceTravailCallError extends Error {
  constructor(
    readonly endpoint: Endpoint,
    readonly reason: 'exhausted' | 'aborted',
    readonly lastOutcome: string,
    readonly callId: string,
  ) {
    super(`france travail ${endpoint}: ${reason === 'aborted' ? 'aborted' : 'no answer after retries'} (last: ${lastOutcome})`)
    this.name = 'FranceTravailCallError'
  }
}

export interface CallRequest {
  method: 'GET' | 'POST'
  body?: unknown
  /** Per-person token (`ft-jeton-usager`) from rechercher-usager. */
  userToken?: string
  /** Sent as `Idempotency-Key` (outbox deliveries): a redelivery is recognised by the receiver. */
  idempotencyKey?: string
}

export interface ClientDeps {
  flowId: string
  source: FranceTravailApiSource
  tokens: AccessTokenCache
  limiter: QuotaLimiter
  /** Jitter source (tests pass a fixed one). */
  random?: () => number
}

/**
 * Calls one endpoint: waits for a quota slot before every attempt, bounds each attempt in time, renews the access
 * token once on a 401, and retries 429 (honouring Retry-After, which also holds back every other call), 5xx,
 * timeouts and network faults with jittered exponential backoff, up to `max_attempts`. Any other status is the
 * answer. Request and response bodies are never logged nor put in errors.
 */
export async function callFranceTravail(deps: ClientDeps, endpoint: Endpoint, request: CallRequest, signal?: AbortSignal): Promise<ApiAnswer> {
  const { source, flowId } = deps
  const random = deps.random ?? Math.random
  const callId = randomUUID()
  const url = `${source.base_url.replace(/\/$/, '')}${ENDPOINT_PATHS[endpoint]}`
  let lastOutcome = 'none'
  let tokenRenewed = false
  for (let attempt = 1; attempt <= source.max_attempts; attempt++) {
    if (signal?.aborted) throw new FranceTravailCallError(endpoint, 'aborted', lastOutcome, callId)
    const release = await deps.limiter.acquire(signal).catch(() => {
      throw new FranceTravailCallError(endpoint, 'aborted', lastOutcome, callId)
    })
    let token: string
    try {
      token = await deps.tokens.get(signal)
    } catch {
      release() // nothing was sent to the API
      if (signal?.aborted) throw new FranceTravailCallError(endpoint, 'aborted', lastOutcome, callId)
      // The token endpoint failed (unreachable, timeout, refused): an attempt like any other, retried with backoff.
      lastOutcome = 'token'
      apiMetrics.calls.inc({ flow: flowId, endpoint: 'token', outcome: 'failed' })
      if (attempt === source.max_attempts) break
      await sleep(Math.min(30_000, source.backoff_ms * 2 ** (attempt - 1)) * (0.5 + random()), undefined, signal ? { signal } : undefined).catch(() => {})
      continue
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${token}`,
      'pa-identifiant-agent': source.agent_id,
      'pa-nom-agent': source.agent_id,
      'pa-prenom-agent': source.agent_id,
      'x-correlation-id': callId,
    }
    if (request.body !== undefined) headers['content-type'] = 'application/json'
    if (request.userToken) headers['ft-jeton-usager'] = request.userToken
    if (request.idempotencyKey) headers['idempotency-key'] = request.idempotencyKey
    const timeout = AbortSignal.timeout(source.timeout_ms)
    const started = performance.now()
    apiMetrics.inFlight.inc({ flow: flowId })
    let response: Response | undefined
    let outcome: string
    let retryAfterMs: number | undefined
    try {
      response = await fetch(url, {
        method: request.method,
        headers,
        // Never followed: a redirect would send the NIR, the user token and the access token to an address no
        // declaration names (possibly over plain http). A 3xx is an answer like any other non-success.
        redirect: 'manual',
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
      // An answer came back: the receiver has seen the request (the limiter dates its second from now at the latest).
      release()
      outcome = outcomeOf(response.status)
      if (response.status === 429) retryAfterMs = retryAfter(response.headers.get('retry-after'))
      if (!retryable(response.status) && response.status !== 401) {
        const text = await response.text()
        apiMetrics.calls.inc({ flow: flowId, endpoint, outcome })
        return { status: response.status, body: parseJson(text), callId, attempts: attempt }
      }
      await response.body?.cancel().catch(() => {})
    } catch (error) {
      if (signal?.aborted) {
        apiMetrics.calls.inc({ flow: flowId, endpoint, outcome: 'aborted' })
        throw new FranceTravailCallError(endpoint, 'aborted', lastOutcome, callId)
      }
      outcome = (error as Error).name === 'TimeoutError' ? 'timeout' : 'network'
    } finally {
      // Answered, failed or given up: the place is dated now at the latest (release is idempotent in effect).
      release()
      apiMetrics.inFlight.dec({ flow: flowId })
      apiMetrics.callSeconds.observe({ flow: flowId, endpoint }, (performance.now() - started) / 1000)
    }
    apiMetrics.calls.inc({ flow: flowId, endpoint, outcome })
    lastOutcome = outcome
    if (response?.status === 401) {
      // The access token expired or was revoked before our clock said so: renew it once, at once.
      deps.tokens.invalidate(token)
      if (!tokenRenewed) {
        tokenRenewed = true
        attempt--
        continue
      }
    }
    if (attempt === source.max_attempts) break
    if (retryAfterMs !== undefined) {
      deps.limiter.pause(retryAfterMs)
      continue
    }
    const backoff = Math.min(30_000, source.backoff_ms * 2 ** (attempt - 1)) * (0.5 + random())
    await sleep(backoff, undefined, signal ? { signal } : undefined).catch(() => {})
  }
  throw new FranceTravailCallError(endpoint, signal?.aborted ? 'aborted' : 'exhausted', lastOutcome, callId)
}

function retryable(status: number): boolean {
  return status === 429 || status >= 500
}

function outcomeOf(status: number): string {
  if (status === 401 || status === 429) return String(status)
  return `${Math.floor(status / 100)}xx`
}

/** Retry-After in seconds or as an HTTP date; absent or unreadable: one second. */
function retryAfter(value: string | null): number {
  if (!value) return 1000
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, Math.min(300, seconds)) * 1000
  const at = Date.parse(value)
  return Number.isFinite(at) ? Math.max(0, Math.min(300_000, at - Date.now())) : 1000
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
