import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import Provider from 'oidc-provider'
import type { OidcSettings } from '../config/config.ts'
import { escapeHtml } from '../html/escape-html.ts'

/**
 * A local OpenID Connect provider on loopback, for the demo and the tests: it speaks ProConnect's contract (scopes
 * `openid email given_name usual_name siret`, `acr` eidas1, `amr`, RP-initiated logout) with a sign-in page listing
 * demo agents. Anybody may type another e-mail: the console, not the provider, decides who is a declared user.
 * Never for production: no password, keys made at start.
 */
export interface LocalAgent {
  email: string
  givenName: string
  usualName: string
  siret: string
  /** Shown on the sign-in page. */
  label: string
}

export interface LocalOidcProvider {
  issuer: string
  /** The console's client settings for this provider. */
  settings(redirectUrl: string, postLogoutUrl: string): OidcSettings
  close(): Promise<void>
}


function page(title: string, body: string): string {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#161616}
button{font:inherit;padding:.5rem 1rem;margin:.25rem 0;background:#000091;color:#fff;border:0;cursor:pointer}
label{display:block;margin-top:1rem}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}
.note{background:#fff4d6;padding:.5rem 1rem}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > 16_384) throw new Error('form too large')
    chunks.push(chunk as Buffer)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

export async function startLocalOidcProvider(options: {
  agents: readonly LocalAgent[]
  redirectUris: readonly string[]
  postLogoutUris: readonly string[]
  host?: string
  port?: number
}): Promise<LocalOidcProvider> {
  const host = options.host ?? '127.0.0.1'
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const issuer = `http://${host}:${port}`
  const clientId = 'passerelle-console'
  const clientSecret = randomBytes(24).toString('base64url')
  const byEmail = new Map(options.agents.map((a) => [a.email.toLowerCase(), a]))
  const signingKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'local-1', use: 'sig', alg: 'RS256' }

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [...options.redirectUris],
        post_logout_redirect_uris: [...options.postLogoutUris],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [signingKey as never] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'email', 'given_name', 'usual_name', 'siret'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], given_name: ['given_name'], usual_name: ['usual_name'], siret: ['siret'] },
    acrValues: ['eidas1'],
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const agent = byEmail.get(id)
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: id,
            email_verified: true,
            ...(agent ? { given_name: agent.givenName, usual_name: agent.usualName, siret: agent.siret } : {}),
          }
        },
      }
    },
    // The console is the provider's only, first-party client: no consent screen.
    async loadExistingGrant(ctx) {
      const accountId = ctx.oidc.session?.accountId
      if (!accountId || !ctx.oidc.client) return undefined
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId })
      grant.addOIDCScope('openid email given_name usual_name siret')
      await grant.save()
      return grant
    },
    async renderError(ctx, out) {
      ctx.type = 'html'
      ctx.body = page('Erreur du fournisseur d’identité local', `<p>${escapeHtml(String(out.error))}</p>`)
    },
  })
  const callback = provider.callback()

  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res)
    const uid = details.uid
    if (req.method === 'POST') {
      const form = await readForm(req)
      const login = (form.get('login') ?? '').trim().toLowerCase()
      if (!login) {
        res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('identifiant manquant')
        return
      }
      await provider.interactionFinished(req, res, { login: { accountId: login, acr: 'eidas1', amr: ['pwd'] } }, { mergeWithLastSubmission: false })
      return
    }
    const buttons = options.agents
      .map((a) => `<form method="post" action="/interaction/${escapeHtml(uid)}"><input type="hidden" name="login" value="${escapeHtml(a.email)}"><button type="submit">${escapeHtml(a.label)}</button></form>`)
      .join('\n')
    const body = `<p class="note">Fournisseur d’identité <strong>local de démonstration</strong> (en production : ProConnect). Aucun mot de passe.</p>
<h2>Agents de démonstration</h2>${buttons}
<h2>Autre adresse</h2>
<form method="post" action="/interaction/${escapeHtml(uid)}"><label for="login">Adresse électronique</label><input id="login" name="login" type="email" autocomplete="email" required><button type="submit">Continuer</button></form>`
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page('Connexion', body))
  }

  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' })
        res.end('interaction expirée : recommencez la connexion')
      })
      return
    }
    void callback(req, res)
  })

  return {
    issuer,
    settings: (redirectUrl, postLogoutUrl) => ({
      issuer,
      clientId,
      clientSecret,
      redirectUrl,
      postLogoutUrl,
      scopes: 'openid email given_name usual_name siret',
      acrValues: 'eidas1',
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function logoutSource(ctx: { body: unknown; type?: string }, form: string): Promise<void> {
  ctx.body = page(
    'Déconnexion',
    `<p>Vous quittez le fournisseur d’identité local.</p>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Se déconnecter</button>`,
  )
}

async function postLogoutSuccessSource(ctx: { body: unknown }): Promise<void> {
  ctx.body = page('Déconnecté', '<p>Vous êtes déconnecté.</p>')
}
