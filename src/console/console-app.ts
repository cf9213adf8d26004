import { randomUUID, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { bodyLimit } from 'hono/body-limit'
import type { AuditEventInput } from '../audit/chain.ts'
import { purposeAllows } from '../access/purpose-allows.ts'
import type { Principal } from '../auth/principal.ts'
import type { CredentialChanges } from '../auth/credential-changes.ts'
import { findUserByEmail, normaliseEmail } from '../auth/users.ts'
import type { Keys } from '../crypto/keys.ts'
import type { Db } from '../db/db.ts'
import { IN_PROCESS_CALLER, type InProcessCaller } from '../http/app.ts'
import type { Logger } from '../log/logger.ts'
import type { Purpose } from '../purposes/purpose.ts'
import { alert, h, layout, navigationFor, type PageAgent, type Safe } from './html.ts'
import type { OidcClient } from './oidc-client.ts'
import { deleteExpired, deleteSession, findSession, insertSession, insertSignIn, setSessionPurpose, sha256, takeSignIn } from './session-queries.ts'
import { registerAdminPages } from './pages/admin-pages.ts'
import { registerDpoPages } from './pages/dpo-pages.ts'
import { registerPortfolioPages } from './pages/portfolio-pages.ts'

/**
 * The web console for agents (issue 18): server-rendered French pages styled with the State's design system (DSFR,
 * served from node_modules), behind an OpenID Connect sign-in (ProConnect in production).
 *
 * It holds no authorisation of its own. A signed-in session gives a Principal — the declared user (found by the
 * e-mail the provider vouches for, never created by a sign-in), their organisation, and the first purpose whose
 * recipients name their role and organisation type — and every page that shows data calls the partner API in process
 * as that principal (`IN_PROCESS_CALLER`): the same routes, role checks, row filter, projection through the purpose,
 * and audit trail as a partner's software. What the console does outside the API (sign-in and sign-out, the register,
 * holds, tokens) it audits itself as `console.*`.
 *
 * Mount: `app.route('/console', createConsoleApp({ ..., api: app }))`.
 */
export interface ConsoleDeps {
  db: Db
  keys: Keys
  purposes: ReadonlyMap<string, Purpose>
  audit: { append(event: AuditEventInput): Promise<unknown> }
  log: Logger
  now?: () => Date
  /** The partner API app, called in process. */
  api: { fetch(request: Request, env?: unknown): Response | Promise<Response> }
  /** The OpenID Connect client, or a getter (the demo's local provider starts after the server); none: nobody signs in. */
  oidc: OidcClient | undefined | (() => OidcClient | undefined)
  sessionMinutes: number
  /**
   * How long a live session, with its user and organisation, is trusted without reading it again (default 0: every
   * page reads it; the server passes PASSERELLE_API_TOKEN_CACHE_SECONDS, as for API tokens). Expiry is checked at
   * every page; a sign-out, a purpose switch, or a change of users or tokens made in this process takes effect at
   * once; a deactivation or a session deletion made by another process (the CLI), within this delay.
   */
  sessionCacheMs?: number
  /** Shared with the API (its token cache): see CredentialChanges. */
  credentialChanges?: CredentialChanges
  /** What the register page is built from: the loaded declarations and the running configuration. */
  register?: {
    declarations: Parameters<typeof import('../register/register-from-declarations.ts').registerFromDeclarations>[0]
    config: Parameters<typeof import('../register/register-from-declarations.ts').registerFromDeclarations>[1]
  }
}

export interface ConsoleAgent {
  principal: Principal
  csrfToken: string
  sessionId: number
  idToken: string | null
  acr: string | null
}

export type ConsoleEnv = {
  Variables: {
    requestId: string
    agent: ConsoleAgent | undefined
  }
}
export type ConsoleContext = Context<ConsoleEnv>

/** What page modules get: the deps, and helpers to call the API and render pages. */
export interface ConsoleKit {
  deps: ConsoleDeps
  now(): Date
  /** The signed-in agent, or a redirect to the home page. */
  agentOf(c: ConsoleContext): ConsoleAgent
  /**
   * Calls the partner API in process as the agent; JSON answers are parsed. `byValue`: the route's JSON answer is
   * handed over as the value it built, unserialised (InProcessCaller.answer), for routes answering JSON values only.
   */
  api(c: ConsoleContext, method: string, pathAndQuery: string, body?: unknown, options?: { byValue?: boolean }): Promise<{ status: number; json: any; response: Response }>
  page(c: ConsoleContext, title: string, body: Safe, options?: { current?: string; status?: number }): Response
  /** A page saying what went wrong, in French, with the status. */
  problem(c: ConsoleContext, status: number, title: string, text: string): Response
  /** Writes a `console.*` audit event (pages outside the API). */
  audit(c: ConsoleContext, event: { action: string; subject?: string | null; outcome?: AuditEventInput['outcome']; details?: Record<string, unknown> }): Promise<void>
  /** The form fields of a POST after the CSRF check (done by the middleware). */
  form(c: ConsoleContext): Promise<Record<string, string>>
}

const SESSION_COOKIE = 'passerelle_console'
const SIGN_IN_COOKIE = 'passerelle_console_connexion'
const SIGN_IN_MINUTES = 10

const require = createRequire(import.meta.url)
const DSFR_DIST = path.join(path.dirname(require.resolve('@gouvfr/dsfr/package.json')), 'dist')
const ASSET_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
}

