/**
 * A France Travail partner-API simulator on loopback, for the integration tests, the benchmark and `npm start`.
 * It implements the contract as read in the public clients, and the faults those clients handle.
 *
 * VERIFIED in the sources (read 2026-12-06):
 * - Token: OAuth2 client credentials, a form POST of grant_type=client_credentials, client_id, client_secret, scope;
 *   the answer carries access_token and expires_in (WebRSA FranceTravailEnvoiOrientationShell / RecuperationOrientation
 *   getTokenFT, atolcd/webrsa@010016c8).
 * - rechercher-usager v2: POST /partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir with JSON
 *   { dateNaissance, nir } (rdv-insertion app/clients/france_travail_client.rb; WebRSA getTokenUsager); a 200 carries
 *   `jetonUsager`; a non-200 carries `codeRetour` and `message` (WebRSA prints both).
 * - The per-person token goes in the `ft-jeton-usager` header, with `Authorization: Bearer`, and the agent headers
 *   pa-identifiant-agent / pa-nom-agent / pa-prenom-agent (WebRSA).
 * - lectureOrientation: GET with the per-person token; 200 with a JSON array whose first item is the orientation
 *   (parcours, organisme, statut, etat, origine, date_entree_parcours or date_creation, date_modification,
 *   structure.libelle_structure, criteres_orientation.*), 204 when France Travail has none (WebRSA).
 * - Orientation write: POST { origine, parcours, organisme: 'CD' } with the per-person token, 201 on success; parcours
 *   PED / PSP / PSO (WebRSA maps its orientation types EMPLOI → PED, SOCIAL → PSP, SOCIOPRO → PSO).
 * - ID_NON_RECONNU: an error body { codeHttp: 400, codeErreur: 'ID_NON_RECONNU', message } (rdv-insertion, on the
 *   rendez-vous-partenaire API).
 *
 * INFERRED (not found in the sources read; a département checks them against France Travail's documentation):
 * - The token URL's realm `/partenaire` (francetravail.io convention), checked here as a query parameter.
 * - The orientationusager paths (WebRSA reads them from its configuration): /partenaire/orientationusager/v1/lectureOrientation
 *   and /partenaire/orientationusager/v1/orientation.
 * - S001 as the "found" codeRetour and S003 "several persons match" answered with HTTP 400 { codeRetour: 'S003' };
 *   a person not recognised answered 400 { codeErreur: 'ID_NON_RECONNU' } on rechercher-usager too.
 * - An `identifiant` (France Travail number) in the rechercher-usager answer, which the gateway keeps as a keyed index.
 * - An `Idempotency-Key` header honoured on the orientation write (a replay answers 201 without a second record).
 *   Whether France Travail deduplicates is unknown: the gateway also never sends a delivered message again.
 * - Quota enforcement as "at most N requests in any sliding second", answered 429 with Retry-After (seconds).
 * - The jeton's lifetime (30 minutes here) and a 401 once the access token expired.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SimulatedPerson {
  nir: string
  dateNaissance: string
  /** France Travail number returned on a match. */
  identifiant: string
  /** When set, the NIR + birth date match several persons (S003). */
  several?: boolean
  orientation?: Record<string, unknown>
}

export interface SimulatorFaults {
  /** Access tokens expire after this many seconds (401 afterwards). */
  tokenTtlSeconds: number
  /** The next N API requests get 429 with Retry-After: retryAfterSeconds. */
  throttleNext: number
  retryAfterSeconds: number
  /** The next N API requests get 503. */
  failNext: number
  /** The next N API requests answer after slowMs (a client with a shorter timeout gives up). */
  slowNext: number
  slowMs: number
  /** Every API request waits this long (a realistic latency). */
  latencyMs: number
  /**
   * France Travail revokes every access token issued so far once this many more API requests have arrived (0: off):
   * the request that brings it to zero gets 401, as do later ones with an old token, whatever their announced expiry.
   */
  revokeTokensAfterRequests: number
}

export interface SimulatorStats {
  calls: Record<string, number>
  tokensIssued: number
  /** Highest number of API requests seen in any sliding second. */
  maxInOneSecond: number
  /** API requests that arrived beyond the quota (answered 429). */
  beyondQuota: number
  /** Orientation writes recorded (one per idempotency key). */
  orientationsRecorded: number
  /** Orientation writes replayed with a known idempotency key (not recorded twice). */
  orientationReplays: number
  /** Most rechercher-usager calls received for one NIR + birth date. */
  maxLookupsForOnePerson: number
}