const constantEquals = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

class ConsoleRedirect extends Error {
  constructor(readonly location: string) {
    super('redirect')
  }
}

/** The purposes whose recipients name the role and the organisation type, in declaration order. */
export function consolePurposes(purposes: ReadonlyMap<string, Purpose>, role: string, organisationType: string): Purpose[] {
  return [...purposes.values()].filter((p) => purposeAllows(p, role, organisationType))
}

/** The purpose a sign-in starts under: the first allowed (as demo tokens choose theirs); the agent may switch. */
export function consolePurpose(purposes: ReadonlyMap<string, Purpose>, role: string, organisationType: string): Purpose | undefined {
  return consolePurposes(purposes, role, organisationType)[0]
}

/** The largest console form body accepted, in bytes (64 KiB: the forms hold a few fields). */
export const CONSOLE_FORM_MAX_BYTES = 64 * 1024

export function createConsoleApp(deps: ConsoleDeps): Hono<ConsoleEnv> {
  const now = deps.now ?? (() => new Date())
  const oidc = () => (typeof deps.oidc === 'function' ? deps.oidc() : deps.oidc)
  const app = new Hono<ConsoleEnv>()
  const secure = () => oidc()?.settings.redirectUrl.startsWith('https:') ?? false

  const clientAddress = (c: ConsoleContext): string | null => {
    const address = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
    return typeof address === 'string' ? address : null
  }

  const kit: ConsoleKit = {
    deps,
    now,
    agentOf(c) {
      const agent = c.get('agent')
      if (!agent) throw new ConsoleRedirect('/console')
      return agent
    },
    async api(c, method, pathAndQuery, body, options) {
      const agent = kit.agentOf(c)
      const answer: { value?: unknown } = {}
      const caller: InProcessCaller = { principal: agent.principal, clientAddress: clientAddress(c), ...(options?.byValue ? { answer } : {}) }
      const request = new Request(`http://in-process${pathAndQuery}`, {
        method,
        headers: { 'x-request-id': c.get('requestId'), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      })
      const response = await deps.api.fetch(request, { [IN_PROCESS_CALLER]: caller })
      if ('value' in answer) return { status: response.status, json: answer.value, response }
      const type = response.headers.get('content-type') ?? ''
      const json = type.includes('application/json') && !response.headers.get('content-disposition') ? await response.json() : undefined
      return { status: response.status, json, response }
    },
    page(c, title, body, options = {}) {
      const agent = c.get('agent')
      const pageAgent: PageAgent | undefined = agent
        ? { displayName: agent.principal.user.displayName, role: agent.principal.user.role, organisation: agent.principal.organisation.name, csrfToken: agent.csrfToken }
        : undefined
      return c.html(layout({ title, agent: pageAgent, current: options.current, body }), (options.status ?? 200) as 200)
    },
    problem(c, status, title, text) {
      return kit.page(c, title, h`<h1>${title}</h1>${alert(status >= 500 ? 'error' : 'warning', title, text)}<p><a class="fr-link" href="/console">Retour à l’accueil</a></p>`, { status })
    },
    async audit(c, event) {
      const agent = c.get('agent')
      await deps.audit.append({
        occurredAt: now(),
        actor: agent?.principal.user.email ?? null,
        organisation: agent?.principal.organisation.siret ?? null,
        purpose: agent?.principal.purpose.id ?? null,
        action: event.action,
        subject: event.subject ?? null,
        outcome: event.outcome ?? 'granted',
        requestId: c.get('requestId'),
        clientAddress: clientAddress(c),
        details: { channel: 'console', ...(agent ? { consoleSessionId: agent.sessionId } : {}), ...event.details },
      })
    },
    async form(c) {
      const parsed = await c.req.parseBody()
      const out: Record<string, string> = {}
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v
      return out
    },
  }

  // Headers of every console answer: a CSP allowing only this origin (and the provider as a form target, for the
  // sign-out that leaves for it), no caching of pages with personal data.
  app.use('*', async (c, next) => {
    c.set('requestId', randomUUID())
    await next()
    const issuer = oidc()?.settings.issuer
    const formTargets = ["'self'", ...(issuer ? [new URL(issuer).origin] : [])].join(' ')
    c.header(
      'Content-Security-Policy',
      `default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; font-src 'self'; connect-src 'self'; form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'`,
    )
    if (!c.req.path.startsWith('/console/dsfr/')) c.header('Cache-Control', 'no-store')
  })

  // The design system's files, from the installed package: nothing from a CDN.
  app.get('/dsfr/*', async (c) => {
    const relative = decodeURIComponent(c.req.path.slice('/console/dsfr/'.length))
    const file = path.resolve(DSFR_DIST, relative)
    const type = ASSET_TYPES[path.extname(file)]
    if (!file.startsWith(DSFR_DIST + path.sep) || !type) return c.text('introuvable', 404)
    try {
      const body = await readFile(file)
      c.header('Content-Type', type)
      c.header('Cache-Control', 'public, max-age=86400')
      return c.body(body)
    } catch {
      return c.text('introuvable', 404)
    }
  })

  // Sessions found live, by the SHA-256 of their secret (sessionCacheMs). Unknown secrets are not remembered: each
  // costs a read, as an unknown API token does.
  const sessionCacheMs = deps.sessionCacheMs ?? 0
  const sessions = new Map<string, { session: NonNullable<Awaited<ReturnType<typeof findSession>>>; readAt: number }>()
  // Bumped at each forgetting: a read that began before a sign-out or a change is not kept (it may predate it).
  let forgotten = 0
  deps.credentialChanges?.subscribe(() => {
    forgotten += 1
    sessions.clear()
  })
  const forgetSession = (id: number) => {
    forgotten += 1
    for (const [key, cached] of sessions) if (cached.session.id === id) sessions.delete(key)
  }
  const liveSession = async (secret: string, t: Date) => {
    const key = sha256(secret)
    const cached = sessionCacheMs > 0 ? sessions.get(key) : undefined
    const at = t.getTime()
    if (cached && at - cached.readAt < sessionCacheMs && at >= cached.readAt) return cached.session.expiresAt.getTime() > at ? cached.session : undefined
    const before = forgotten
    const session = await findSession(deps.db, secret, t)
    if (sessionCacheMs > 0 && forgotten === before) {
      if (session) {
        if (sessions.size >= 10_000) sessions.clear()
        sessions.set(key, { session, readAt: at })
      } else sessions.delete(key)
    }
    return session
  }

  // The session: the cookie's secret → a live session → an active declared user whose purpose still allows them.
  const loadSession: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    c.set('agent', undefined)
    const secret = getCookie(c, SESSION_COOKIE)
    if (secret && secret.length <= 100) {
      const t = now()
      const session = await liveSession(secret, t)
      const user = session?.user
      const purpose = session ? deps.purposes.get(session.purpose) : undefined
      if (session && user && user.active && purpose && user.organisation.id === session.organisationId && purposeAllows(purpose, user.role, user.organisation.type)) {
        c.set('agent', {
          principal: {
            user: { id: user.id, publicId: user.publicId, email: user.email, displayName: user.displayName, role: user.role },
            organisation: user.organisation,
            purpose,
            credential: { kind: 'console-session', id: session.id, expiresAt: session.expiresAt },
          },
          csrfToken: session.csrfToken,
          sessionId: session.id,
          idToken: session.idToken,
          acr: session.acr,
        })
      }
    }
    await next()
  }
  app.use('*', loadSession)

  // A console form is a few fields (the longest, a 1,000-character reason): a larger body is refused unread, before
  // anything parses it, so that nobody (signed in or not) can make the process hold a body of any size.
  const formLimit = bodyLimit({
    maxSize: CONSOLE_FORM_MAX_BYTES,
    onError: (c) => kit.problem(c as never, 413, 'Formulaire trop volumineux', 'Ce formulaire dépasse la taille admise par la console.'),
  })
  app.use('*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : formLimit(c, next)))

  // Every form carries the session's CSRF token; a POST without it (or without a session) changes nothing. Without
  // a session the body is not even read.
  app.use('*', async (c, next) => {
    if (c.req.method !== 'POST') return next()
    const agent = c.get('agent')
    const form = agent ? await c.req.parseBody() : {}
    const token = typeof form._csrf === 'string' ? form._csrf : ''
    if (!agent || !constantEquals(token, agent.csrfToken)) {
      await kit.audit(c, { action: 'console.csrf', outcome: 'denied', details: { reason: agent ? 'csrf_mismatch' : 'no_session', route: c.req.path } })
      return kit.problem(c, 403, 'Formulaire refusé', 'Ce formulaire a expiré ou ne vient pas de la console. Rechargez la page et recommencez.')
    }
    await next()
  })

  app.get('/', (c) => {
    const agent = c.get('agent')
    if (agent) {
      const first = navigationFor(agent.principal.user.role)[0]
      if (first) return c.redirect(first.href, 303)
      return kit.page(c, 'Accueil', h`<h1>Bienvenue</h1><p>Votre rôle n’a pas de page dans la console. Vos extraits statistiques sont remis par le Département.</p>`)
    }
    const configured = oidc() !== undefined
    const error = c.req.query('erreur')
    const errors: Record<string, string> = {
      inconnu: 'Aucun agent déclaré dans Passerelle ne correspond à ce compte. Demandez à l’administrateur de vous déclarer.',
      organisation: 'Le SIRET de votre compte ne correspond pas à l’organisation où vous êtes déclaré.',
      finalite: 'Aucune finalité déclarée n’ouvre la console à votre rôle dans votre organisation.',
      echec: 'La connexion n’a pas abouti. Recommencez.',
      expiree: 'La connexion a expiré. Recommencez.',
    }
    return kit.page(
      c,
      'Connexion',
      h`<h1>Console des agents</h1>
<p class="fr-text--lead">Portefeuille des référents, demandes de droits du délégué à la protection des données, administration des accès.</p>
${error && errors[error] ? alert('error', 'Connexion refusée', errors[error]) : ''}
${
  configured
    ? h`<p>La connexion passe par ProConnect, l’identité des agents publics. Seuls les agents déclarés dans Passerelle par l’administrateur peuvent entrer.</p>
<p><a class="fr-btn fr-btn--lg" href="/console/connexion">Se connecter</a></p>`
    : alert('warning', 'Connexion indisponible', 'Aucun fournisseur d’identité n’est configuré (PASSERELLE_OIDC_ISSUER).')
}`,
    )
  })

  // Sign-in: state, nonce and PKCE verifier kept server-side for ten minutes; the browser holds the state only.
  app.get('/connexion', async (c) => {
    const client = oidc()
    if (!client) return kit.problem(c, 503, 'Connexion indisponible', 'Aucun fournisseur d’identité n’est configuré.')
    let started
    try {
      started = await client.startSignIn()
    } catch (error) {
      deps.log.error({ err: { name: (error as Error).name, code: (error as { code?: string }).code } }, 'console sign-in: provider unreachable')
      return kit.problem(c, 503, 'Connexion indisponible', 'Le fournisseur d’identité ne répond pas. Réessayez dans quelques minutes.')
    }
    const t = now()
    await deleteExpired(deps.db, t)
    await insertSignIn(deps.db, { state: started.state, codeVerifier: started.codeVerifier, nonce: started.nonce, expiresAt: new Date(t.getTime() + SIGN_IN_MINUTES * 60_000) })
    setCookie(c, SIGN_IN_COOKIE, started.state, { path: '/console', httpOnly: true, sameSite: 'Lax', secure: secure(), maxAge: SIGN_IN_MINUTES * 60 })
    return c.redirect(started.url.toString(), 302)
  })

  app.get('/auth/callback', async (c) => {
    const client = oidc()
    if (!client) return kit.problem(c, 503, 'Connexion indisponible', 'Aucun fournisseur d’identité n’est configuré.')
    const state = getCookie(c, SIGN_IN_COOKIE)
    deleteCookie(c, SIGN_IN_COOKIE, { path: '/console' })
    const refuse = async (reason: string, code: string, details: Record<string, unknown> = {}) => {
      await kit.audit(c, { action: 'console.sign_in', outcome: 'denied', details: { reason, ...details } })
      return c.redirect(`/console?erreur=${code}`, 303)
    }
    if (!state || c.req.query('state') !== state) return refuse('state_mismatch', 'echec')
    const t = now()
    const pending = await takeSignIn(deps.db, state, t)
    if (!pending) return refuse('sign_in_expired', 'expiree')
    let identity
    try {
      // The URL the provider redirected to: the configured redirect URL with this request's query.
      const callbackUrl = new URL(client.settings.redirectUrl)
      callbackUrl.search = new URL(c.req.url).search
      identity = await client.finishSignIn(callbackUrl, { state, ...pending })
    } catch (error) {
      deps.log.warn({ err: { name: (error as Error).name, code: (error as { code?: string }).code } }, 'console sign-in: provider answer refused')
      return refuse('provider_answer_refused', 'echec')
    }
    const user = identity.email ? await findUserByEmail(deps.db, normaliseEmail(identity.email)) : undefined
    if (!user || !user.active) return refuse(user ? 'inactive_user' : 'unknown_user', 'inconnu', { acr: identity.acr ?? null })
    if (identity.siret && identity.siret !== user.organisation.siret) return refuse('organisation_mismatch', 'organisation', { user: user.publicId })
    const purpose = consolePurpose(deps.purposes, user.role, user.organisation.type)
    if (!purpose) return refuse('purpose_not_allowed', 'finalite', { user: user.publicId })
    const { session, secret } = await insertSession(deps.db, {
      userId: user.id,
      organisationId: user.organisation.id,
      purpose: purpose.id,
      oidcSubject: identity.subject,
      acr: identity.acr ?? null,
      amr: identity.amr.length > 0 ? identity.amr.join(' ') : null,
      idToken: identity.idToken ?? null,
      expiresAt: new Date(t.getTime() + deps.sessionMinutes * 60_000),
    })
    setCookie(c, SESSION_COOKIE, secret, { path: '/console', httpOnly: true, sameSite: 'Lax', secure: secure(), maxAge: deps.sessionMinutes * 60 })
    await deps.audit.append({
      occurredAt: t,
      actor: user.email,
      organisation: user.organisation.siret,
      purpose: purpose.id,
      action: 'console.sign_in',
      subject: null,
      outcome: 'granted',
      requestId: c.get('requestId'),
      clientAddress: clientAddress(c),
      details: { channel: 'console', consoleSessionId: session.id, acr: identity.acr ?? null, amr: identity.amr, siretChecked: identity.siret !== undefined },
    })
    return c.redirect('/console', 303)
  })

  // Switching purpose: only to one whose recipients name the agent's role and organisation type (as a token's).
  app.post('/finalite', async (c) => {
    const agent = kit.agentOf(c)
    const wanted = (await kit.form(c)).purpose ?? ''
    const { user, organisation } = agent.principal
    const purpose = consolePurposes(deps.purposes, user.role, organisation.type).find((p) => p.id === wanted)
    if (!purpose) {
      await kit.audit(c, { action: 'console.purpose.switch', outcome: 'denied', details: { reason: 'purpose_not_allowed' } })
      return kit.problem(c, 403, 'Finalité refusée', 'Cette finalité ne vous est pas ouverte.')
    }
    await setSessionPurpose(deps.db, agent.sessionId, purpose.id)
    forgetSession(agent.sessionId)
    await kit.audit(c, { action: 'console.purpose.switch', outcome: 'done', details: { from: agent.principal.purpose.id, to: purpose.id } })
    return c.redirect('/console', 303)
  })

  app.post('/deconnexion', async (c) => {
    const agent = kit.agentOf(c)
    await deleteSession(deps.db, agent.sessionId)
    forgetSession(agent.sessionId)
    await kit.audit(c, { action: 'console.sign_out', outcome: 'done' })
    deleteCookie(c, SESSION_COOKIE, { path: '/console', secure: secure() })
    const client = oidc()
    const home = client?.settings.postLogoutUrl ?? new URL('/console', client?.settings.redirectUrl ?? 'http://localhost').toString()
    if (client) {
      try {
        const url = await client.endSessionUrl(agent.idToken, home)
        if (url) return c.redirect(url.toString(), 303)
      } catch (error) {
        deps.log.warn({ err: { name: (error as Error).name } }, 'console sign-out: provider end-session unavailable')
      }
    }
    return c.redirect('/console', 303)
  })

  registerPortfolioPages(app, kit)
  registerDpoPages(app, kit)
  registerAdminPages(app, kit)

  // Mounted under the API app, whose notFound answers JSON: the console answers its own unknown pages.
  app.all('*', (c) => kit.problem(c, 404, 'Page introuvable', 'Cette page n’existe pas, ou vous n’y avez pas accès.'))
  app.onError((error, c) => {
    if (error instanceof ConsoleRedirect) return c.redirect(error.location, 303)
    deps.log.error({ err: { name: error.name }, requestId: c.get('requestId') }, 'console page failed')
    return kit.problem(c, 500, 'Erreur', `La page n’a pas pu être affichée. Référence à donner à l’exploitant : ${c.get('requestId')}.`)
  })
  return app
}