export interface FranceTravailSimulator {
  url: string
  tokenUrl: string
  clientId: string
  clientSecret: string
  faults: SimulatorFaults
  stats(): SimulatorStats
  /** Orientations received per France Travail identifier, in arrival order. */
  received(identifiant: string): Record<string, unknown>[]
  /** Every idempotency key recorded, in arrival order. */
  receivedKeys(): string[]
  addPersons(persons: readonly SimulatedPerson[]): void
  /** Every access token issued so far expires now (401 on its next use). */
  expireAllTokens(): void
  close(): Promise<void>
}

export interface SimulatorOptions {
  port?: number
  quotaPerSecond?: number
  clientId?: string
  clientSecret?: string
  persons?: readonly SimulatedPerson[]
  faults?: Partial<SimulatorFaults>
}

const JETON_TTL_MS = 30 * 60_000

export async function startFranceTravailSimulator(options: SimulatorOptions = {}): Promise<FranceTravailSimulator> {
  const clientId = options.clientId ?? 'passerelle-demo'
  const clientSecret = options.clientSecret ?? randomBytes(18).toString('base64url')
  const quota = options.quotaPerSecond ?? 200
  const faults: SimulatorFaults = {
    tokenTtlSeconds: 1499,
    throttleNext: 0,
    retryAfterSeconds: 1,
    failNext: 0,
    slowNext: 0,
    slowMs: 0,
    latencyMs: 0,
    revokeTokensAfterRequests: 0,
    ...options.faults,
  }
  const byIdentity = new Map<string, SimulatedPerson[]>()
  const byIdentifiant = new Map<string, SimulatedPerson>()
  const addPersons = (persons: readonly SimulatedPerson[]) => {
    for (const p of persons) {
      const key = `${p.nir}|${p.dateNaissance}`
      byIdentity.set(key, [...(byIdentity.get(key) ?? []), p])
      byIdentifiant.set(p.identifiant, p)
    }
  }
  addPersons(options.persons ?? [])
  const tokens = new Map<string, number>()
  const jetons = new Map<string, { identifiant: string; expires: number }>()
  const received = new Map<string, Record<string, unknown>[]>()
  const keys: string[] = []
  const knownKeys = new Set<string>()
  const stats: SimulatorStats = { calls: {}, tokensIssued: 0, maxInOneSecond: 0, beyondQuota: 0, orientationsRecorded: 0, orientationReplays: 0, maxLookupsForOnePerson: 0 }
  const lookupsPerPerson = new Map<string, number>()
  // Arrival times of the API requests of the last second (a ring would do; a queue is enough at these rates).
  const window: number[] = []

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    if (body === undefined) {
      res.writeHead(status, headers)
      res.end()
      return
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }
  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Arrival time, taken before anything else (reading the body would shift it).
    const arrived = performance.now()
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    stats.calls[path] = (stats.calls[path] ?? 0) + 1
    // Quota: at most `quota` API requests in any sliding second, counted as they arrive (before any await, so the
    // window holds exactly the arrivals of the second before this one, in order).
    let overQuota = false
    if (path.startsWith('/partenaire/')) {
      while (window.length > 0 && window[0]! <= arrived - 1000) window.shift()
      window.push(arrived)
      stats.maxInOneSecond = Math.max(stats.maxInOneSecond, window.length)
      if (window.length > quota) {
        stats.beyondQuota++
        overQuota = true
      }
    }
    const raw = await readBody(req)
    if (path === '/connexion/oauth2/access_token') {
      if (req.method !== 'POST' || url.searchParams.get('realm') !== '/partenaire') return send(res, 400, { error: 'invalid_request' })
      const form = new URLSearchParams(raw)
      if (form.get('grant_type') !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type' })
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) return send(res, 401, { error: 'invalid_client' })
      const token = randomBytes(24).toString('base64url')
      tokens.set(token, Date.now() + faults.tokenTtlSeconds * 1000)
      stats.tokensIssued++
      return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: faults.tokenTtlSeconds, scope: form.get('scope') ?? '' })
    }
    if (!path.startsWith('/partenaire/')) return send(res, 404, { codeHttp: 404, message: 'ressource inconnue' })

    if (overQuota) return send(res, 429, { codeHttp: 429, message: 'quota dépassé' }, { 'retry-after': '1' })
    if (faults.revokeTokensAfterRequests > 0 && --faults.revokeTokensAfterRequests === 0) {
      for (const token of tokens.keys()) tokens.set(token, 0)
    }
    const expires = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''))
    if (expires === undefined || expires < Date.now()) return send(res, 401, { codeHttp: 401, message: 'jeton expiré ou invalide' })
    if (faults.throttleNext > 0) {
      faults.throttleNext--
      return send(res, 429, { codeHttp: 429, message: 'trop de requêtes' }, { 'retry-after': String(faults.retryAfterSeconds) })
    }
    if (faults.failNext > 0) {
      faults.failNext--
      return send(res, 503, { codeHttp: 503, message: 'service indisponible' })
    }
    if (faults.slowNext > 0) {
      faults.slowNext--
      await new Promise((r) => setTimeout(r, faults.slowMs))
    }
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs))
    if (req.headers['pa-identifiant-agent'] === undefined) return send(res, 400, { codeHttp: 400, message: 'en-tête pa-identifiant-agent manquant' })

    if (path === '/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir' && req.method === 'POST') {
      let body: { nir?: unknown; dateNaissance?: unknown }
      try {
        body = JSON.parse(raw) as typeof body
      } catch {
        return send(res, 400, { codeHttp: 400, message: 'corps illisible' })
      }
      if (typeof body.nir !== 'string' || !/^[0-9AB]{13}([0-9]{2})?$/.test(body.nir) || typeof body.dateNaissance !== 'string') {
        return send(res, 400, { codeHttp: 400, codeRetour: 'E001', message: 'paramètres invalides' })
      }
      const who = `${body.nir.slice(0, 13)}|${body.dateNaissance}`
      lookupsPerPerson.set(who, (lookupsPerPerson.get(who) ?? 0) + 1)
      stats.maxLookupsForOnePerson = Math.max(stats.maxLookupsForOnePerson, lookupsPerPerson.get(who)!)
      const matches = byIdentity.get(`${body.nir.slice(0, 13)}|${body.dateNaissance}`) ?? byIdentity.get(`${body.nir}|${body.dateNaissance}`) ?? []
      if (matches.length === 0) return send(res, 400, { codeHttp: 400, codeErreur: 'ID_NON_RECONNU', message: 'usager non reconnu' })
      if (matches.length > 1 || matches[0]!.several) return send(res, 400, { codeHttp: 400, codeRetour: 'S003', message: 'plusieurs usagers correspondent' })
      const jeton = randomBytes(24).toString('base64url')
      jetons.set(jeton, { identifiant: matches[0]!.identifiant, expires: Date.now() + JETON_TTL_MS })
      return send(res, 200, { codeRetour: 'S001', message: 'usager trouvé', jetonUsager: jeton, identifiant: matches[0]!.identifiant, topIdentiteCertifiee: 'O' })
    }
    const jeton = jetons.get(String(req.headers['ft-jeton-usager'] ?? ''))
    if (path.startsWith('/partenaire/orientationusager/v1/')) {
      if (!jeton || jeton.expires < Date.now()) return send(res, 400, { codeHttp: 400, codeErreur: 'ID_NON_RECONNU', message: 'jeton usager inconnu ou expiré' })
      const person = byIdentifiant.get(jeton.identifiant)!
      if (path === '/partenaire/orientationusager/v1/lectureOrientation' && req.method === 'GET') {
        const last = received.get(person.identifiant)?.at(-1)
        const orientation = last ? { ...person.orientation, ...last, date_modification: new Date().toISOString().slice(0, 10) } : person.orientation
        return orientation ? send(res, 200, [orientation]) : send(res, 204)
      }
      if (path === '/partenaire/orientationusager/v1/orientation' && req.method === 'POST') {
        let body: Record<string, unknown>
        try {
          body = JSON.parse(raw) as Record<string, unknown>
        } catch {
          return send(res, 400, { codeHttp: 400, message: 'corps illisible' })
        }
        if (!['PED', 'PSP', 'PSO'].includes(String(body.parcours)) || body.organisme !== 'CD' || typeof body.origine !== 'string') {
          return send(res, 400, { codeHttp: 400, codeRetour: 'E002', message: 'orientation invalide' })
        }
        const key = String(req.headers['idempotency-key'] ?? '')
        if (key && knownKeys.has(key)) {
          stats.orientationReplays++
          return send(res, 201, { codeRetour: 'S001', message: 'orientation déjà enregistrée' })
        }
        if (key) knownKeys.add(key)
        keys.push(key)
        received.set(person.identifiant, [...(received.get(person.identifiant) ?? []), { parcours: body.parcours, origine: body.origine, organisme: body.organisme }])
        stats.orientationsRecorded++
        return send(res, 201, { codeRetour: 'S001', message: 'orientation enregistrée' })
      }
    }
    return send(res, 404, { codeHttp: 404, message: 'ressource inconnue' })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { codeHttp: 500, message: 'erreur interne' })
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    tokenUrl: `${url}/connexion/oauth2/access_token?realm=%2Fpartenaire`,
    clientId,
    clientSecret,
    faults,
    stats: () => ({ ...stats, calls: { ...stats.calls } }),
    received: (identifiant) => [...(received.get(identifiant) ?? [])],
    receivedKeys: () => [...keys],
    addPersons,
    expireAllTokens: () => {
      for (const token of tokens.keys()) tokens.set(token, 0)
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
